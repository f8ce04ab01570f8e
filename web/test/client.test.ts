import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LogBuffer, LogStreamClient, type ReceivedEntry, type StreamStatus } from '../src/client';
import { line, socketRecorder } from './fakeSocket';

function setup(request = { sourceType: 'container' as const, resourceId: 'web-1' }) {
  const rec = socketRecorder();
  const entries: ReceivedEntry[] = [];
  const statuses: StreamStatus[] = [];
  const errors: string[] = [];
  const client = new LogStreamClient(
    { request, endpoint: { origin: 'http://svc.test' }, token: () => 'tok', socketFactory: rec.factory, random: () => 0.5 },
    {
      onEntries: (e) => entries.push(...e),
      onStatus: (s) => statuses.push(s),
      onError: (f) => errors.push(f.code ?? ''),
    });
  client.start();
  return { rec, entries, statuses, errors, client, messages: () => entries.filter((e) => e.kind === 'line').map((e) => e.frame.message) };
}

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe('LogStreamClient', () => {
  it('opens the route with the guide defaults and batch frames, and unpacks batches in order', () => {
    const t = setup();
    expect(t.rec.sockets).toHaveLength(1);
    const p = t.rec.last().params;
    expect([p.get('tail'), p.get('follow'), p.get('timestamps'), p.get('format'), p.get('token')]).toEqual(['100', 'true', 'true', 'batch', 'tok']);
    t.rec.last().send({ type: 'connected', message: 'hi', timestamp: 'now' });
    t.rec.last().send({ type: 'batch', entries: [line(1), line(2), line(3)], count: 3 });
    t.rec.last().send(line(4));
    expect(t.messages()).toEqual(['line 1', 'line 2', 'line 3', 'line 4']);
    expect(t.client.status).toBe('live');
    expect(t.client.cursor).toBe('cur-4');
  });

  it('after a dropped socket reconnects with backoff and resumes from the last cursor, without the tail', () => {
    const t = setup();
    t.rec.last().send({ type: 'connected', message: '', timestamp: '' });
    t.rec.last().send({ type: 'batch', entries: [line(1), line(2)], count: 2 });
    t.rec.last().drop(1006);
    expect(t.client.status).toBe('reconnecting');
    vi.advanceTimersByTime(374);
    expect(t.rec.sockets).toHaveLength(1);
    vi.advanceTimersByTime(1); // attempt 0: 250 + 0.5 * 250 = 375 ms
    expect(t.rec.sockets).toHaveLength(2);
    expect(t.rec.last().params.get('resume')).toBe('cur-2');
    // A second drop before `connected` waits longer: the backoff grows until a connection succeeds.
    t.rec.last().drop(1006);
    vi.advanceTimersByTime(749);
    expect(t.rec.sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(t.rec.sockets).toHaveLength(3);
    t.rec.last().send({ type: 'connected', message: '', timestamp: '' });
    t.rec.last().send({ type: 'batch', entries: [line(3)], count: 1 });
    expect(t.messages()).toEqual(['line 1', 'line 2', 'line 3']);
    expect(t.client.reconnects).toBe(2);
  });

  it('drops an entry of the same epoch whose seq it already delivered', () => {
    const t = setup();
    t.rec.last().send({ type: 'batch', entries: [line(1), line(2), line(3)], count: 3 });
    t.rec.last().send({ type: 'batch', entries: [line(2), line(3), line(4)], count: 3 });
    t.rec.last().send({ type: 'batch', entries: [line(1, { epoch: 'e2', cursor: 'new-1' })], count: 1 });
    expect(t.messages()).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 1']);
  });

  it('on disconnected with reconnect:true (a drain, a server stop) comes back at once with the cursor', () => {
    const t = setup();
    t.rec.last().send({ type: 'connected', message: '', timestamp: '' });
    t.rec.last().send(line(7));
    t.rec.last().send({ type: 'disconnected', message: 'bye', reconnect: true });
    t.rec.last().drop(1012);
    vi.advanceTimersByTime(200);
    expect(t.rec.sockets).toHaveLength(2);
    expect(t.rec.last().params.get('resume')).toBe('cur-7');
  });

  it('does not reconnect after a fatal error, a completed history or a stopped source', () => {
    const expired = setup();
    expired.rec.last().send({ type: 'error', code: 'token_expired', message: 'expired' });
    expired.rec.last().drop(1008);
    vi.advanceTimersByTime(60_000);
    expect(expired.rec.sockets).toHaveLength(1);
    expect(expired.client.status).toBe('failed');
    expect(expired.errors).toEqual(['token_expired']);

    // A host without a daemon log (issue 11's not_available) will not grow one by asking again.
    const absent = setup({ sourceType: 'daemon', resourceId: 'edge' } as never);
    absent.rec.last().send({ type: 'error', code: 'not_available', message: 'No Docker daemon log on this machine' });
    absent.rec.last().drop(4404);
    vi.advanceTimersByTime(60_000);
    expect([absent.rec.sockets.length, absent.client.status]).toEqual([1, 'failed']);

    const done = setup();
    done.rec.last().send({ type: 'complete', message: 'History sent.' });
    done.rec.last().drop(1000);
    const stopped = setup();
    stopped.rec.last().send({ type: 'disconnected', message: 'The container exited.' });
    stopped.rec.last().drop(1000);
    vi.advanceTimersByTime(60_000);
    expect([done.rec.sockets.length, stopped.rec.sockets.length]).toEqual([1, 1]);
    expect([done.client.status, stopped.client.status]).toEqual(['ended', 'ended']);
  });

  it('retries an error the server may recover from (upstream_unavailable)', () => {
    const t = setup();
    t.rec.last().send({ type: 'error', code: 'upstream_unavailable', message: 'down' });
    t.rec.last().drop(4503);
    vi.advanceTimersByTime(10_000);
    expect(t.rec.sockets.length).toBeGreaterThan(1);
  });

  it('passes gap markers and notices on as rows, and turns upstream_retrying into a status until resumed', () => {
    const t = setup();
    t.rec.last().send({ type: 'connected', message: '', timestamp: '' });
    const gap = { ...line(0), seq: undefined, epoch: undefined, cursor: undefined, message: '[logs] 12 lines were skipped', gap: { missed: 12, reason: 'slow_client' } };
    const retrying = { ...line(0), seq: undefined, epoch: undefined, cursor: undefined, message: 'retrying', notice: { kind: 'upstream_retrying' } };
    const resumed = { ...retrying, message: 'resumed', notice: { kind: 'upstream_resumed' } };
    t.rec.last().send({ type: 'batch', entries: [line(1)], count: 1 });
    t.rec.last().send(gap);
    t.rec.last().send(retrying);
    expect(t.client.status).toBe('retrying');
    t.rec.last().send(resumed);
    t.rec.last().send({ type: 'batch', entries: [line(2)], count: 1 });
    expect(t.client.status).toBe('live');
    expect(t.entries.map((e) => e.kind)).toEqual(['line', 'gap', 'notice', 'notice', 'line']);
    expect(t.client.cursor).toBe('cur-2');
  });

  it('gives up on a silent socket after the idle timeout and reconnects', () => {
    const t = setup();
    t.rec.last().send({ type: 'connected', message: '', timestamp: '' });
    t.rec.last().send(line(1));
    vi.advanceTimersByTime(45_000);
    expect(t.client.status).toBe('reconnecting');
    vi.advanceTimersByTime(1_000);
    expect(t.rec.sockets).toHaveLength(2);
    expect(t.rec.last().params.get('resume')).toBe('cur-1');
  });

  it('stop closes the socket and never reconnects', () => {
    const t = setup();
    const socket = t.rec.last();
    t.client.stop();
    expect(socket.closedWith).toBe(1000);
    vi.advanceTimersByTime(60_000);
    expect(t.rec.sockets).toHaveLength(1);
    expect(t.client.status).toBe('stopped');
  });
});

describe('LogStreamClient and LogBuffer: a refused resume cursor', () => {
  it('reconnects without the cursor (tail), shows a row saying the position was lost, and repeats no line', () => {
    const t = setup();
    const buffer = new LogBuffer(100);
    const held = () => buffer.view.map((r) => (r.kind === 'line' ? r.frame.message : `${r.kind}:${r.frame.gap?.reason}`));
    t.rec.last().send({ type: 'connected', message: '', timestamp: '' });
    t.rec.last().send({ type: 'batch', entries: [line(1), line(2), line(3)], count: 3 });
    buffer.add('a', t.entries.splice(0));
    t.rec.last().drop(1006);
    vi.advanceTimersByTime(375);
    expect(t.rec.last().params.get('resume')).toBe('cur-3');
    // The server refuses the cursor (a container recreated under the same name, a cursor of another format).
    t.rec.last().send({ type: 'error', code: 'invalid_parameter', parameter: 'resume', message: 'The cursor names another container.' });
    t.rec.last().drop(4400);
    expect(t.client.status).not.toBe('failed');
    expect(t.errors).toEqual(['invalid_parameter']);
    vi.advanceTimersByTime(200);
    expect(t.rec.sockets).toHaveLength(3);
    expect(t.rec.last().params.get('resume')).toBeNull();
    expect(t.rec.last().params.get('tail')).toBe('100');
    // The tail repeats lines the view holds (a new life of the stream: new epoch, so the seq check cannot help).
    t.rec.last().send({ type: 'connected', message: '', timestamp: '' });
    t.rec.last().send({ type: 'batch', entries: [line(2, { epoch: 'e2' }), line(3, { epoch: 'e2' }), line(4, { epoch: 'e2' })], count: 3 });
    buffer.add('a', t.entries.splice(0));
    expect(held()).toEqual(['line 1', 'line 2', 'line 3', 'gap:resume_refused', 'line 4']);
    expect(buffer.duplicates).toBe(2);
    const gap = buffer.view.find((r) => r.kind === 'gap')!;
    expect(gap.frame.gap?.missed).toBe(-1);
    expect(gap.frame.message).toContain('The cursor names another container.');
    expect(t.client.status).toBe('live');
    expect(t.client.cursor).toBe('cur-4');
  });

  it('owes a gap row until a line with a cursor arrives, but one row per hole: failed reconnects and an empty tail socket add none', () => {
    const t = setup();
    const gaps = () => t.entries.filter((e) => e.kind === 'gap').map((e) => e.frame.gap?.reason);
    t.rec.last().send({ type: 'connected', message: '', timestamp: '' });
    t.rec.last().send({ type: 'batch', entries: [line(1), line(2), line(3)], count: 3 });
    t.rec.last().drop(1006);
    vi.advanceTimersByTime(375);
    t.rec.last().send({ type: 'error', code: 'invalid_parameter', parameter: 'resume', message: 'The cursor names another container.' });
    t.rec.last().drop(4400);
    vi.advanceTimersByTime(200);
    expect(gaps()).toEqual(['resume_refused']);
    // The tail socket drops before its first line: still no position, but no line came since the row, so the
    // hole it marks is the same one: the next tail adds no row.
    expect(t.rec.last().params.get('resume')).toBeNull();
    t.rec.last().send({ type: 'connected', message: '', timestamp: '' });
    t.rec.last().drop(1006);
    vi.advanceTimersByTime(1_000);
    expect(t.rec.sockets).toHaveLength(4);
    expect(t.rec.last().params.get('resume')).toBeNull();
    expect(gaps()).toEqual(['resume_refused']);
    expect(t.client.gapOwed).toBe(true);
    // An outage: attempts that never connect add no row either.
    for (let i = 0; i < 8; i++) { t.rec.last().drop(1006); vi.advanceTimersByTime(10_000); }
    expect(t.rec.sockets).toHaveLength(12);
    expect(gaps()).toEqual(['resume_refused']);
    // A line with a cursor settles the debt: the next reconnect resumes from it, without a row.
    t.rec.last().send({ type: 'connected', message: '', timestamp: '' });
    t.rec.last().send({ type: 'batch', entries: [line(9, { epoch: 'e2' })], count: 1 });
    t.rec.last().drop(1006);
    vi.advanceTimersByTime(1_000);
    expect(t.rec.last().params.get('resume')).toBe('cur-9');
    expect(gaps()).toEqual(['resume_refused']);
    expect(t.client.gapOwed).toBe(false);
  });

  it('lines without cursors: each reconnect after new lines shows one position_lost row, failed attempts none', () => {
    const t = setup();
    const gaps = () => t.entries.filter((e) => e.kind === 'gap').map((e) => e.frame.gap?.reason);
    t.rec.last().send({ type: 'connected', message: '', timestamp: '' });
    t.rec.last().send({ type: 'batch', entries: [line(1, { cursor: undefined }), line(2, { cursor: undefined })], count: 2 });
    expect(t.client.gapOwed).toBe(true);
    t.rec.last().drop(1006);
    vi.advanceTimersByTime(1_000);
    expect(t.rec.sockets).toHaveLength(2);
    expect(t.rec.last().params.get('resume')).toBeNull();
    expect(gaps()).toEqual(['position_lost']);
    const row = t.entries.find((e) => e.kind === 'gap')!.frame;
    expect([row.gap?.missed, row.metadata?.gap_reason]).toEqual([-1, 'position_lost']);
    expect(row.message).toMatch(/could not be resumed/);
    // A 60 s outage: every attempt fails before connecting; the hole is still the one the row marks.
    for (let i = 0; i < 10; i++) { t.rec.last().drop(1006); vi.advanceTimersByTime(10_000); }
    expect(t.rec.sockets.length).toBeGreaterThanOrEqual(10);
    expect(gaps()).toEqual(['position_lost']);
    // New lines, then a drop: a new hole after them, one more row.
    t.rec.last().send({ type: 'connected', message: '', timestamp: '' });
    t.rec.last().send({ type: 'batch', entries: [line(3, { cursor: undefined })], count: 1 });
    t.rec.last().drop(1006);
    vi.advanceTimersByTime(1_000);
    expect(gaps()).toEqual(['position_lost', 'position_lost']);
  });

  it('a socket that drops before any line was shown reconnects with the tail and no row (nothing was lost in the view)', () => {
    const t = setup();
    t.rec.last().drop(1006);
    vi.advanceTimersByTime(1_000);
    expect(t.rec.sockets).toHaveLength(2);
    expect(t.entries.filter((e) => e.kind === 'gap')).toEqual([]);
  });

  it('a refusal of another parameter, or of resume on a connection that sent none, stays fatal', () => {
    const filter = setup();
    filter.rec.last().send({ type: 'error', code: 'invalid_parameter', parameter: 'filter', message: 'bad regex' });
    filter.rec.last().drop(4400);
    vi.advanceTimersByTime(60_000);
    expect([filter.rec.sockets.length, filter.client.status]).toEqual([1, 'failed']);

    const noCursor = setup();
    noCursor.rec.last().send({ type: 'error', code: 'invalid_parameter', parameter: 'resume', message: '?' });
    noCursor.rec.last().drop(4400);
    vi.advanceTimersByTime(60_000);
    expect([noCursor.rec.sockets.length, noCursor.client.status]).toEqual([1, 'failed']);
  });

  it('counts the lines it drops as already delivered (same epoch, seq seen)', () => {
    const t = setup();
    t.rec.last().send({ type: 'batch', entries: [line(1), line(2)], count: 2 });
    t.rec.last().send({ type: 'batch', entries: [line(2), line(3)], count: 2 });
    expect(t.client.duplicates).toBe(1);
  });
});
