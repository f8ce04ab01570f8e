// @vitest-environment jsdom
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useUnifiedLogStream, type UnifiedLogStream, type UnifiedLogStreamOptions } from '../src/react';
import { line, socketRecorder } from './fakeSocket';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let root: Root;
let container: HTMLDivElement;
let latest: UnifiedLogStream;

function Probe(props: UnifiedLogStreamOptions) {
  latest = useUnifiedLogStream(props);
  return null;
}

function render(props: UnifiedLogStreamOptions) {
  act(() => root.render(<Probe {...props} />));
}

/** The hook publishes rows once per frame (a timer here): let it run. */
function flush() {
  act(() => { vi.advanceTimersByTime(150); });
}

beforeEach(() => {
  vi.useFakeTimers();
  container = document.createElement('div');
  root = createRoot(container);
});
afterEach(() => {
  act(() => root.unmount());
  vi.useRealTimers();
});

describe('useUnifiedLogStream', () => {
  it('builds the route of each kind with the guide defaults', () => {
    const rec = socketRecorder();
    render({ sourceType: 'service', resourceId: 'api', hostId: 'mgr', token: 'tok', socketFactory: rec.factory, endpoint: { origin: 'http://svc.test' } });
    const url = new URL(rec.last().url);
    expect(url.pathname).toBe('/api/v1/services/api/logs');
    expect(Object.fromEntries(url.searchParams)).toEqual({ host_id: 'mgr', tail: '100', follow: 'true', timestamps: 'false', format: 'batch', token: 'tok' });
  });

  it('gives the lines of batch frames, reconnects with the cursor and shows no line twice', () => {
    const rec = socketRecorder();
    render({ sourceType: 'container', resourceId: 'web-1', token: 'tok', socketFactory: rec.factory, endpoint: { origin: 'http://svc.test' } });
    expect(latest.status).toBe('connecting');
    act(() => {
      rec.last().send({ type: 'connected', message: '', timestamp: '' });
      rec.last().send({ type: 'batch', entries: [line(1), line(2)], count: 2 });
    });
    flush();
    expect(latest.isConnected).toBe(true);
    expect(latest.logs.map((l) => l.message)).toEqual(['line 1', 'line 2']);

    act(() => rec.last().drop(1006));
    expect(latest.status).toBe('reconnecting');
    act(() => { vi.advanceTimersByTime(1_000); });
    expect(rec.sockets).toHaveLength(2);
    expect(rec.last().params.get('resume')).toBe('cur-2');
    act(() => {
      rec.last().send({ type: 'connected', message: '', timestamp: '' });
      // A server that repeats a line anyway (say, another instance without the cursor): still shown once.
      rec.last().send({ type: 'batch', entries: [line(2), line(3)], count: 2 });
    });
    flush();
    expect(latest.logs.map((l) => l.message)).toEqual(['line 1', 'line 2', 'line 3']);
  });

  it('keeps at most maxLines and says how many were dropped', () => {
    const rec = socketRecorder();
    render({ sourceType: 'container', resourceId: 'c', maxLines: 2, socketFactory: rec.factory, endpoint: { origin: 'http://svc.test' } });
    act(() => rec.last().send({ type: 'batch', entries: [line(1), line(2), line(3)], count: 3 }));
    flush();
    expect(latest.logs.map((l) => l.message)).toEqual(['line 2', 'line 3']);
    expect(latest.dropped).toBe(1);
  });

  it('keeps at most maxBytes of lines too, dropping the oldest', () => {
    const rec = socketRecorder();
    render({ sourceType: 'container', resourceId: 'c', maxBytes: 40_000, socketFactory: rec.factory, endpoint: { origin: 'http://svc.test' } });
    const long = (n: number) => line(n, { message: `${n} ${'j'.repeat(5_000)}`, data: `${n} ${'j'.repeat(5_000)}` });
    act(() => rec.last().send({ type: 'batch', entries: [1, 2, 3, 4, 5, 6].map(long), count: 6 }));
    flush();
    // About 30 KB a line (5,000 UTF-16 characters held as message, identity and data): one fits in 40,000 bytes, not two.
    expect(latest.logs.map((l) => l.message.split(' ')[0])).toEqual(['6']);
    expect(latest.dropped).toBe(5);
  });

  it('reports a fatal error and opens nothing while disabled', () => {
    const rec = socketRecorder();
    render({ sourceType: 'container', resourceId: 'c', socketFactory: rec.factory, endpoint: { origin: 'http://svc.test' } });
    act(() => {
      rec.last().send({ type: 'error', code: 'not_found', message: 'No such container: c' });
      rec.last().drop(4404);
    });
    expect(latest.status).toBe('failed');
    expect(latest.error).toEqual({ code: 'not_found', message: 'No such container: c' });

    const off = socketRecorder();
    render({ sourceType: 'container', resourceId: 'other', enabled: false, socketFactory: off.factory, endpoint: { origin: 'http://svc.test' } });
    expect(off.sockets).toHaveLength(0);
    expect(latest.status).toBe('stopped');
  });

  it('closes the socket on unmount', () => {
    const rec = socketRecorder();
    render({ sourceType: 'container', resourceId: 'c', socketFactory: rec.factory, endpoint: { origin: 'http://svc.test' } });
    const socket = rec.last();
    act(() => root.unmount());
    root = createRoot(container);
    expect(socket.closedWith).toBe(1000);
  });
});
