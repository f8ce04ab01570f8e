import { abandonSocket, AUTH_ERROR_CODES, backoffDelay, IdleWatch, systemTimers, type SocketFactory, type SocketLike, type Timers } from '../client';
import type { HostEvent } from './api';

export interface HostEventsHandlers {
  /** A container or service changed. */
  onEvent(event: HostEvent): void;
  /**
   * Read the listings again: after every `connected` (the first and each reconnect: what changed while the feed was
   * down is in no event) and after a `gap` (events were dropped).
   */
  onResync(): void;
  /** The token was refused: no retry helps. */
  onAuthError?(reason: string): void;
  /** The feed gave up for good (an unknown host, a malformed id). */
  onFatal?(reason: string): void;
}

export interface HostEventsOptions {
  host: string;
  origin: string;
  token: () => string | undefined;
  socketFactory?: SocketFactory;
  timers?: Timers;
  random?: () => number;
  /** Reopen a feed silent this long (the server's heartbeat comes every 15 s). Default 45 s. */
  idleTimeoutMs?: number;
}

/** Errors after which the same request is refused again; everything else (upstream_failed too) is retried. */
const FATAL = new Set(['invalid_parameter', 'unknown_host', 'not_found', 'not_supported', 'not_implemented', 'origin_not_allowed']);

/**
 * The host's events feed (docs/protocol.md, "Events feed"), kept open for as long as the page shows the host:
 * reconnects with backoff and jitter after a drop or any error a retry may fix (`upstream_unavailable`,
 * `upstream_failed`, a server restart), and asks for the listings again on every (re)connect.
 */
export class HostEventsFeed {
  private socket: SocketLike | undefined;
  private retryTimer: unknown;
  private attempt = 0;
  private closed = false;
  private stopReason: { kind: 'auth' | 'fatal'; message: string } | undefined;
  /** Sockets opened after the first one. */
  reconnects = 0;

  private readonly idle: IdleWatch;

  constructor(private readonly options: HostEventsOptions, private readonly handlers: HostEventsHandlers) {
    this.idle = new IdleWatch(() => this.timers, options.idleTimeoutMs ?? 45_000, () => this.socket, (code, reason) => this.onClose(code, reason));
  }

  private get timers(): Timers { return this.options.timers ?? systemTimers; }

  start(): this { this.open(); return this; }

  stop(): void {
    this.closed = true;
    if (this.retryTimer !== undefined) this.timers.clearTimeout(this.retryTimer);
    this.idle.clear();
    const socket = this.socket;
    this.socket = undefined;
    if (socket) abandonSocket(socket, 1000, 'viewer closed');
  }

  private url(): string {
    const origin = this.options.origin.replace(/^http/i, 'ws').replace(/\/+$/, '');
    return `${origin}/ws/hosts/${encodeURIComponent(this.options.host)}/events?token=${encodeURIComponent(this.options.token() ?? '')}`;
  }

  private open(): void {
    if (this.closed) return;
    this.stopReason = undefined;
    const factory = this.options.socketFactory ?? ((url: string) => new WebSocket(url) as unknown as SocketLike);
    let socket: SocketLike;
    try { socket = factory(this.url()); } catch { this.retry(); return; }
    this.socket = socket;
    this.idle.arm();
    socket.onmessage = (ev) => { if (socket === this.socket) this.onMessage(ev.data); };
    socket.onclose = (ev) => { if (socket === this.socket) this.onClose(ev.code, ev.reason); };
    socket.onerror = () => { /* the close that follows decides */ };
  }


  private onMessage(data: unknown): void {
    this.idle.arm();
    let frame: { type?: string; code?: string; message?: string };
    try { frame = JSON.parse(String(data)) as typeof frame; } catch { return; }
    switch (frame.type) {
      case 'connected':
        this.attempt = 0;
        this.handlers.onResync();
        return;
      case 'event':
        this.handlers.onEvent(frame as unknown as HostEvent);
        return;
      case 'gap':
        this.handlers.onResync();
        return;
      case 'error': {
        const code = frame.code ?? '';
        if (AUTH_ERROR_CODES.has(code)) this.stopReason = { kind: 'auth', message: `${code}: ${frame.message ?? ''}` };
        else if (FATAL.has(code)) this.stopReason = { kind: 'fatal', message: `${code}: ${frame.message ?? ''}` };
        return;
      }
      default:
        return;
    }
  }

  private onClose(code: number, reason: string): void {
    this.socket = undefined;
    this.idle.clear();
    if (this.closed) return;
    const stop = this.stopReason ?? (code === 1008 ? { kind: 'auth' as const, message: reason || 'refused by the server' } : undefined);
    if (stop) {
      this.closed = true;
      if (stop.kind === 'auth') this.handlers.onAuthError?.(stop.message);
      else this.handlers.onFatal?.(stop.message);
      return;
    }
    this.retry();
  }

  private retry(): void {
    if (this.closed) return;
    const delay = backoffDelay(this.attempt++, { initialMs: 500, maxMs: 10_000 }, this.options.random);
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = undefined;
      this.reconnects++;
      this.open();
    }, delay);
  }
}
