import { useMemo } from 'react';
import type { Endpoint, LogFrame, LogRow, SocketFactory, SourceType, StreamRequest } from '../client';
import { useLogStreams, type SourceState } from './useLogStreams';

/** The migration guide's options (and the server's extras, all optional). */
export interface UnifiedLogStreamOptions extends Omit<StreamRequest, 'sourceType'> {
  sourceType: SourceType;
  resourceId?: string;
  hostId?: string;
  /** Default 100. */
  tail?: number;
  /** Default true. */
  follow?: boolean;
  /** Default true for containers, false otherwise. */
  timestamps?: boolean;
  /** Default true; false closes the stream. */
  enabled?: boolean;
  token?: string | (() => string | undefined);
  endpoint?: Endpoint;
  maxLines?: number;
  /** Estimated bytes kept (default 32 MiB): the oldest rows are dropped beyond it, as beyond maxLines. */
  maxBytes?: number;
  socketFactory?: SocketFactory;
}

export interface UnifiedLogStream {
  /** The log lines (gap markers and notices left out), oldest first. */
  logs: readonly LogFrame[];
  /** Lines, gap markers and notices, as rows to render. */
  rows: readonly LogRow[];
  status: SourceState['status'];
  /** True while the socket is open and streaming (live or retrying upstream). */
  isConnected: boolean;
  error?: { code?: string; message: string };
  dropped: number;
  state?: SourceState;
}

/**
 * One hook for the five log routes, replacing the old per-type hooks: builds the URL with the guide's defaults,
 * reconnects with backoff and resumes by cursor, batches frames, and keeps a bounded list.
 */
export function useUnifiedLogStream(options: UnifiedLogStreamOptions): UnifiedLogStream {
  const { enabled, token, endpoint, maxLines, maxBytes, socketFactory, ...request } = options;
  const sources = useMemo(() => [{ key: 'main', request: request as StreamRequest }], [JSON.stringify(request)]);
  const result = useLogStreams(sources, { enabled, token, endpoint, maxLines, maxBytes, socketFactory });
  const state = result.sources.main;
  const logs = useMemo(() => result.rows.filter((r) => r.kind === 'line').map((r) => r.frame), [result.rows]);
  const status = state?.status ?? (enabled === false ? 'stopped' : 'connecting');
  const error = state?.error
    ? { code: state.error.code, message: state.error.message }
    : status === 'failed' ? { code: state?.code, message: state?.message ?? 'failed' } : undefined;
  return {
    logs, rows: result.rows, status, isConnected: status === 'live' || status === 'retrying', error,
    dropped: result.dropped, state,
  };
}
