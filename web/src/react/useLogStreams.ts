import { useEffect, useMemo, useRef, useState } from 'react';
import {
  DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS, LogBuffer, LogStreamClient,
  type ConnectedFrame, type Endpoint, type ErrorFrame, type LogRow, type ScanProgressFrame, type SocketFactory,
  type StreamRequest, type StreamStatus,
} from '../client';

export interface StreamSource { key: string; request: StreamRequest }

export interface SourceState {
  status: StreamStatus;
  message?: string;
  code?: string;
  retryInMs?: number;
  attempt?: number;
  connected?: ConnectedFrame;
  error?: ErrorFrame;
  progress?: ScanProgressFrame;
  reconnects: number;
}

export interface LogStreamsOptions {
  enabled?: boolean;
  token?: string | (() => string | undefined);
  endpoint?: Endpoint;
  /** Rows kept in memory; the oldest are dropped beyond it (default 10,000). */
  maxLines?: number;
  /** Estimated bytes kept in memory (default 32 MiB); the oldest rows are dropped beyond it, as for maxLines. */
  maxBytes?: number;
  socketFactory?: SocketFactory;
  idleTimeoutMs?: number;
  /**
   * How often the rows are published to React at most (default 100 ms). Each publication re-renders the view;
   * at 5,000 lines/s one every frame costs more than the lines themselves.
   */
  publishIntervalMs?: number;
}

export interface LogStreamsResult {
  /** The merged rows, oldest first; a new array at most once per `publishIntervalMs`. */
  rows: readonly LogRow[];
  sources: Record<string, SourceState>;
  dropped: number;
  added: number;
  buffer: LogBuffer;
  /** Lines refused as already shown: by the buffer (identity) and by the clients (seq), at the time of the call. */
  duplicates(): number;
}

function defaultEndpoint(): Endpoint {
  return { origin: typeof location !== 'undefined' ? location.origin : 'http://localhost' };
}

/** Publishes at most every `intervalMs`, and then on an animation frame (none while the tab is hidden). */
function scheduler(intervalMs: number): (fn: () => void) => void {
  const frame = typeof requestAnimationFrame === 'function' ? (fn: () => void) => requestAnimationFrame(() => fn()) : (fn: () => void) => setTimeout(fn, 0);
  return (fn) => { setTimeout(() => frame(fn), intervalMs); };
}

/**
 * Several streams merged into one bounded buffer (a merged view of containers, services or a stack). Each source
 * gets its own LogStreamClient; the rows are published at most once per frame, so a 5,000 lines/s source costs
 * one render per `publishIntervalMs`, not one per line.
 */
export function useLogStreams(sources: readonly StreamSource[], options: LogStreamsOptions = {}): LogStreamsResult {
  const enabled = options.enabled ?? true;
  const maxLines = options.maxLines ?? DEFAULT_MAX_ROWS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const buffer = useMemo(() => new LogBuffer({ maxRows: maxLines, maxBytes }), [maxLines, maxBytes]);
  const clientsRef = useRef<LogStreamClient[]>([]);
  const [rows, setRows] = useState<readonly LogRow[]>([]);
  const [states, setStates] = useState<Record<string, SourceState>>({});
  const optionsRef = useRef(options);
  optionsRef.current = options;
  const sourcesKey = JSON.stringify(sources);

  const publishIntervalMs = options.publishIntervalMs ?? 100;
  useEffect(() => {
    const schedule = scheduler(publishIntervalMs);
    let pending = false;
    let alive = true;
    const unsubscribe = buffer.subscribe(() => {
      if (pending) return;
      pending = true;
      schedule(() => { pending = false; if (alive) setRows(buffer.view.slice()); });
    });
    return () => { alive = false; unsubscribe(); };
  }, [buffer, publishIntervalMs]);

  useEffect(() => {
    buffer.clear();
    setRows([]);
    setStates({});
    if (!enabled) return;
    const parsed = JSON.parse(sourcesKey) as StreamSource[];
    const opts = optionsRef.current;
    const clients = parsed.map((source) => {
      const update = (patch: Partial<SourceState>) =>
        setStates((prev) => ({ ...prev, [source.key]: { ...{ reconnects: 0, status: 'connecting' as StreamStatus }, ...prev[source.key], ...patch } }));
      const client: LogStreamClient = new LogStreamClient({
        request: source.request,
        endpoint: opts.endpoint ?? defaultEndpoint(),
        token: () => { const t = optionsRef.current.token; return typeof t === 'function' ? t() : t; },
        socketFactory: opts.socketFactory,
        idleTimeoutMs: opts.idleTimeoutMs,
      }, {
        onEntries: (entries) => buffer.add(source.key, entries),
        onStatus: (status, detail) => update({
          status, message: detail.message, code: detail.code, retryInMs: detail.retryInMs, attempt: detail.attempt,
          reconnects: client.reconnects,
        }),
        onConnected: (frame) => update({ connected: frame, error: undefined }),
        onError: (frame) => update({ error: frame }),
        onScanProgress: (frame) => update({ progress: frame }),
      });
      return client;
    });
    clientsRef.current = clients;
    for (const client of clients) client.start();
    return () => { for (const client of clients) client.stop(); clientsRef.current = []; };
  }, [buffer, sourcesKey, enabled]);

  const duplicates = () => clientsRef.current.reduce((n, c) => n + c.duplicates, buffer.duplicates);
  return { rows, sources: states, dropped: buffer.dropped, added: buffer.added, buffer, duplicates };
}
