import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { looksLikeSecret } from './secret-shape.js';

describe('looksLikeSecret', () => {
  it('recognises generated secrets and secrets by their context', () => {
    for (let i = 0; i < 50; i += 1) {
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
