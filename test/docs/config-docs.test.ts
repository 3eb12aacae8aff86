import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { configurationMarkdown } from '../../scripts/generate-config-docs.js';

it('docs/configuration.md matches the schema (run `npm run docs:config` after changing it)', () => {
  const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  expect(committed).toBe(configurationMarkdown());
});
