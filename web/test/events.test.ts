import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HostEventsFeed } from '../src/app/events';
import { socketRecorder } from './fakeSocket';

function setup() {
  const rec = socketRecorder();
  const calls: string[] = [];
  const feed = new HostEventsFeed(
    { host: 'local', origin: 'http://svc.test', token: () => 'tok', socketFactory: rec.factory, random: () => 0.5 },
    {
      onEvent: (e) => calls.push(`event:${e.name}`),
      onResync: () => calls.push('resync'),
      onAuthError: (r) => calls.push(`auth:${r}`),
      onFatal: (r) => calls.push(`fatal:${r}`),
    }).start();
  return { rec, calls, feed };
}

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe('HostEventsFeed', () => {
  it('opens the host\'s feed and reads the listings again on connected and on a gap', () => {
    const t = setup();
    expect(t.rec.last().url).toBe('ws://svc.test/ws/hosts/local/events?token=tok');
    t.rec.last().send({ type: 'connected', host_id: 'local', since: 'x' });
    t.rec.last().send({ type: 'event', kind: 'container', action: 'start', id: '1', name: 'web-1' });
    t.rec.last().send({ type: 'gap', missed: 3, reason: 'slow_client' });
    expect(t.calls).toEqual(['resync', 'event:web-1', 'resync']);
  });

  it('retries upstream_failed and upstream_unavailable with a growing backoff, and re-lists on every reconnect', () => {
    const t = setup();
    t.rec.last().send({ type: 'connected' });
    t.rec.last().send({ type: 'error', code: 'upstream_failed', message: 'Docker said 500' });
    t.rec.last().drop(1011);
    vi.advanceTimersByTime(374);
    expect(t.rec.sockets).toHaveLength(1);
    vi.advanceTimersByTime(1); // attempt 0: 250 + 0.5 * 250
    expect(t.rec.sockets).toHaveLength(2);
    t.rec.last().send({ type: 'error', code: 'upstream_unavailable', message: 'no ping' });
    t.rec.last().drop(4503);
    vi.advanceTimersByTime(749);
    expect(t.rec.sockets).toHaveLength(2);
    vi.advanceTimersByTime(1); // attempt 1: 500 + 0.5 * 500
    expect(t.rec.sockets).toHaveLength(3);
    // The server was down: never connected ten times over, still retrying (capped at 10 s).
    for (let i = 0; i < 10; i++) { t.rec.last().drop(1006); vi.advanceTimersByTime(10_000); }
    expect(t.rec.sockets).toHaveLength(13);
    t.rec.last().send({ type: 'connected' });
    expect(t.calls).toEqual(['resync', 'resync']);
    expect(t.feed.reconnects).toBe(12);
  });

  it('a silent feed is reopened after the idle timeout', () => {
    const t = setup();
    t.rec.last().send({ type: 'connected' });
    vi.advanceTimersByTime(45_000);
    expect(t.rec.last().closedWith).toBe(4000);
    vi.advanceTimersByTime(1_000);
    expect(t.rec.sockets).toHaveLength(2);
  });

  it('stops on a refused token (telling the page) or an unknown host, and after stop()', () => {
    const auth = setup();
    auth.rec.last().send({ type: 'error', code: 'token_expired', message: 'expired' });
    auth.rec.last().drop(1008);
    const unknown = setup();
    unknown.rec.last().send({ type: 'error', code: 'unknown_host', message: 'no such host' });
    unknown.rec.last().drop(4404);
    const stopped = setup();
    stopped.feed.stop();
    vi.advanceTimersByTime(120_000);
    expect([auth.rec.sockets.length, unknown.rec.sockets.length, stopped.rec.sockets.length]).toEqual([1, 1, 1]);
    expect(auth.calls).toEqual(['auth:token_expired: expired']);
    expect(unknown.calls).toEqual(['fatal:unknown_host: no such host']);
    expect(stopped.rec.last().closedWith).toBe(1000);
  });
});
