import type { IncidentView } from './incident-types.js';

function clock(ms: number | undefined): string {
  return ms === undefined ? '--:--:--.---' : new Date(ms).toISOString().slice(11, 23);
}

/** A step's recorded result as `key=value` pairs (long lists as counts). */
export function summarise(result: Record<string, unknown> | undefined): string {
  if (!result) return '';
  return Object.entries(result)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? (value.length > 5 ? `${value.length} items` : value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(',')) : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`)
    .join(' ');
}

/** The incident and its timeline as plain text (`gatehouse incident show`). */
export function timelineText(view: IncidentView): string {
  const lines = [
    `incident ${view.id}  ${view.status}  playbook ${view.runState}`,
    `title     ${view.title}`,
    `declared  ${new Date(view.declaredAt).toISOString()} by ${view.declaredBy}`,
    ...(view.closedAt !== undefined ? [`closed    ${new Date(view.closedAt).toISOString()} by ${view.closedBy ?? '?'}${view.closeNote ? `: ${view.closeNote}` : ''}`] : []),
    `domains   ${view.indicators.domains.join(' ') || '-'}`,
    `ips       ${view.indicators.ips.join(' ') || '-'}`,
    `urls      ${view.indicators.urls.join(' ') || '-'}`,
    ...(view.indicators.tokens.length > 0 ? [`tokens    ${view.indicators.tokens.join(' ')}`] : []),
    ...(view.indicators.credentials.length > 0 ? [`outside   ${view.indicators.credentials.join(' ')} (inventory ids)`] : []),
    ...(view.campaign ? [`campaign  ${view.campaign.id} (${view.campaign.items} item(s)): follow with \`${view.campaign.follow}\`, drive with \`${view.campaign.run}\``] : view.options.campaign ? ['campaign  not started yet (see revoke_credentials)'] : []),
    `options   ${view.options.allSessions ? 'all sessions' : 'contained users’ sessions'}, hunt window ${Math.round(view.options.huntWindowMs / 3_600_000)} h`,
    '',
    'timeline (UTC)   +ms from declaration',
  ];
  for (const entry of view.timeline) {
    const offset = entry.sinceDeclarationMs === undefined ? '' : `+${entry.sinceDeclarationMs}`;
    lines.push(
      `  ${clock(entry.startedAt)} → ${clock(entry.endedAt)} ${offset.padStart(8)}  ${entry.step.padEnd(19)} ${entry.status.padEnd(7)} ${summarise(entry.result)}${entry.error ? `  error: ${entry.error}` : ''}`,
    );
  }
  if (view.events.length > 0) {
    lines.push('', 'beside the playbook (UTC)');
    // The summaries carry text from outside (an abuse desk's note, an address): no control characters reach the terminal.
    for (const event of view.events) lines.push(`  ${event.at === undefined ? '                   ' : new Date(event.at).toISOString().slice(0, 19).replace('T', ' ')}  ${event.source.padEnd(9)} ${event.summary.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')}`);
  }
  lines.push('', `contained users (${view.users.length})`);
  for (const user of view.users.slice(0, 200)) lines.push(`  ${user.email}  ${user.sources.join(', ')}`);
  if (view.users.length > 200) lines.push(`  ... and ${view.users.length - 200} more (--json for all)`);
  lines.push('', `notifications  ${Object.entries(view.outbox).map(([status, n]) => `${status}=${n}`).join(' ') || 'none'}`);
  return lines.join('\n');
}
