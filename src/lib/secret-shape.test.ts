import { describe, expect, it } from 'vitest';
import { seededPrng } from '../../test/support/seeded-prng.js';
import { looksLikeSecret } from './secret-shape.js';

// Seeded: the same 2,000 draws every run, so the figure below is reproducible, not a coin toss.
const prng = seededPrng(20261207);
const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(prng() * 256)));

describe('looksLikeSecret', () => {
  it('recognises generated secrets and secrets by their context', () => {
    // Many draws: a bar set near what random text reaches shows here (measured over 20,000 each: no hex,
    // base64url or `gh-secret-` token slips through, about 3 in 10,000 short base64url file names do).
    for (let i = 0; i < 2000; i += 1) {
      expect(looksLikeSecret(randomBytes(32).toString('hex'))).toBe(true);
      expect(looksLikeSecret(randomBytes(32).toString('base64url'))).toBe(true);
      expect(looksLikeSecret(`gh-secret-${randomBytes(32).toString('base64url')}`)).toBe(true);
      expect(looksLikeSecret(`/etc/keys/${randomBytes(24).toString('base64url')}`)).toBe(true);
    }
    expect(looksLikeSecret('-----BEGIN OPENSSH PRIVATE KEY-----')).toBe(true);
    expect(looksLikeSecret('postgres://billing:hunter2@db1.acme.internal/billing')).toBe(true);
    expect(looksLikeSecret('password=correct horse')).toBe(true);
    expect(looksLikeSecret('api_key: abc')).toBe(true);
  });

  it('lets temp folders through: words joined by dashes and a random 6-character suffix are not a secret', () => {
    const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    for (let i = 0; i < 2000; i += 1) {
      const suffix = Array.from({ length: 6 }, () => chars[Math.floor(prng() * chars.length)]).join('');
      for (const path of [`/tmp/gatehouse-sshd-${suffix}/known_hosts`, `/tmp/gatehouse-rotators-config-${suffix}/admin_key`]) expect([path, looksLikeSecret(path)]).toEqual([path, false]);
    }
  });

  it('lets names, paths, hosts, URLs without credentials and key fingerprints through', () => {
    for (const value of [
      'billing_service_account',
      'db1.acme.internal',
      '/etc/gatehouse/rotators/pg_main_admin_password_file',
      '/usr/local/bin/rotate-billing-credentials',
      'postgres://db1.acme.internal:5432/billing',
      'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s',
      'deploy@bastion.acme.internal',
      'arn:aws:iam::123456789012:role/BillingExporter',
      'ConfluenceAutomationServiceAccount',
    ]) {
      expect([value, looksLikeSecret(value)]).toEqual([value, false]);
    }
  });
});
