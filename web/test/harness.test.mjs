// The browser tests' harness (e2e/harness.mjs) must not leave processes behind: a stop that is ignored ends in SIGKILL
// of the whole process group.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProcessGroup, freePort, killGroup } from '../e2e/harness.mjs';

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
