import type { FastifyInstance } from 'fastify';
import { html, type SafeHtml } from '../portal/index.js';
import type { ConsoleContext } from './console-context.js';
import { consolePage, consoleTime } from './console-layout.js';
import { readOverview, type Overview } from './overview-query.js';
import { OVERVIEW_RANGE_NAMES, OVERVIEW_RANGES, parseOverviewRange } from './overview-range.js';
import type { OverviewSeriesName } from './overview-sources.js';

interface ChartSpec {
  id: OverviewSeriesName;
  title: string;
  /** "12 sign-ins" */
  noun: [string, string];
  names?: Record<string, string>;
  /** Show the busiest labels, the rest summed as "other" (refusal codes can be many). */
  top?: number;
  /** Add a line with every label summed. */
  total?: string;
}

const CHARTS: readonly ChartSpec[] = [
  {
    id: 'sign_in',
    title: 'Sign-ins by method',
    noun: ['sign-in', 'sign-ins'],
    names: { hwk: 'Security key', swk: 'Passkey', 'password+totp': 'Password + TOTP', password: 'Password only', webauthn: 'Key (kind not recorded)', other: 'Other' },
  },
  { id: 'denial', title: 'Denials by reason', noun: ['denial', 'denials'], top: 6 },
  {
    id: 'dns',
    title: 'DNS queries and blocks',
    noun: ['DNS query', 'DNS queries'],
    names: { allow: 'Answered', warn: 'Warned', block: 'Blocked', refused: 'Refused', error: 'Failed' },
    total: 'All queries',
  },
  { id: 'lookalike', title: 'Lookalike hits', noun: ['lookalike hit', 'lookalike hits'], names: { allow: 'Answered', warn: 'Warned', block: 'Blocked', refused: 'Refused', error: 'Failed' } },
  { id: 'alert', title: 'Alerts', noun: ['alert', 'alerts'] },
];

interface ChartData {
  names: string[];
  values: number[][];
  total: number;
}

/** A chart's lines as shown: display names, the busiest labels first when capped, an optional total. */
function chartData(spec: ChartSpec, overview: Overview): ChartData {
  const entries = Object.entries(overview.series[spec.id]).map(([label, values]) => ({ label, values, sum: values.reduce((a, b) => a + b, 0) }));
  const total = entries.reduce((a, e) => a + e.sum, 0);
  let shown = entries;
  if (spec.top !== undefined && entries.length > spec.top) {
    const sorted = [...entries].sort((a, b) => b.sum - a.sum || (a.label < b.label ? -1 : 1));
    const rest = sorted.slice(spec.top);
    shown = [...sorted.slice(0, spec.top), { label: 'other', values: overview.buckets.map((_, i) => rest.reduce((a, e) => a + e.values[i]!, 0)), sum: rest.reduce((a, e) => a + e.sum, 0) }];
  }
  const names = shown.map((e) => spec.names?.[e.label] ?? (e.label === 'other' && spec.top !== undefined ? 'Other reasons' : e.label));
  const values = shown.map((e) => e.values);
  if (spec.total && shown.length > 0) {
    names.unshift(spec.total);
    values.unshift(overview.buckets.map((_, i) => shown.reduce((a, e) => a + e.values[i]!, 0)));
  }
  return { names, values, total };
}

function bucketTime(ms: number, bucketMs: number): SafeHtml {
  const iso = new Date(ms).toISOString();
  const text = bucketMs >= 86_400_000 ? iso.slice(0, 10) : bucketMs >= 6 * 3_600_000 ? iso.slice(0, 16).replace('T', ' ') : iso.slice(11, 16);
  return html`<time datetime="${iso}">${text}</time>`;
}

function plural(n: number, [one, many]: [string, string]): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

function chartSection(spec: ChartSpec, data: ChartData, overview: Overview): SafeHtml {
  const { label } = OVERVIEW_RANGES[overview.range];
  const lines = spec.total ? data.names.slice(1) : data.names;
  const sums = (spec.total ? data.values.slice(1) : data.values).map((values) => values.reduce((a, b) => a + b, 0));
  const summary =
    data.total === 0
      ? `No ${spec.noun[1]} in the ${label}.`
      : `${plural(data.total, spec.noun)} in the ${label}: ${lines.map((name, i) => `${name} ${sums[i]!.toLocaleString('en')}`).join(', ')}.`;
  const heading = `overview-${spec.id}`;
  const rows = overview.buckets.map(
    (start, i) => html`<tr><th scope="row">${bucketTime(start, overview.bucketMs)}</th>${data.values.map((values) => html`<td>${values[i]!.toLocaleString('en')}</td>`)}</tr>`,
  );
  return html`<section class="overview-chart" aria-labelledby="${heading}">
    <h2 id="${heading}">${spec.title}</h2>
    <p class="chart-summary">${summary}</p>
    ${data.total > 0 ? html`<div class="chart" data-chart="${spec.id}" role="img" aria-label="${spec.title} chart; the same counts are in the table below"></div>` : html``}
    ${data.total > 0
      ? html`<details><summary>${spec.title}: table</summary><div class="table-scroll" tabindex="0"><table>
        <caption>${spec.title}, ${label}, per ${overview.bucketMs >= 86_400_000 ? 'day' : overview.bucketMs >= 3_600_000 ? `${overview.bucketMs / 3_600_000} h` : `${overview.bucketMs / 60_000} min`} (UTC)</caption>
        <thead><tr><th scope="col">Time</th>${data.names.map((name) => html`<th scope="col">${name}</th>`)}</tr></thead>
        <tbody>${rows}</tbody></table></div></details>`
      : html``}
  </section>`;
}

/**
 * Overview: sign-ins by method, denials by reason, DNS queries and blocks, lookalike hits and alerts
 * over 1 h / 24 h / 7 d / 30 d, plus users who still have no key and open incidents. The counts come
 * from the rollups (overview-rollups.ts) and the live tail after them; every chart has its numbers
 * in words and in a table, drawn by overview.js with uPlot from a data attribute (escaped like any
 * attribute: no inline script under the CSP).
 */
export function registerOverviewPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get('/overview.json', async (request, reply) => {
    await ctx.gate.read(request);
    const range = parseOverviewRange((request.query as { range?: unknown }).range);
    return reply.send(await readOverview(ctx.deps.db, range, ctx.deps.clock.now()));
  });

  scope.get('/', async (request, reply) => {
    const session = await ctx.gate.read(request);
    const range = parseOverviewRange((request.query as { range?: unknown }).range);
    const overview = await readOverview(ctx.deps.db, range, ctx.deps.clock.now());
    const view = { ...ctx.view(request, reply, session, 'overview', 'Overview'), charts: true, scripts: ['overview.js'] };
    const charts = CHARTS.map((spec) => ({ spec, data: chartData(spec, overview) }));
    const alerts = charts.find((c) => c.spec.id === 'alert')!.data.total;
    const lookalikes = charts.find((c) => c.spec.id === 'lookalike')!.data.total;
    const payload = { buckets: overview.buckets, charts: Object.fromEntries(charts.map(({ spec, data }) => [spec.id, { names: data.names, values: data.values }])) };
    const body = html`
      <nav class="overview-ranges" aria-label="Time range">${OVERVIEW_RANGE_NAMES.map((name) =>
        name === range ? html`<a href="/admin?range=${name}" aria-current="true">${name}</a>` : html`<a href="/admin?range=${name}">${name}</a>`,
      )}</nav>
      <div class="grid overview-stats">
        <a class="stat${overview.usersWithoutKey > 0 ? ' alert' : ''}" href="/admin/users?filter=password-only"><div class="value">${overview.usersWithoutKey.toLocaleString('en')}</div><div class="label">users still without a security key or passkey</div></a>
        <a class="stat${overview.openIncidents > 0 ? ' alert' : ''}" href="/admin/incidents"><div class="value">${overview.openIncidents.toLocaleString('en')}</div><div class="label">open incident${overview.openIncidents === 1 ? '' : 's'}</div></a>
        <div class="stat${alerts > 0 ? ' alert' : ''}"><div class="value">${alerts.toLocaleString('en')}</div><div class="label">alert${alerts === 1 ? '' : 's'} in the ${OVERVIEW_RANGES[range].label}</div></div>
        <div class="stat"><div class="value">${lookalikes.toLocaleString('en')}</div><div class="label">lookalike hit${lookalikes === 1 ? '' : 's'} in the ${OVERVIEW_RANGES[range].label}</div></div>
      </div>
      ${overview.missing
        ? html`<p class="notice warn">Counts from ${consoleTime(overview.missing.from)} to ${consoleTime(overview.missing.to)} are still being rolled up and are not shown yet.</p>`
        : html``}
      <p class="muted">Times in UTC. Counted at ${consoleTime(overview.now)}: whole buckets from the rollups, the rest live from the logs.</p>
      <div id="overview-data" class="hidden" data-overview="${JSON.stringify(payload)}"></div>
      ${charts.map(({ spec, data }) => chartSection(spec, data, overview))}`;
    return reply.type('text/html; charset=utf-8').send(consolePage(view, body));
  });
}
