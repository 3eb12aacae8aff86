// Gatehouse admin console, overview page: draws the charts with uPlot from the counts the server put
// in #overview-data (an escaped attribute: the CSP allows no inline script). Each chart's numbers are
// also on the page in words and in a table; without this script nothing is lost but the pictures.
// Width follows the container, so the charts fit a 390 px phone and redraw when the window resizes.
(function () {
  'use strict';
  var holder = document.getElementById('overview-data');
  if (!holder || typeof window.uPlot !== 'function') return;
  var data;
  try { data = JSON.parse(holder.getAttribute('data-overview') || '{}'); } catch (e) { return; }
  var uPlot = window.uPlot;
  var HEIGHT = 220;
  // Distinguishable for common colour-vision deficiencies (Okabe-Ito), plus dashes for the total.
  var PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];
  var xs = (data.buckets || []).map(function (ms) { return ms / 1000; });
  var plots = [];

  // ISO-style UTC labels, like the tables (uPlot's default is US-style local time).
  var span = xs.length > 1 ? xs[xs.length - 1] - xs[0] : 0;
  function timeLabel(ts) {
    var iso = new Date(ts * 1000).toISOString();
    return span <= 86400 ? iso.slice(11, 16) : iso.slice(5, 10) + (iso.slice(11, 16) === '00:00' ? '' : '\n' + iso.slice(11, 16));
  }

  function widthOf(el) {
    return Math.max(240, Math.floor(el.getBoundingClientRect().width));
  }

  document.querySelectorAll('[data-chart]').forEach(function (el) {
    var chart = (data.charts || {})[el.getAttribute('data-chart')];
    if (!chart || !chart.names || chart.names.length === 0) return;
    var series = [{}].concat(chart.names.map(function (name, i) {
      return { label: name, stroke: PALETTE[i % PALETTE.length], width: 2, points: { show: xs.length <= 40 } };
    }));
    var opts = {
      width: widthOf(el),
      height: HEIGHT,
      // Bucket starts are UTC, like the tables beside the charts.
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
      axes: [{ values: function (u, ticks) { return ticks.map(timeLabel); } }, { values: function (u, ticks) { return ticks.map(function (v) { return Number.isInteger(v) ? String(v) : ''; }); } }],
      series: series,
    };
    plots.push({ el: el, plot: new uPlot(opts, [xs].concat(chart.values), el) });
  });

  var pending;
  window.addEventListener('resize', function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      plots.forEach(function (p) { p.plot.setSize({ width: widthOf(p.el), height: HEIGHT }); });
    }, 150);
  });
})();
