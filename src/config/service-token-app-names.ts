/**
 * The names a service token's `apps` list can mean, and the config key that defines each. They share
 * one namespace: the verifier checks only that the token lists the name it was asked about, so an
 * app and the report webhook with one name would be one grant. A gateway's token issued to file
 * reports would pass the proxy to that app (and its policies naming the token), and a token issued
 * for the app would file reports as a gateway.
 *
 * `ssh.apps` and `tcp.apps` are not here: they are reached with a person's credential, never a token.
 */
export interface ServiceTokenAppName {
  name: string;
  /** The key that defines it, for messages: `apps[2].name`, `reports.webhook.app`. */
  key: string;
  path: (string | number)[];
}

interface NamesSource {
  apps: readonly { name: string }[];
  reports: { webhook?: { app: string } | undefined };
}

export function serviceTokenAppNamesOf(config: NamesSource): ServiceTokenAppName[] {
  const names: ServiceTokenAppName[] = config.apps.map((app, i) => ({ name: app.name, key: `apps[${i}].name`, path: ['apps', i, 'name'] }));
  if (config.reports.webhook) names.push({ name: config.reports.webhook.app, key: 'reports.webhook.app', path: ['reports', 'webhook', 'app'] });
  return names;
}

/** Each name defined twice in the namespace, as `[the later key, the earlier one]` (duplicate apps[] names are reported by the apps schema itself). */
export function serviceTokenAppNameClashes(config: NamesSource): { clash: ServiceTokenAppName; first: ServiceTokenAppName }[] {
  const seen = new Map<string, ServiceTokenAppName>();
  const clashes: { clash: ServiceTokenAppName; first: ServiceTokenAppName }[] = [];
  for (const entry of serviceTokenAppNamesOf(config)) {
    const first = seen.get(entry.name);
    if (first === undefined) seen.set(entry.name, entry);
    else if (first.path[0] !== entry.path[0]) clashes.push({ clash: entry, first });
  }
  return clashes;
}
