/**
 * Validates STIX 2.1 objects against the official OASIS JSON Schemas kept in test/fixtures/stix
 * (BSD-3-Clause, licence beside them). Every schema is loaded under its own `$id`, so the relative
 * `$ref`s resolve locally: nothing is fetched.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const ROOT = new URL('../fixtures/stix/', import.meta.url).pathname;
const BASE = 'http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/';

export function stixValidator(): (kind: string) => ValidateFunction {
  // strict off: the OASIS schemas use `definitions` and a few draft-07 habits under 2020-12. Their
  // patterns are written for ECMA-262 without the `u` flag (`\-` is an invalid escape with it).
  const regExp = Object.assign((pattern: string, flags: string) => new RegExp(pattern, flags.replace('u', '')), { code: 'new RegExp' });
  const ajv = new Ajv2020({ strict: false, allErrors: true, code: { regExp } });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  // ajv-formats has no idn-hostname (domain-name.value): accept what the WHATWG URL parser takes as a host.
  ajv.addFormat('idn-hostname', (value: string) => {
    try {
      return new URL(`http://${value}/`).hostname.length > 0 && !value.includes('/');
    } catch {
      return false;
    }
  });
  for (const folder of ['common', 'observables', 'sdos', 'sros']) {
    for (const file of readdirSync(join(ROOT, folder)).filter((f) => f.endsWith('.json'))) {
      ajv.addSchema(JSON.parse(readFileSync(join(ROOT, folder, file), 'utf8')) as object);
    }
  }
  return (kind) => {
    const validate = ajv.getSchema(`${BASE}${kind}.json`);
    if (!validate) throw new Error(`no STIX schema ${kind}`);
    return validate;
  };
}
