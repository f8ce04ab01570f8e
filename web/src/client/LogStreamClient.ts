import { buildStreamUrl, type Endpoint, type StreamRequest } from './urls';
import { backoffDelay, type BackoffOptions } from './backoff';
import { abandonSocket, IdleWatch, systemTimers, type Timers } from './socketTimers';
import {
  FATAL_ERROR_CODES, entryKind,
  type ConnectedFrame, type EntryKind, type ErrorFrame, type LogFrame, type ScanProgressFrame, type ServerFrame,
} from './frames';

/**
 * `connecting`: opening a socket; `live`: connected and streaming; `retrying`: connected, but the server says its
 * Docker source is retrying; `reconnecting`: the socket dropped and a new one opens after a delay; `ended`: the
 * stream finished (history done with follow=false, or the source stopped); `failed`: an error that a reconnect
 * cannot fix (bad token, unknown resource); `stopped`: stop() was called.
 */
export type StreamStatus = 'connecting' | 'live' | 'retrying' | 'reconnecting' | 'ended' | 'failed' | 'stopped';

export interface ReceivedEntry { kind: EntryKind; frame: LogFrame }

export interface LogStreamHandlers {
  /** Lines, gap markers and notices in the order the server sent them, duplicates already dropped. */
  onEntries?(entries: ReceivedEntry[]): void;
  onStatus?(status: StreamStatus, detail: { message?: string; retryInMs?: number; attempt?: number; code?: string }): void;
  onConnected?(frame: ConnectedFrame): void;
  onError?(frame: ErrorFrame, fatal: boolean): void;
  onScanProgress?(frame: ScanProgressFrame): void;
}

/** The part of the browser's WebSocket the client uses, so tests can hand in a fake. */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}
export type SocketFactory = (url: string) => SocketLike;

export interface LogStreamClientOptions {
  request: StreamRequest;
  endpoint: Endpoint;
  /** The access token, read again at every (re)connect so a refreshed token is used. */
  token?: string | (() => string | undefined);
  backoff?: BackoffOptions;
  /** Close and reconnect when no frame came for this long (the server sends a heartbeat every 15 s). Default 45 s. */
  idleTimeoutMs?: number;
  socketFactory?: SocketFactory;
  random?: () => number;
  timers?: Timers;
}

/**
 * One log stream over the service's WebSocket routes, framework-free. Reconnects with backoff and jitter after
 * anything but a fatal error, and resumes with the `cursor` of the last line it delivered, so a reconnect (a
 * network drop, a restart of the service, a drain) neither repeats nor silently loses a line; within one life of
 * the shared stream it also drops any entry whose `seq` it has already delivered.
 */
export class LogStreamClient {
  private socket: SocketLike | undefined;
  private retryTimer: unknown;
  private readonly idle: IdleWatch;
  private attempt = 0;
  private stopped = true;
  private lastCursor: string | undefined;
  private lastEpoch: string | undefined;
  private lastSeq = 0;
  private _status: StreamStatus = 'stopped';
  /** Set by a frame that decides what the next close means (complete, disconnected, a fatal error). */
  private closeIntent: { kind: 'end' | 'fatal' | 'reconnect-now'; message?: string; code?: string } | undefined;
  /** Whether the socket now open was asked to resume from a cursor (a refusal of `resume` then means that cursor). */
  private sentResume = false;
  /** A line was handed on: from then on a reconnect without a cursor may leave a hole in the view. */
  private linesShown = false;
  /**
   * A line was handed on since the last lost-position row. Without one no further row is due: the hole that row
   * marks is still the same hole (a reconnect that fails, or a tail socket that drops before its first line, does
   * not make a new one), so a long outage shows one row, not one per attempt.
   */
  private lineSinceLostRow = false;
  /** How many times a socket was opened again after the first one. */
  reconnects = 0;
  /** Lines dropped because this client had delivered them already (same epoch, a seq it saw). */
  duplicates = 0;

  constructor(private readonly options: LogStreamClientOptions, private readonly handlers: LogStreamHandlers = {}) {
    this.idle = new IdleWatch(() => this.timers, options.idleTimeoutMs ?? 45_000, () => this.socket, (code, reason) => this.onClose(code, reason));
  }

  get status(): StreamStatus { return this._status; }
  /**
   * The view has lost its position (lines were shown, but no cursor is held: a refused cursor, or a server that sends
   * none) until a line with a cursor arrives. Every reconnect while it is owed opens with the tail; it shows a gap
   * row first if a line was shown since the last one (one row per hole, not one per attempt).
   */
  get gapOwed(): boolean { return this.linesShown && this.lastCursor === undefined; }
  /** The cursor of the last line delivered: what a reconnect resumes from. */
  get cursor(): string | undefined { return this.lastCursor; }

  /** The URL the next connection uses (the cursor replaces the tail once a line was delivered). */
  currentUrl(): string {
    const token = typeof this.options.token === 'function' ? this.options.token() : this.options.token;
    return buildStreamUrl(this.options.request, this.options.endpoint, { token, resume: this.lastCursor });
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = undefined;
    if (socket) abandonSocket(socket, 1000, 'viewer closed');
    this.setStatus('stopped', {});
  }

  private get timers(): Timers { return this.options.timers ?? systemTimers; }

  private clearTimers(): void {
    if (this.retryTimer !== undefined) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.idle.clear();
  }

  private open(): void {
    this.closeIntent = undefined;
    this.sentResume = this.lastCursor !== undefined;
    // A reopen without a cursor after lines were shown reads the tail: what was written since the last row may be missing.
    if (this.gapOwed && this.lineSinceLostRow) this.emitLostPosition('position_lost', 'the connection dropped before a line with a resume cursor came');
    this.setStatus('connecting', { attempt: this.attempt });
    const factory = this.options.socketFactory ?? ((url: string) => {
      const ws = new WebSocket(url);
      return ws as unknown as SocketLike;
    });
    let socket: SocketLike;
    try {
      socket = factory(this.currentUrl());
    } catch (error) {
      this.setStatus('failed', { message: String(error) });
      this.stopped = true;
      return;
    }
    this.socket = socket;
    this.idle.arm();
    socket.onmessage = (ev) => {
      if (socket !== this.socket) return;
      this.idle.arm();
      if (typeof ev.data !== 'string') return;
      let frame: ServerFrame;
      try { frame = JSON.parse(ev.data) as ServerFrame; } catch { return; }
      this.onFrame(frame);
    };
    socket.onclose = (ev) => { if (socket === this.socket) this.onClose(ev.code, ev.reason); };
    socket.onerror = () => { /* the close that follows decides */ };
  }


  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'connected':
        this.attempt = 0;
        this.setStatus('live', {});
        this.handlers.onConnected?.(frame);
        return;
      case 'batch':
        this.deliver(frame.entries);
        return;
      case 'log':
        this.deliver([frame]);
        return;
      case 'error': {
        if (frame.code === 'invalid_parameter' && frame.parameter === 'resume' && this.sentResume) {
          this.resumeRefused(frame);
          return;
        }
        const fatal = frame.code !== undefined && FATAL_ERROR_CODES.has(frame.code);
        this.closeIntent = fatal ? { kind: 'fatal', message: frame.message, code: frame.code } : undefined;
        this.handlers.onError?.(frame, fatal);
        return;
      }
      case 'complete':
        this.closeIntent = { kind: 'end', message: frame.message };
        return;
      case 'disconnected':
        this.closeIntent = frame.reconnect
          ? { kind: 'reconnect-now', message: frame.message }
          : { kind: 'end', message: frame.message };
        return;
      case 'scan_progress':
        this.handlers.onScanProgress?.(frame);
        return;
      default:
        return;
    }
  }

  /**
   * The server would not resume from the cursor (it names another container now, or a format this server does not
   * read). Asking again with it cannot help, ending the view would be worse: reconnect at once without it (the
   * tail), after a gap row that says the position was lost, so the hole is visible. The tail's lines the view
   * already holds are dropped by their identity (LogBuffer) or their seq (below).
   */
  private resumeRefused(frame: ErrorFrame): void {
    this.lastCursor = undefined;
    this.handlers.onError?.(frame, false);
    this.emitLostPosition('resume_refused', frame.message);
    // The server answered: it is up, so the next try goes at once, not after a grown backoff.
    this.attempt = 0;
    this.closeIntent = { kind: 'reconnect-now', message: 'resume refused; reading the tail' };
  }

  /**
   * A gap row (an unknown count) saying the view reads the tail again and may miss lines: `resume_refused` when the
   * server refused the cursor, `position_lost` when the view reconnects with no cursor to send (none came since the
   * last row, or the server sends none).
   */
  private emitLostPosition(reason: 'resume_refused' | 'position_lost', why: string | undefined): void {
    this.lineSinceLostRow = false;
    const request = this.options.request;
    const message = `The position could not be resumed (${why ?? 'no cursor'}); reading the latest lines instead, lines written meanwhile may be missing here.`;
    const gap: LogFrame = {
      type: 'log', data: message, message, timestamp: new Date().toISOString(), level: 'unknown',
      source_type: request.sourceType, source_id: request.resourceId ?? request.hostId ?? '',
      gap: { missed: -1, reason }, metadata: { gap_reason: reason },
    };
    this.handlers.onEntries?.([{ kind: 'gap', frame: gap }]);
  }

  private deliver(frames: LogFrame[]): void {
    const out: ReceivedEntry[] = [];
    for (const frame of frames) {
      const kind = entryKind(frame);
      if (kind === 'line' && frame.seq !== undefined && frame.epoch !== undefined) {
        if (frame.epoch === this.lastEpoch && frame.seq <= this.lastSeq) { this.duplicates++; continue; }
        this.lastEpoch = frame.epoch;
        this.lastSeq = frame.seq;
      }
      if (kind === 'line') {
        this.linesShown = true;
        this.lineSinceLostRow = true;
        if (frame.cursor) this.lastCursor = frame.cursor;
      }
      if (kind === 'notice') {
        const noticeKind = frame.notice?.kind ?? frame.metadata?.notice_kind;
        if (noticeKind === 'upstream_retrying') this.setStatus('retrying', { message: frame.message });
        else if (noticeKind === 'upstream_resumed' && this._status === 'retrying') this.setStatus('live', {});
      }
      out.push({ kind, frame });
    }
    if (out.length > 0) this.handlers.onEntries?.(out);
  }

  private onClose(code: number, reason: string): void {
    this.socket = undefined;
    this.idle.clear();
    if (this.stopped) return;
    const intent = this.closeIntent;
    if (intent?.kind === 'fatal') {
      this.stopped = true;
      this.setStatus('failed', { message: intent.message, code: intent.code });
      return;
    }
    if (intent?.kind === 'end' || code === 1000) {
      this.stopped = true;
      this.setStatus('ended', { message: intent?.message ?? reason });
      return;
    }
    // Policy violation without an error frame: an auth failure the server could not explain; do not hammer it.
    if (code === 1008) {
      this.stopped = true;
      this.setStatus('failed', { message: reason || 'refused by the server', code: 'unauthorized' });
      return;
    }
    const delay = intent?.kind === 'reconnect-now' && this.attempt === 0
      ? backoffDelay(0, { initialMs: 200, maxMs: 200 }, this.options.random)
      : backoffDelay(this.attempt, this.options.backoff, this.options.random);
    this.attempt++;
    this.setStatus('reconnecting', { retryInMs: delay, attempt: this.attempt, message: intent?.message ?? reason });
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stopped) return;
      this.reconnects++;
      this.open();
    }, delay);
  }

  private setStatus(status: StreamStatus, detail: { message?: string; retryInMs?: number; attempt?: number; code?: string }): void {
    this._status = status;
    this.handlers.onStatus?.(status, detail);
  }
}
