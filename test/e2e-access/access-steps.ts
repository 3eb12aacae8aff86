/**
 * Steps shared by the access-proxy browser tests: what an upstream does with the identity JWT, and
 * audit events the gateway writes after it has answered (a deny is audited without holding the reply).
 */
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Page } from 'playwright-core';
import type { StoredAuditEvent } from '../../src/audit/index.js';
import { hostRequest } from '../e2e/host-request.js';
import type { GatehouseFixture } from '../support/gatehouse-fixture.js';

export const ASSERTION_HEADER = 'gatehouse-jwt-assertion';
/** The per-app session cookie on plain-http development hosts (`__Host-` prefixed on https). */
export const APP_SESSION_COOKIE = 'gatehouse_app_session';

/**
 * Verifies an identity JWT the way an upstream should: signature against the JWKS the portal
 * publishes (fetched over HTTP, no shared memory), issuer = portal, audience = this app only.
 */
export async function verifyAssertion(fixture: GatehouseFixture, token: unknown, app: string, now?: number): Promise<JWTPayload> {
  if (typeof token !== 'string') throw new Error(`the upstream received no ${ASSERTION_HEADER} header`);
  const jwks = await hostRequest({ authority: `${fixture.portalHost}:${fixture.port}`, path: '/.well-known/jwks.json' });
  if (jwks.status !== 200) throw new Error(`JWKS answered ${jwks.status}`);
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(JSON.parse(jwks.body)), {
    issuer: fixture.portalOrigin,
    audience: app,
    algorithms: ['ES256'],
    ...(now !== undefined ? { currentDate: new Date(now) } : {}),
  });
  if (protectedHeader.alg !== 'ES256') throw new Error(`unexpected alg ${protectedHeader.alg}`);
  return payload;
}

/** Audit events of `type` after `afterSeq` matching `where`, waiting up to 5 s for the gateway's async write. */
export async function waitForAudit(
  fixture: GatehouseFixture,
  type: string,
  afterSeq: number,
  where: (event: StoredAuditEvent) => boolean = () => true,
): Promise<StoredAuditEvent[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const events = (await fixture.gatehouse.core.audit.list({ type, limit: 1000 })).filter((e) => e.seq > afterSeq && where(e));
    if (events.length > 0 || Date.now() > deadline) return events;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Opens `url` and follows every redirect; the HTTP status and address of the page it ends on. */
export async function openInBrowser(page: Page, url: string): Promise<{ status: number; url: string }> {
  const response = await page.goto(url, { timeout: 30_000 });
  if (!response) throw new Error(`no response for ${url}`);
  return { status: response.status(), url: page.url() };
}

/** The text content of the page's main heading and paragraph (access pages and the upstream page). */
export async function pageText(page: Page): Promise<string> {
  return (await page.locator('body').innerText()).replace(/\s+/g, ' ').trim();
}
