import { describe, expect, it } from 'vitest';
import { deniedPage } from './denied-page.js';
import type { Decision } from './policy/index.js';

const decision = { allow: false, outcome: 'deny', action: 'deny', policy: undefined, reasons: ['not_matched: policies[0] "p" include[0] group: groups [] not in [admins]'] } as unknown as Decision;
const base = { app: 'payroll', appUrl: 'https://payroll.acme.test/salaries?q=1', portalUrl: 'https://sso.acme.test', decision };

describe('deniedPage', () => {
  it('names the app and the account, and offers request access (templated, encoded) and another account', () => {
    const page = deniedPage({ ...base, email: 'pat+x@acme.test', accessRequestUrl: 'mailto:it@acme.test?subject=Access%20to%20{app}&body={email}' });
    expect(page.title).toBe('You cannot open payroll');
    expect(page.signedInAs).toBe('pat+x@acme.test');
    expect(page.message).toBe('You are not in a group that may use this app.');
    expect(page.actions.map((a) => a.label)).toEqual(['Request access', 'Use another account', 'Your account']);
    expect(page.actions[0]!.href).toBe('mailto:it@acme.test?subject=Access%20to%20payroll&body=pat%2Bx%40acme.test');
    expect(page.actions[1]!.href).toBe(`https://sso.acme.test/sign-out?return_to=${encodeURIComponent(base.appUrl)}`);
  });

  it('without a configured address: no request link, the text says to ask the IT team', () => {
    const page = deniedPage({ ...base, email: 'pat@acme.test', accessRequestUrl: undefined });
    expect(page.actions.map((a) => a.label)).toEqual(['Use another account', 'Your account']);
    expect(page.next).toContain('ask your IT team for access');
  });

  it('a blocked network: no other account or access request is offered, only another network', () => {
    const blocked = { ...decision, reasons: ['ip_blocked: 203.0.113.7 in runtime block'] } as unknown as Decision;
    const page = deniedPage({ ...base, email: 'pat@acme.test', accessRequestUrl: 'https://it.acme.test/request', decision: blocked });
    expect(page.message).toBe('Your network address is blocked.');
    expect(page.actions).toEqual([{ href: base.appUrl, label: 'Try again' }]);
    expect(page.next).toContain('another network');
    expect(JSON.stringify(page)).not.toContain('203.0.113.7');
  });

  it('nobody signed in (refused before sign-in): a sign-in link back to the app, no account named', () => {
    const page = deniedPage({ ...base, email: undefined, accessRequestUrl: 'https://it.acme.test/request?app={app}' });
    expect(page.signedInAs).toBeUndefined();
    expect(page.actions).toEqual([{ href: `https://sso.acme.test/sign-in?return_to=${encodeURIComponent(base.appUrl)}`, label: 'Sign in' }]);
  });
});
