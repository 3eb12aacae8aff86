/**
 * The systems outside Gatehouse in the 2023 drill, as an attacker or the owning service meets them:
 * a token presented to the access proxy from a chosen address, a PostgreSQL login, an SSH login with the
 * real client, and a stand-in SaaS whose accounts accept one token each, rotated by an `exec` rotator.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { runProcess } from '../../src/credentials/rotation/run-process.js';

/** One request from a chosen local address (all of 127/8 is loopback on Linux): a client on another /24. */
export function requestFrom(port: number, localAddress: string, host: string, token: { clientId: string; secret: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, localAddress, path: '/', agent: false, headers: { host: `${host}:${port}`, 'Gatehouse-Client-Id': token.clientId, 'Gatehouse-Client-Secret': token.secret } });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += String(chunk)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export { postgresLogin } from '../../src/credentials/rotation/test-support/private-postgres.js';

/** Logs in with the real `ssh` client, host key checked, no agent and no ssh_config: the exit code and stderr. */
export async function sshLogin(ssh: string, peer: { port: number; user: string; knownHostsFile: string }, keyFile: string): Promise<{ exitCode: number | undefined; stderr: string }> {
  const result = await runProcess(
    [ssh, '-F', '/dev/null', '-i', keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${peer.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-p', String(peer.port), `${peer.user}@127.0.0.1`, 'true'],
    { timeoutMs: 20_000 },
  );
  return { exitCode: result.exitCode, stderr: result.stderr };
}

/**
 * The stand-in SaaS, one program with two faces. `login SYSTEM ACCOUNT` (token on stdin) is the SaaS
 * answering a client: exit 0 accepted, 1 refused. `rotator SYSTEM SECRETS` is the command an `exec`
 * rotator runs (target JSON on stdin): it refuses to act when the SYSTEM is down (a `down` file), or when
 * the token in use (SECRETS/ACCOUNT.secret, where the owning service reads it) does not log in; rotates
 * or revokes the account's token at the SaaS, delivers a new one to the 0600 file, and presents the old
 * one to the SaaS. The SaaS keeps only a SHA-256 of each accepted token; nothing secret is printed.
 */
const SAAS_SOURCE = `import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
const [, , mode, system, arg] = process.argv;
const digest = (token) => createHash('sha256').update(token).digest('hex');
const accepts = (account, token) => { try { return readFileSync(system + '/accounts/' + account, 'utf8') === digest(token); } catch { return false; } };
if (mode === 'login') process.exit(accepts(arg, readFileSync(0, 'utf8')) ? 0 : 1);
const { action, locator } = JSON.parse(readFileSync(0, 'utf8'));
if (existsSync(system + '/down')) { process.stderr.write('connect ECONNREFUSED\\n'); process.exit(3); }
const account = locator.account;
const file = arg + '/' + account + '.secret';
const old = readFileSync(file, 'utf8');
if (!accepts(account, old)) { process.stderr.write('the token in use does not log in\\n'); process.exit(4); }
if (action === 'rotate') {
  const fresh = randomBytes(32).toString('base64url');
  writeFileSync(system + '/accounts/' + account, digest(fresh));
  writeFileSync(file + '.new', fresh, { mode: 0o600 });
  renameSync(file + '.new', file);
} else rmSync(system + '/accounts/' + account);
const refused = !accepts(account, old);
process.stdout.write(JSON.stringify({ ...(action === 'rotate' ? { deliveredTo: 'file:' + file } : {}), probe: { refused, detail: refused ? '401 from ' + system.split('/').pop() + ' for ' + account : '200 OK' } }));
`;

export interface StandInSaas {
  /** argv of the rotation command for one system (its folder), delivering to `secretsDir`. */
  rotatorArgv(system: string, secretsDir: string): string[];
  /** Gives `account` on `system` the token `token` (the SaaS stores its SHA-256), and the service its 0600 file. */
  provision(system: string, secretsDir: string, account: string, token: string): void;
  /** The SaaS's own answer to `token` for `account`. */
  login(system: string, account: string, token: string): Promise<'accepted' | 'refused'>;
}

export function standInSaas(dir: string): StandInSaas {
  const program = join(dir, 'saas.mjs');
  writeFileSync(program, SAAS_SOURCE);
  chmodSync(program, 0o755);
  return {
    rotatorArgv: (system, secretsDir) => [process.execPath, program, 'rotator', system, secretsDir],
    provision(system, secretsDir, account, token) {
      mkdirSync(join(system, 'accounts'), { recursive: true });
      writeFileSync(join(system, 'accounts', account), createHash('sha256').update(token).digest('hex'));
      mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
      writeFileSync(join(secretsDir, `${account}.secret`), token, { mode: 0o600 });
    },
    async login(system, account, token) {
      const result = await runProcess([process.execPath, program, 'login', system, account], { stdin: token, timeoutMs: 20_000 });
      return result.exitCode === 0 ? 'accepted' : 'refused';
    },
  };
}
