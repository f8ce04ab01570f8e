import type { SocketFactory, SocketLike } from '../src/client';

/** A WebSocket the test drives: it records the URL it was opened with and delivers the frames the test sends. */
export class FakeSocket implements SocketLike {
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  closedWith: number | undefined;
  constructor(readonly url: string) {}
  get params(): URLSearchParams { return new URL(this.url).searchParams; }
  send(frame: object): void { this.onmessage?.({ data: JSON.stringify(frame) }); }
  drop(code = 1006, reason = ''): void { this.onclose?.({ code, reason }); }
  close(code?: number): void { this.closedWith = code ?? 1000; }
}

export function socketRecorder(): { sockets: FakeSocket[]; factory: SocketFactory; last(): FakeSocket } {
  const sockets: FakeSocket[] = [];
  return {
    sockets,
    factory: (url) => { const s = new FakeSocket(url); sockets.push(s); return s; },
    last: () => sockets[sockets.length - 1],
  };
}

let n = 0;
/** A unified-path log frame with a cursor that names it. */
export function line(seq: number, extra: Record<string, unknown> = {}) {
  n++;
  return {
    type: 'log', data: `line ${seq}`, message: `line ${seq}`, level: 'info', source_type: 'container', source_id: 'abc',
    timestamp: `2026-12-01T10:00:${String(seq % 60).padStart(2, '0')}.${String(seq).padStart(9, '0')}Z`,
    stream: 'stdout', seq, epoch: 'e1', cursor: `cur-${seq}`, metadata: {}, _n: n, ...extra,
  };
}
