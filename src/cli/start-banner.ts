/** What `gatehouse serve` prints once it listens: where the portal is, who the first admin is, and what to do next. */
export interface StartBannerInput {
  portalUrl: string;
  database: string;
  configPath: string;
  /** The first administrator's email (the one the link enrols, or the first of the admin group). */
  adminEmail: string | undefined;
  /** The one-time enrollment link, while no administrator has a key. */
  firstAdminLink: string | undefined;
  /** The parent domain of the portal host (`gatehouse.localhost` in the demo): apps live beside the portal. */
  appDomain: string;
  /** `:8080` when the listener is not on the scheme's default port, else empty. */
  portSuffix: string;
  dnsEnabled: boolean;
  dohPath: string;
}

/** The banner's lines; every command and config line in it is one a person can paste as it is. */
export function startBannerLines(input: StartBannerInput): string[] {
  const scheme = input.portalUrl.startsWith('https:') ? 'https' : 'http';
  const lines = [
    '',
    `Gatehouse is running. Portal: ${input.portalUrl}/`,
    `Database: ${input.database}    Config: ${input.configPath} (reloads on change or SIGHUP)`,
  ];
  if (input.firstAdminLink) {
    lines.push(
      '',
      `First administrator: ${input.adminEmail ?? 'admin'}. Open this one-time link in Chromium or Firefox and register a security key or passkey:`,
      `  ${input.firstAdminLink}`,
    );
  } else if (input.adminEmail) {
    lines.push('', `Administrator: ${input.adminEmail} (signs in at ${input.portalUrl}/)`);
  }
  const appHost = `whoami.${input.appDomain}`;
  lines.push(
    '',
    'Next steps:',
    '  1. Invite a user (prints a one-time enrollment link):',
    '       npx gatehouse user invite alice@example.com --group staff',
    `  2. Protect an app: add to ${input.configPath} (applied on save), then open ${scheme}://${appHost}${input.portSuffix}/`,
    '       apps:',
    '         - name: whoami',
    `           host: ${appHost}`,
    '           upstream: http://127.0.0.1:3000',
    '           policies: [{ name: staff, action: allow, include: [{ group: [staff, admins] }] }]',
    '     The app receives the signed header Gatehouse-Jwt-Assertion: docs/app-developers.md',
    '  3. Point a resolver at the gateway:',
  );
  if (input.dnsEnabled) {
    lines.push('       personal DNS-over-HTTPS URL for a browser or phone: npx gatehouse dns token alice@example.com');
  } else {
    // Keys to merge into the file's dns: section, not a second dns: line: the demo file has one already
    // (its protected brands), and YAML refuses a repeated key.
    lines.push(
      `       add to the dns: section of ${input.configPath} (applied on save; start the section if there is none):`,
      '         enabled: true',
      '         listen: { address: 127.0.0.1, port: 5353 }',
      '         upstreams: ["9.9.9.9:53"]',
      '       then: dig @127.0.0.1 -p 5353 example.com',
    );
  }
  lines.push(
    `       DNS over HTTPS is at ${input.portalUrl}${input.dohPath}; guide: docs/dns.md`,
    `  4. Run the day from the admin console: ${input.portalUrl}/admin (docs/console.md)`,
    '',
  );
  return lines;
}
