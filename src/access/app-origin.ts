/**
 * The origin an app is served on, from config only: the app's configured host with the scheme and
 * port of the portal's public URL (apps and portal share the listeners). Never built from the
 * request: a Host or X-Forwarded-Proto a client chose would let a handshake code travel to `http:` or
 * to another port on the app host, where anyone listening could redeem it.
 */
export function appOriginOf(portalUrl: string, appHost: string): string {
  const url = new URL(portalUrl);
  url.hostname = appHost;
  return url.origin;
}
