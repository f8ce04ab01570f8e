// The workloads the browser tests watch, on the test engine; every name starts with web-e2e- and is removed after.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { docker, removeContainer, removeService } from './harness.mjs';

const IMAGE = 'local/busybox:latest';

/** Numbered lines at about 10 a second: info, debug, a JSON warning and an error on stderr in every ten. */
export const LEVELS_SCRIPT = 'i=0; while true; do i=$((i+1)); case $((i % 10)) in '
  + '0) echo "level=error n=$i payment failed code=502" >&2;; '
  + '3) echo "{\\"level\\":\\"warn\\",\\"n\\":$i,\\"msg\\":\\"slow request\\",\\"ms\\":830}";; '
  + '7) echo "level=debug n=$i cache miss key=user:$i";; '
  + '*) echo "level=info n=$i request handled path=/api/items/$i";; esac; sleep 0.1; done';

export function startContainer(engine, name, script, extra = []) {
  removeContainer(engine, name);
  docker(engine, 'run', '-d', '--name', name, ...extra, IMAGE, 'sh', '-c', script);
}

export function startService(engine, name, replicas, script) {
  removeService(engine, name);
  docker(engine, 'service', 'create', '-d', '--name', name, '--replicas', String(replicas), IMAGE, 'sh', '-c', script);
}

export async function deployStack(engine, name) {
  const dir = mkdtempSync(path.join(tmpdir(), 'web-e2e-stack-'));
  const file = path.join(dir, 'stack.yml');
  // A compose file interpolates `$`: the shell's own are written `$$`.
  const script = (word) => `i=0; while true; do i=$((i+1)); echo "level=info n=$i ${word} tick"; if [ $((i % 7)) -eq 0 ]; then echo "level=warn n=$i ${word} queue is long"; fi; if [ $((i % 11)) -eq 0 ]; then echo "level=error n=$i ${word} upstream timed out" >&2; fi; sleep 0.3; done`;
  const svc = (word) => ({ image: IMAGE, command: ['sh', '-c', script(word).replaceAll('$', '$$$$')] });
  writeFileSync(file, JSON.stringify({ version: '3.8', services: { api: svc('api'), worker: svc('worker') } }));
  // A stack removed a moment ago (the last run's) may still be taking its network down: deploy again until it takes.
  const deadline = Date.now() + 60_000;
  for (;;) {
    try { docker(engine, 'stack', 'deploy', '-c', file, name); return; } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

export function removeStack(engine, name) {
  try { docker(engine, 'stack', 'rm', name); } catch { /* not there */ }
}

/** The number a fixture line carries (`n=42` or `"n":42`), or undefined. */
export function numberOf(message) {
  const m = /(?:\bn=|"n":)(\d+)/.exec(message);
  return m ? Number(m[1]) : undefined;
}
