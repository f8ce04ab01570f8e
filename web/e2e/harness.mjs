// What the browser tests stand on: the real service as a process on loopback, a real Docker engine, Debian's
// Chromium driven through playwright-core (no browser download), and tokens minted with the service's key.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(new URL('.', import.meta.url).pathname, '..', '..');

// --- cleanup: every process group this run started ends with it, whatever ends the run ---
// The service and Chromium run in process groups of their own; on exit, on SIGINT/SIGTERM/SIGHUP and on an uncaught
// error each group gets SIGKILL (before the registered cleanups remove the workloads), so a failed or interrupted run
// leaves neither running. LOGS_WEB_PIDFILE lists the groups while they live: scripts/web.sh kills what is left in it
// if this process itself was killed (SIGKILL cannot be caught).
const groups = new Set();
const cleanups = [];
const pidFile = process.env.LOGS_WEB_PIDFILE;
function writePidFile() {
  if (!pidFile) return;
  try { writeFileSync(pidFile, [...groups].map((g) => `${g}\n`).join('')); } catch { /* best effort */ }
}
export function trackGroup(pid) { groups.add(pid); writePidFile(); }
export function untrackGroup(pid) { groups.delete(pid); writePidFile(); }
/**
 * Signals a whole process group by its leader's pid (every group here is one: the service and Chromium are spawned
 * detached). Never the pid alone: once the leader has exited its pid may belong to an unrelated process, while the
 * group's id stays reserved as long as a member lives.
 */
export function killGroup(pid, signal) {
  try { process.kill(-pid, signal); return true; } catch { return false; }
}
/** Runs at the end of the run however it ends (synchronous work only on exit: removing containers is). */
export function onCleanup(fn) { cleanups.push(fn); }
let cleaned = false;
function cleanupNow() {
  if (cleaned) return;
  cleaned = true;
  // The processes first (a service still running would watch, and log errors about, the containers going away),
  // then the workloads.
  for (const pid of groups) killGroup(pid, 'SIGKILL');
  groups.clear();
  writePidFile();
  for (const fn of cleanups.splice(0).reverse()) { try { fn(); } catch { /* keep going */ } }
}
/** Installs the exit and signal handlers (run.mjs does, first thing). */
export function installCleanup() {
  process.on('exit', cleanupNow);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
    process.on(signal, () => {
      console.log(`web browser tests: interrupted by ${signal}; stopping the service and Chromium`);
      // Asked nicely first, then the exit handler's SIGKILL; a second signal does not wait.
      for (const pid of groups) killGroup(pid, 'SIGTERM');
      setTimeout(() => process.exit(code), 2_000).unref();
      process.once(signal, () => process.exit(code));
    });
  }
  process.on('uncaughtException', (error) => { console.log(`FAIL uncaught: ${error.stack ?? error}`); process.exit(1); });
  process.on('unhandledRejection', (error) => { console.log(`FAIL unhandled rejection: ${error?.stack ?? error}`); process.exit(1); });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A command in its own process group, stopped by signalling the group: `signal` first, then SIGKILL when it has not
 * exited within `graceMs`. Tracked for the exit cleanup while it runs.
 */
export class ProcessGroup {
  constructor(command, args, options = {}) {
    this.child = spawn(command, args, { ...options, detached: true });
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    if (this.pid) {
      trackGroup(this.pid);
      // The leader gone, nothing of the group may stay behind (a grandchild holding the port).
      this.exited.then(() => { killGroup(this.pid, 'SIGKILL'); untrackGroup(this.pid); });
    }
  }
  get running() { return this.child.exitCode === null && this.child.signalCode === null; }

  /** Resolves with how it ended: `{ code, signal, killed }` (killed: SIGKILL was needed after the grace). */
  async stop(signal = 'SIGTERM', graceMs = 20_000) {
    if (!this.running) return { ...(await this.exited), killed: false };
    killGroup(this.pid, signal);
    const ended = await Promise.race([this.exited, sleep(graceMs).then(() => undefined)]);
    if (ended) return { ...ended, killed: false };
    killGroup(this.pid, 'SIGKILL');
    const after = await Promise.race([this.exited, sleep(30_000).then(() => undefined)]);
    if (!after) throw new Error(`process group ${this.pid} survived SIGKILL`);
    return { ...after, killed: true };
  }
}

export function mintToken(key, role = 'viewer', { expiresIn = 3600, sub = 'web-e2e' } = {}) {
  const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ sub, type: 'access', role, exp: Math.floor(Date.now() / 1000) + expiresIn });
  const sig = createHmac('sha256', key).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

function ephemeralRange() {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo > 0 && hi >= lo) return [lo, hi];
  } catch { /* not Linux */ }
  return [32768, 60999];
}

function tryListen(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => { const p = server.address().port; server.close(() => resolve(p)); });
  });
}

/**
 * A free loopback port for the service, drawn at random below the kernel's ephemeral range: a port the kernel hands
 * out (port 0) is what every other run and every outgoing connection gets too, and ours must stay ours while the
 * service is restarted on it. Checked free by binding it; the service's own start retries on a port taken meanwhile.
 */
export async function freePort() {
  const [ephemeralLow] = ephemeralRange();
  const low = 20_000, high = Math.max(low + 1000, ephemeralLow) - 1;
  for (let i = 0; i < 50; i++) {
    const candidate = low + Math.floor(Math.random() * (high - low));
    const port = await tryListen(candidate);
    if (port) return port;
  }
  return tryListen(0);
}

// --- the running test's abort: a test that timed out must stop before the next one starts ---
// Promise.race cannot cancel a test: after its timeout the runner aborts this signal, and every wait of the harness
// (eventually, the service's start and stop) throws at its next check, so the test ends instead of restarting or
// killing the service under the next test.
let testSignal;
export function setTestSignal(signal) { testSignal = signal; }
export function throwIfAborted() {
  if (testSignal?.aborted) throw new Error(`aborted: ${testSignal.reason?.message ?? testSignal.reason ?? 'the test timed out'}`);
}

const abortError = (signal) => new Error(`aborted: ${signal.reason?.message ?? signal.reason ?? 'the test timed out'}`);

/**
 * `promise`, or a rejection (`final: true`) at the deadline or at once when `signal` aborts, whichever comes first:
 * a check that hangs (a page call that never answers) cannot hold a wait past its timeout.
 */
function raceDeadline(promise, deadline, signal, timeoutError) {
  let timer, onAbort;
  const stop = new Promise((_, reject) => {
    if (Number.isFinite(deadline)) timer = setTimeout(() => reject(Object.assign(timeoutError(), { final: true })), Math.max(0, deadline - Date.now()));
    if (!signal) return;
    onAbort = () => reject(Object.assign(abortError(signal), { final: true }));
    if (signal.aborted) onAbort(); else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, stop]).finally(() => { clearTimeout(timer); signal?.removeEventListener('abort', onAbort); });
}

/**
 * Waits for a condition itself (never a fixed sleep), polling, with a generous timeout, which also bounds a check that
 * hangs; rejects at once when the signal of the test that started it aborts (kept: a wait a test left running stays
 * aborted after the next test's signal is set).
 */
export async function eventually(what, fn, timeoutMs = 30_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  const signal = testSignal;
  let last;
  const timedOut = () => new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    try {
      const value = await raceDeadline((async () => fn())(), deadline, signal, () => new Error(`timed out after ${timeoutMs} ms waiting for ${what} (the check did not answer)`));
      if (value) return value;
    } catch (error) {
      if (error?.final) throw error;
      last = error;
    }
    if (Date.now() > deadline) throw timedOut();
    await raceDeadline(new Promise((r) => setTimeout(r, everyMs)), Infinity, signal, timedOut);
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
    throwIfAborted();
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
    this.group = new ProcessGroup('dotnet', [path.join(dir, 'LogsMigration.Api.dll'), '--urls', this.origin], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = this.group.child;
    const exited = this.group.exited;
    this.exited = exited;
    const started = this.output.length;
    const listening = new Promise((resolve) => {
      const onData = (chunk) => {
        this.output += chunk;
        if (this.output.slice(started).includes('Now listening on:')) resolve(true);
      };
      this.child.stdout.on('data', onData);
      this.child.stderr.on('data', onData);
    });
    const result = await Promise.race([listening, exited, sleep(90_000).then(() => 'timeout')]);
    if (result !== true) {
      await this.group.stop('SIGKILL', 5_000).catch(() => {});
      const inUse = /address already in use/i.test(this.output.slice(started));
      throw Object.assign(new Error(`the service did not start (${JSON.stringify(result)}):\n${this.output.slice(started)}`), { inUse });
    }
  }

  /**
   * Starts the service, on a new free port if its port was taken by someone else before the first start (never
   * after: a page reconnects to the port it knows).
   */
  async startFresh() {
    for (let attempt = 0; ; attempt++) {
      try { return await this.start(); } catch (error) {
        if (!error.inUse || attempt >= 4) throw error;
        this.port = await freePort();
      }
    }
  }

  /**
   * SIGKILL (a crash) or SIGTERM (a graceful stop: every session gets `disconnected`, reconnect true), to the
   * service's process group; SIGKILL follows when it has not exited within `graceMs`. `runner: true` is the runner's
   * own stop at the end, which a test's aborted signal (left set while that test still runs) must not refuse.
   */
  async stop(signal = 'SIGTERM', graceMs = 30_000, { runner = false } = {}) {
    if (!runner) throwIfAborted();
    if (!this.group || !this.group.running) return;
    const ended = await this.group.stop(signal, graceMs);
    if (ended.killed) console.log(`  the service ignored ${signal} for ${graceMs / 1000} s: killed`);
  }
  get running() { return !!this.group?.running; }
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

function childPids() {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid) out.push(Number(entry));
    } catch { /* gone */ }
  }
  return out;
}

/**
 * Debian's Chromium with the flags this machine needs (no sandbox as root, no background networking). Playwright
 * talks to it over a pipe (no port). Its own signal handlers are off: ours (above) end it with everything else,
 * and its process group is tracked like the service's.
 */
export async function launchChromium() {
  const before = new Set(childPids());
  const browser = await chromium.launch({
    executablePath: process.env.LOGS_WEB_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const pids = childPids().filter((p) => !before.has(p));
  for (const pid of pids) trackGroup(pid);
  const close = browser.close.bind(browser);
  browser.close = async () => {
    await Promise.race([close(), sleep(20_000)]).catch(() => {});
    for (const pid of pids) { killGroup(pid, 'SIGKILL'); untrackGroup(pid); }
  };
  return browser;
}

/** Fresh key per run: the service is ours alone. */
export const signingKey = () => randomBytes(32).toString('hex');
