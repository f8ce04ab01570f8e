// The browser tests' harness (e2e/harness.mjs) must not leave processes behind: a stop that is ignored ends in SIGKILL
// of the whole process group.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProcessGroup, eventually, freePort, killGroup, setTestSignal } from '../e2e/harness.mjs';

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

async function until(what, fn, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('e2e harness: ProcessGroup', () => {
  it('kills a group that ignores SIGTERM with SIGKILL after the grace, its children included', async () => {
    // A shell that ignores TERM, with a child of its own that ignores it too; it prints the child's pid.
    const group = new ProcessGroup('sh', ['-c', 'trap "" TERM; sh -c \'trap "" TERM; while :; do sleep 1; done\' & echo $!; while :; do sleep 1; done'], { stdio: ['ignore', 'pipe', 'ignore'] });
    // Loops that ignore TERM: whatever assertion fails first, they do not outlive the test.
    try {
      let out = '';
      group.child.stdout.on('data', (c) => { out += c; });
      await until('the grandchild\'s pid', () => /\d+\n/.test(out));
      const grandchild = Number(out.trim());
      expect(alive(grandchild)).toBe(true);
      const ended = await group.stop('SIGTERM', 300);
      expect(ended).toMatchObject({ killed: true, signal: 'SIGKILL' });
      await until('the grandchild to be gone', () => !alive(grandchild));
    } finally { killGroup(group.pid, 'SIGKILL'); }
  }, 60_000);

  it('a group that honours SIGTERM needs no SIGKILL', async () => {
    const group = new ProcessGroup('sh', ['-c', 'while :; do sleep 1; done'], { stdio: 'ignore' });
    try {
      const ended = await group.stop('SIGTERM', 30_000);
      expect(ended).toMatchObject({ killed: false, signal: 'SIGTERM' });
      expect(group.running).toBe(false);
    } finally { killGroup(group.pid, 'SIGKILL'); }
  }, 60_000);

  it('hands out loopback ports below the kernel\'s ephemeral range', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThanOrEqual(20_000);
    const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    expect(port).toBeLessThan(Math.max(21_000, ephemeralLow));
  });
});

describe('e2e harness: eventually', () => {
  const hangs = () => new Promise(() => {});

  it('a check that never answers fails at the wait\'s timeout, not later', async () => {
    const t0 = Date.now();
    await expect(eventually('a hanging check', hangs, 300)).rejects.toThrow(/timed out after 300 ms waiting for a hanging check/);
    // Not a tight bound: only that it did not wait for the hung call (which never ends).
    expect(Date.now() - t0).toBeLessThan(20_000);
  }, 30_000);

  it('rejects at once when the test\'s signal aborts, during a hanging check and between checks', async () => {
    for (const fn of [hangs, async () => false]) {
      const controller = new AbortController();
      setTestSignal(controller.signal);
      try {
        const waiting = eventually('something', fn, 120_000);
        setTimeout(() => controller.abort(new Error('the test timed out')), 50);
        await expect(waiting).rejects.toThrow(/aborted: the test timed out/);
      } finally { setTestSignal(undefined); }
    }
  }, 30_000);

  it('a wait keeps its own test\'s signal: aborted later, it stops even after the signal was reset', async () => {
    const controller = new AbortController();
    setTestSignal(controller.signal);
    const waiting = eventually('something', hangs, 120_000);
    setTestSignal(undefined);
    controller.abort(new Error('the test ended'));
    await expect(waiting).rejects.toThrow(/aborted: the test ended/);
  }, 30_000);
});

describe('e2e harness: killGroup', () => {
  it('of a child that is not a group leader returns false and leaves it running', async () => {
    const child = spawn('sh', ['-c', 'while :; do sleep 1; done'], { stdio: 'ignore' });
    try {
      await until('the child to start', () => child.pid !== undefined && alive(child.pid));
      expect(killGroup(child.pid, 'SIGKILL')).toBe(false);
      expect(alive(child.pid)).toBe(true);
      expect(child.exitCode).toBeNull();
    } finally { child.kill('SIGKILL'); }
  }, 30_000);
});
