import { createHash } from 'node:crypto';

/**
 * The one stylesheet, inlined into every page as a <style> element. Inline, so a page an app host or
 * the DNS block listener serves, or one shown to a client whose address is blocked at the portal, keeps
 * its look without a request to another origin. The CSP allows exactly this text by its hash (CSP 3
 * §8.3), never 'unsafe-inline': style attributes stay forbidden, so markup injected past the escaping
 * cannot restyle the page into a lookalike.
 */
export const PORTAL_CSS = `:root {
  --ink: #15202b; --muted: #5b6b7b; --line: #dde3ea; --bg: #f4f6f9; --card: #fff;
  --brand: #1f4fd1; --brand-ink: #fff; --danger: #b42318; --ok: #067647; --warn: #b54708;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif;
  color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: flex; flex-direction: column; }
header.top { background: var(--card); border-bottom: 1px solid var(--line); padding: 14px 24px; display: flex; align-items: center; gap: 12px; }
header.top .mark { width: 28px; height: 28px; border-radius: 7px; background: var(--brand); display: grid; place-items: center; color: #fff; font-weight: 700; }
header.top .org { font-weight: 600; }
header.top nav { margin-left: auto; display: flex; gap: 16px; align-items: center; font-size: 14px; }
main { flex: 1; display: flex; justify-content: center; align-items: flex-start; padding: 48px 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 32px; width: 100%; max-width: 440px; box-shadow: 0 1px 2px rgba(16,24,40,.05); }
.card.wide { max-width: 760px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 28px 0 12px; }
p { line-height: 1.5; margin: 0 0 14px; }
.muted { color: var(--muted); font-size: 14px; }
label { display: block; font-size: 14px; font-weight: 600; margin: 14px 0 6px; }
input[type=text], input[type=email], input[type=password], textarea { width: 100%; padding: 10px 12px; border: 1px solid var(--line); border-radius: 8px; font-size: 15px; }
input:focus { outline: 2px solid var(--brand); outline-offset: 1px; }
button, .button { display: inline-flex; justify-content: center; align-items: center; gap: 8px; padding: 10px 16px; border-radius: 8px; border: 1px solid var(--brand);
  background: var(--brand); color: var(--brand-ink); font-size: 15px; font-weight: 600; cursor: pointer; text-decoration: none; }
button.block { width: 100%; margin-top: 18px; }
button.secondary { background: #fff; color: var(--brand); }
button.danger { background: #fff; color: var(--danger); border-color: #f1c2bd; }
button.link { background: none; border: none; color: var(--brand); padding: 0; font-weight: 400; font-size: inherit; text-decoration: underline; }
button[disabled] { opacity: .6; cursor: not-allowed; }
.divider { display: flex; align-items: center; gap: 10px; color: var(--muted); font-size: 13px; margin: 22px 0 4px; }
.divider::before, .divider::after { content: ""; flex: 1; border-top: 1px solid var(--line); }
.notice { border-radius: 8px; padding: 12px 14px; font-size: 14px; margin: 14px 0; border: 1px solid; }
.notice.error { background: #fef3f2; border-color: #fecdca; color: var(--danger); }
.notice.ok { background: #ecfdf3; border-color: #abefc6; color: var(--ok); }
.notice.warn { background: #fffaeb; border-color: #fedf89; color: var(--warn); }
.hidden { display: none; }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; padding: 10px 8px; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { color: var(--muted); font-weight: 600; font-size: 13px; }
td form { display: inline; }
tr.task > td { border-bottom: 0; padding-bottom: 2px; }
.badge { display: inline-block; font-size: 12px; padding: 2px 8px; border-radius: 999px; background: #eef4ff; color: var(--brand); font-weight: 600; }
.badge.ok { background: #ecfdf3; color: var(--ok); }
.badge.grey { background: #f2f4f7; color: var(--muted); }
.row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.inline-rename input { width: 180px; padding: 6px 8px; font-size: 14px; }
.inline-rename button { padding: 6px 10px; font-size: 13px; }
footer { text-align: center; color: var(--muted); font-size: 12px; padding: 16px; }
code { background: #f2f4f7; padding: 1px 5px; border-radius: 4px; font-size: 13px; }
.spaced { margin-top: 16px; }
.add-key input { max-width: 240px; }
header.top nav form { margin: 0; }
.who { font-size: 14px; color: var(--muted); margin: 0 0 14px; }
.actions { display: flex; gap: 10px; flex-wrap: wrap; margin-top: 18px; }
.actions form { margin: 0; }
a.button.secondary, .actions button.secondary { background: #fff; color: var(--brand); }
.table-scroll { overflow-x: auto; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
textarea { font: inherit; }
a { color: var(--brand); }
@media (max-width: 560px) {
  header.top { padding: 12px 16px; flex-wrap: wrap; }
  main { padding: 20px 10px; }
  .card { padding: 20px 16px; }
  th, td { padding: 8px 4px; }
  .inline-rename input { width: 120px; }
}
`;

/** The CSP source expression for PORTAL_CSS. */
export const PORTAL_CSS_HASH_SOURCE = `'sha256-${createHash('sha256').update(PORTAL_CSS).digest('base64')}'`;
