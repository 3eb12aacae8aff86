import type { CampaignReportData } from './create-campaigns.js';

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());

/** The report as data: every item with its end state, who closed it, when, and the evidence. */
export function campaignReportJson(data: CampaignReportData): Record<string, unknown> {
  const { campaign } = data;
  return {
    campaign: {
      id: campaign.id,
      reason: campaign.reason,
      scope: JSON.parse(campaign.scope) as unknown,
      mode: Number(campaign.emergency) === 1 ? 'emergency' : 'overlap',
      status: campaign.status,
      startedAt: iso(campaign.started_at),
      startedBy: campaign.started_by,
      closedAt: iso(campaign.closed_at),
      closedBy: campaign.closed_by,
    },
    generatedAt: iso(data.generatedAt),
    items: data.items.map((item) => ({
      name: item.name,
      source: item.source,
      kind: item.kind,
      system: item.system,
      owner: item.owner,
      believedUnused: item.believedUnused,
      state: item.state,
      endState: item.endState ?? null,
      attempts: item.attempts,
      doneBy: item.doneBy ?? null,
      doneAt: iso(item.doneAt),
      deliveredTo: item.deliveredTo ?? null,
      evidence: item.evidence ?? null,
      lastError: item.lastError ?? null,
      attestations: data.attestations.filter((a) => a.item_key === item.key).map((a) => ({ by: a.admin, at: iso(a.attested_at), statement: a.statement })),
    })),
  };
}

/** HTML text and attribute escaping (every value here may come from an imported CSV). */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/**
 * A self-contained HTML report. Every value is escaped: names, owners and evidence come from imported
 * files and from remote systems' answers, and a report is opened in a browser by the people with the
 * most privilege. No script, and a CSP meta that forbids any.
 */
export function campaignReportHtml(data: CampaignReportData): string {
  const json = campaignReportJson(data);
  const c = json.campaign as Record<string, unknown>;
  const items = json.items as Record<string, unknown>[];
  const rows = items
    .map((i) => {
      const evidence = i.evidence ? JSON.stringify(i.evidence, null, 1) : '';
      const attested = (i.attestations as { by: string; at: string; statement: string }[]).map((a) => `${a.by} at ${a.at}: ${a.statement}`).join('\n');
      const cells = [i.name, i.kind, i.system, i.owner, i.believedUnused ? 'yes' : '', i.state, i.endState ?? '', i.doneBy ?? '', i.doneAt ?? '', i.deliveredTo ?? ''];
      return `<tr class="${escapeHtml(i.state)}">${cells.map((v) => `<td>${escapeHtml(v)}</td>`).join('')}<td><pre>${escapeHtml(evidence)}${i.lastError ? `\n${escapeHtml(i.lastError)}` : ''}${attested ? `\n${escapeHtml(attested)}` : ''}</pre></td></tr>`;
    })
    .join('\n');
  const heads = ['name', 'kind', 'system', 'owner', 'believed unused', 'state', 'end state', 'by', 'when', 'new secret to', 'evidence'];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Rotation campaign ${escapeHtml(c.id)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px;vertical-align:top;text-align:left}pre{margin:0;white-space:pre-wrap}tr.failed,tr.owner_task,tr.pending,tr.rotating,tr.waiting{background:#fee}</style>
</head><body>
<h1>Rotation campaign ${escapeHtml(c.id)}</h1>
<p>Reason: ${escapeHtml(c.reason)}<br>Scope: ${escapeHtml(JSON.stringify(c.scope))}; mode: ${escapeHtml(c.mode)}<br>Started ${escapeHtml(c.startedAt)} by ${escapeHtml(c.startedBy)}; status ${escapeHtml(c.status)}${c.closedAt ? ` (closed ${escapeHtml(c.closedAt)} by ${escapeHtml(c.closedBy)})` : ''}<br>Generated ${escapeHtml(json.generatedAt)}</p>
<table><thead><tr>${heads.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
