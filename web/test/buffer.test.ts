import { describe, expect, it } from 'vitest';
import { LogBuffer, parseFields } from '../src/client';
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
