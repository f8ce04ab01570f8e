// What the browser tests stand on: the real service as a process on loopback, a real Docker engine, Debian's
// Chromium driven through playwright-core (no browser download), and tokens minted with the service's key.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(new URL('.', import.meta.url).pathname, '..', '..');

export function mintToken(key, role = 'viewer', { expiresIn = 3600, sub = 'web-e2e' } = {}) {
  const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ sub, type: 'access', role, exp: Math.floor(Date.now() / 1000) + expiresIn });
  const sig = createHmac('sha256', key).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
  });
}

/** Waits for a condition itself (never a fixed sleep), polling, with a generous timeout. */
export async function eventually(what, fn, timeoutMs = 30_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) { last = error; }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The service's Release build as a process; restartable on the same port so a page can reconnect to it. */
export class ServiceProcess {
  constructor({ engine, key, port, configuration = 'Release', extraEnv = {} }) {
    Object.assign(this, { engine, key, port, configuration, extraEnv });
    this.output = '';
  }
  get origin() { return `http://127.0.0.1:${this.port}`; }

  async start() {
    const dir = path.join(repoRoot, 'src', 'Api', 'bin', this.configuration, 'net10.0');
    const env = {
      ...process.env,
      Auth__SigningKey: this.key,
      Docker__DefaultHost: 'local',
      Docker__Hosts__local__Endpoint: this.engine,
      Viewer__Root: path.join(repoRoot, 'src', 'Api', 'wwwroot'),
      Logging__LogLevel__Default: 'Warning',
      'Logging__LogLevel__Microsoft.Hosting.Lifetime': 'Information',
      Logging__Console__FormatterName: 'simple',
      Streaming__ShutdownDrainWindow: '00:00:01',
      ...this.extraEnv,
    };
    this.child = spawn('dotnet', [path.join(dir, 'LogsMigration.Api.dll'), '--urls', this.origin], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.exited = exited;
    const listening = new Promise((resolve) => {
      const onData = (chunk) => {
        this.output += chunk;
        if (this.output.includes('Now listening on:')) resolve(true);
      };
      this.child.stdout.on('data', onData);
      this.child.stderr.on('data', onData);
    });
    const result = await Promise.race([listening, exited, new Promise((r) => setTimeout(() => r('timeout'), 60_000))]);
    if (result !== true) {
      this.child.kill('SIGKILL');
      throw new Error(`the service did not start (${JSON.stringify(result)}):\n${this.output}`);
    }
  }

  /** SIGKILL (a crash) or SIGTERM (a graceful stop: every session gets `disconnected`, reconnect true). */
  async stop(signal = 'SIGTERM') {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill(signal);
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 60_000))]);
  }
}

export function docker(engine, ...args) {
  return execFileSync('/usr/bin/docker', ['-H', engine, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function removeContainer(engine, name) {
  try { docker(engine, 'rm', '-f', name); } catch { /* not there */ }
}

export function removeService(engine, name) {
  try { docker(engine, 'service', 'rm', name); } catch { /* not there */ }
}

/** Debian's Chromium with the flags this machine needs (no sandbox as root, no background networking). */
export async function launchChromium() {
  return chromium.launch({
    executablePath: process.env.LOGS_WEB_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** Fresh key per run: the service is ours alone. */
export const signingKey = () => randomBytes(32).toString('hex');
