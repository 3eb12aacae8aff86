import { describe, expect, it } from 'vitest';
import { appErrorPage } from './access-pages.js';

const settings = { organisation: 'Acme Corp', portalUrl: 'https://sso.acme.test' };
const unreachable = { status: 502, publicMessage: 'The application is not reachable right now.' };

describe('appErrorPage', () => {
  it('names the signed-in person in the text and the header, escaped, with the app and the reference', () => {
    const page = appErrorPage(unreachable, { requestId: 'req-9', app: 'wiki', appOrigin: 'https://wiki.acme.test', signedInAs: 'pat<b>@acme.test' }, settings);
    expect(page).toContain('wiki is not answering');
    expect(page).toContain('You are signed in as <strong>pat&lt;b&gt;@acme.test</strong>.');
    expect(page).toMatch(/Signed in as <strong>pat&lt;b&gt;@acme\.test<\/strong>.*href="https:\/\/sso\.acme\.test\/account"/s);
    expect(page).not.toContain('pat<b>');
    expect(page).toContain('req-9');
  });

  it('a busy app (503) names the person too', () => {
    const page = appErrorPage({ status: 503, publicMessage: 'The application is busy right now.' }, { requestId: 'req-10', app: 'wiki', appOrigin: undefined, signedInAs: 'pat@acme.test' }, settings);
    expect(page).toContain('wiki is busy');
    expect(page).toContain('You are signed in as <strong>pat@acme.test</strong>.');
  });

  it('without a session names nobody', () => {
    const page = appErrorPage(unreachable, { requestId: 'req-11', app: 'wiki', appOrigin: undefined }, settings);
    expect(page).not.toMatch(/signed in as/i);
  });
});
