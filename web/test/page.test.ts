// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { describeToken, storedToken, takeTokenFromFragment } from '../src/app/auth';
import { pauseView, readViewState, toRequest, writeViewState } from '../src/app/viewState';
import { LogBuffer } from '../src/client';
import { line } from './fakeSocket';
import { highlightSegments } from '../src/app/highlight';

describe('the token in the URL fragment', () => {
  it('is stored in sessionStorage and removed from the address, keeping the rest of the URL', () => {
    history.replaceState(null, '', '/?src=container:local:web-1#token=a.b.c&x=1');
    takeTokenFromFragment();
    expect(storedToken()).toBe('a.b.c');
    expect(localStorage.length).toBe(0);
    expect(location.hash).toBe('#x=1');
    expect(location.search).toBe('?src=container:local:web-1');
  });

  it('tells an expired or refresh token from a valid one, without trusting it', () => {
    const jwt = (claims: object) => `e30.${btoa(JSON.stringify(claims)).replace(/=+$/, '')}.sig`;
    expect(describeToken(jwt({ sub: 'u', role: 'viewer', exp: 2_000_000_000, type: 'access' }))).toMatchObject({ subject: 'u', role: 'viewer', expiresAt: 2_000_000_000_000 });
    expect(describeToken(jwt({ type: 'refresh' }))).toEqual({ error: 'This is a refresh token; paste an access token.' });
    expect(describeToken('nope')).toHaveProperty('error');
  });
});

describe('the shareable view state', () => {
  it('round-trips sources and the query, readable and without the token', () => {
    const search = '?src=container:local:web-1&src=service:edge:api&filter=err(or)?&levels=error,critical&since=15m';
    const state = readViewState(search);
    expect(state.sources).toEqual([{ kind: 'container', host: 'local', id: 'web-1' }, { kind: 'service', host: 'edge', id: 'api' }]);
    expect(state.query).toMatchObject({ filter: 'err(or)?', levels: ['error', 'critical'], since: '15m' });
    const written = writeViewState(state);
    expect(written).toContain('src=container:local:web-1');
    expect(readViewState(written)).toEqual(state);
    expect(readViewState('?src=bogus:x:y&src=container::').sources).toEqual([]);
  });

  it('asks the server for the filter, frame timestamps instead of text prefixes, and history then live', () => {
    const q = readViewState('?filter=error&until=2026-12-01T10:00:00Z').query;
    expect(toRequest({ kind: 'daemon', host: 'edge', id: 'edge' }, q, 200)).toMatchObject({
      sourceType: 'daemon', resourceId: 'edge', hostId: 'edge', tail: 200, timestamps: false, follow: false, filter: 'error', progress: true,
    });
  });
});

describe('highlights', () => {
  it('come from the server\'s matches spans only, clamped, sorted and merged', () => {
    const text = (segs: { text: string; mark: boolean }[]) => segs.map((s) => (s.mark ? `[${s.text}]` : s.text)).join('');
    expect(text(highlightSegments('payment failed error', [[15, 20], [0, 7]]))).toBe('[payment] failed [error]');
    expect(text(highlightSegments('abcdef', [[1, 4], [2, 5], [-3, 1], [5, 99], [4, 4]]))).toBe('[a][bcde][f]');
    expect(text(highlightSegments('plain', undefined))).toBe('plain');
    expect(text(highlightSegments('plain', [[Number.NaN, 2]]))).toBe('plain');
  });

  it('mark only the server\'s spans: on a line where a backtracking (a+)+$ would stall, the last run alone is marked', async () => {
    const { createElement } = await import('react');
    const { renderToStaticMarkup } = await import('react-dom/server');
    const { Row } = await import('../src/app/Row');
    const a = 'a'.repeat(40);
    // The server (linear) matches `(a+)+$` at the last run of a's; the first run, followed by a b, is where a
    // backtracking engine would spend 2^40 steps. The row renders what the frame says, nothing of its own.
    const message = `n=1 ${a}b ${a}`;
    const frame = { type: 'log', data: message, message, timestamp: '2026-12-01T10:00:00Z', level: 'info', source_type: 'container', source_id: 'x' };
    const row = (extra: object) => ({ id: 1, source: 's', kind: 'line' as const, key: 't', frame: { ...frame, ...extra } as never });
    const options = { timestamps: false, labels: new Map(), merged: false };
    const html = (extra: object) => renderToStaticMarkup(createElement(Row, { row: row(extra), options }));
    expect(html({})).not.toContain('<mark>');
    const start = message.length - 40;
    expect(html({ matches: [[start, message.length]] })).toContain(`n=1 ${a}b <mark>${a}</mark></span>`);
    expect(html({ matches: [[start, message.length]] }).match(/<mark>/g)).toHaveLength(1);
  });
});

describe('a paused view', () => {
  it('keeps the rows it showed and each source\'s drop count frozen with them while the buffer drops more', () => {
    const b = new LogBuffer(4);
    const entry = (n: number, msg: string) => ({ kind: 'line' as const, frame: { ...line(n), message: msg } as never });
    b.add('busy', [1, 2, 3].map((n) => entry(n, `busy ${n}`)));
    b.add('quiet', [entry(4, 'quiet 4'), entry(5, 'quiet 5')]);
    expect([b.droppedFrom('busy'), b.droppedFrom('quiet')]).toEqual([1, 0]);
    const paused = pauseView(b.view, b, ['busy', 'quiet']);
    b.add('busy', [6, 7, 8].map((n) => entry(n, `busy ${n}`)));
    // The live buffer dropped two more busy rows and a quiet one; the paused view still shows its rows and counts.
    expect([b.droppedFrom('busy'), b.droppedFrom('quiet')]).toEqual([3, 1]);
    expect(paused.rows.map((r) => r.frame.message)).toEqual(['busy 2', 'busy 3', 'quiet 4', 'quiet 5']);
    expect([paused.droppedFrom.get('busy'), paused.droppedFrom.get('quiet'), paused.added]).toEqual([1, 0, 5]);
  });
});
