import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BYTES, LogBuffer, parseFields } from '../src/client';
import { line } from './fakeSocket';

const entry = (seq: number, extra: Record<string, unknown> = {}) => ({ kind: 'line' as const, frame: line(seq, extra) as never });

describe('LogBuffer', () => {
  it('keeps at most maxRows, dropping the oldest and counting them', () => {
    const b = new LogBuffer(3);
    b.add('a', [1, 2, 3, 4, 5].map((n) => entry(n)));
    expect(b.view.map((r) => r.frame.message)).toEqual(['line 3', 'line 4', 'line 5']);
    expect([b.dropped, b.added]).toEqual([2, 5]);
  });

  it('merges sources in timestamp order and keeps a marker after its source\'s previous line', () => {
    const b = new LogBuffer(100);
    b.add('a', [entry(1), entry(4)]);
    b.add('b', [entry(2, { message: 'b2' }), entry(3, { message: 'b3' })]);
    b.add('b', [{ kind: 'gap', frame: { ...line(0), timestamp: '2099-01-01T00:00:00Z', message: 'gap', gap: { missed: 3, reason: 'slow_client' } } as never }]);
    expect(b.view.map((r) => `${r.source}:${r.frame.message}`)).toEqual(['a:line 1', 'b:b2', 'b:b3', 'b:gap', 'a:line 4']);
  });

  it('holds a line only once, by source, timestamp, output and text', () => {
    const b = new LogBuffer(100);
    b.add('a', [entry(1), entry(2)]);
    b.add('a', [entry(2), entry(3)]);
    b.add('b', [entry(2)]);
    expect(b.view.map((r) => `${r.source}:${r.frame.message}`)).toEqual(['a:line 1', 'a:line 2', 'b:line 2', 'a:line 3']);
    expect(b.duplicates).toBe(1);
  });

  it('counts the rows it drops per source: a busy source pushing out a quiet one\'s lines is said for the quiet one', () => {
    const b = new LogBuffer(4);
    b.add('quiet', [entry(1), entry(2)]);
    b.add('busy', [3, 4, 5, 6, 7].map((n) => entry(n, { message: `busy ${n}` })));
    expect(b.view.map((r) => r.source)).toEqual(['busy', 'busy', 'busy', 'busy']);
    expect([b.droppedFrom('quiet'), b.droppedFrom('busy'), b.droppedFrom('other'), b.dropped]).toEqual([2, 1, 0, 3]);
    b.clear();
    expect(b.droppedFrom('quiet')).toBe(0);
  });

  it('forgets the identity of a dropped line', () => {
    const b = new LogBuffer(1);
    b.add('a', [entry(1), entry(2)]);
    b.add('a', [entry(1)]);
    // Taken again (not refused as a duplicate), then dropped again as the oldest.
    expect([b.duplicates, b.added, b.dropped]).toEqual([0, 3, 2]);
  });
});

describe('parseFields', () => {
  it('expands JSON objects and logfmt, and leaves prose alone', () => {
    expect(parseFields('{"level":"error","n":3,"ctx":{"a":1}}')).toEqual({ level: 'error', n: '3', ctx: '{"a":1}' });
    expect(parseFields('level=info msg="hello world" n=3')).toEqual({ level: 'info', msg: 'hello world', n: '3' });
    expect(parseFields('just a=sentence')).toBeUndefined();
    expect(parseFields('{not json}')).toBeUndefined();
  });
});

describe('LogBuffer bounded by bytes', () => {
  const big = (seq: number, size: number) => entry(seq, { message: `${seq} ${'x'.repeat(size)}`, data: `${seq} ${'x'.repeat(size)}` });

  it('drops the oldest rows once the estimated bytes pass maxBytes, and says which bound it kept to', () => {
    const b = new LogBuffer({ maxRows: 1_000, maxBytes: 64 * 1024 });
    // (Seconds of the fixture's timestamps wrap at 60: stay below.)
    for (let i = 1; i <= 50; i++) b.add('a', [big(i, 4_000)]);
    // A row of 4,000 characters costs at least 8 KB (UTF-16) for its text alone: at most 8 fit in 64 KiB.
    expect(b.length).toBeGreaterThan(0);
    expect(b.length).toBeLessThanOrEqual(8);
    expect(b.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(b.dropped).toBe(50 - b.length);
    expect(b.droppedFor).toBe('bytes');
    expect(b.view[b.view.length - 1].frame.message.startsWith('50 ')).toBe(true);
  });

  it('keeps the newest row even when it alone is over the bound', () => {
    const b = new LogBuffer({ maxRows: 10, maxBytes: 1_024 });
    b.add('a', [big(1, 10_000)]);
    expect(b.length).toBe(1);
    b.add('a', [big(2, 10_000)]);
    expect(b.view.map((r) => r.frame.seq)).toEqual([2]);
  });

  it('the row bound still applies, the byte count follows drops and clear, and a bad bound is refused', () => {
    const b = new LogBuffer({ maxRows: 3 });
    expect(b.maxBytes).toBe(DEFAULT_MAX_BYTES);
    b.add('a', [1, 2, 3, 4].map((n) => entry(n)));
    expect([b.length, b.droppedFor]).toEqual([3, 'rows']);
    const three = b.bytes;
    expect(three).toBeGreaterThan(0);
    b.add('a', [entry(5)]);
    expect(b.bytes).toBeGreaterThan(three * 0.9);
    expect(b.bytes).toBeLessThan(three * 1.1);
    b.clear();
    expect([b.bytes, b.length, b.dropped]).toEqual([0, 0, 0]);
    expect(() => new LogBuffer({ maxBytes: 0 })).toThrow();
    expect(() => new LogBuffer({ maxRows: 0 })).toThrow();
  });
});
