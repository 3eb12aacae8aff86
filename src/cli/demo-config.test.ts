import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.js';
import { demoConfigText } from './demo-config.js';

describe('demo configuration', () => {
  it('is valid, and so is its commented app example once uncommented (what the banner and the guide tell people to do)', () => {
    const text = demoConfigText({ dir: '.', host: 'gatehouse.localhost', port: 8080, selfSigned: false });
    expect(parseConfig(text, '/tmp/gatehouse.yaml').apps).toEqual([]);
    const uncommented = text.replace(/^# apps:$/m, 'apps:').replace(/^# {3}/gm, '  ');
    const apps = parseConfig(uncommented, '/tmp/gatehouse.yaml').apps;
    expect(apps.map((app) => [app.name, app.host])).toEqual([['whoami', 'whoami.gatehouse.localhost']]);
    // The keys by address: the portal's *.localhost name does not resolve outside a browser.
    expect(text).toContain('http://127.0.0.1:8080/.well-known/jwks.json');
  });
});
