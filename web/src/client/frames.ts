/** The wire frames of docs/protocol.md, as the client reads them. Extra fields the server adds are kept. */

export type SourceType = 'container' | 'service' | 'host' | 'daemon' | 'stack';
export const SOURCE_TYPES: readonly SourceType[] = ['container', 'service', 'host', 'daemon', 'stack'];

export type Level = 'debug' | 'info' | 'warning' | 'error' | 'critical' | 'unknown';

export interface LogFrame {
  type: 'log';
  data: string;
  message: string;
  timestamp: string;
  level: Level;
  source_type: SourceType;
  source_id: string;
  host_id?: string;
  stream?: 'stdout' | 'stderr' | 'system';
  seq?: number;
  epoch?: string;
  cursor?: string;
  metadata?: Record<string, string>;
  /** A gap marker: lines this connection did not get. `missed` is -1 when unknown. */
  gap?: { missed: number; reason: string };
  /** A transient change of the upstream (`upstream_retrying`, `upstream_resumed`). */
  notice?: { kind: string };
  /** UTF-16 [start, end) offsets into `message` of the server-side filter's matches. */
  matches?: [number, number][];
}

export interface ConnectedFrame {
  type: 'connected';
  message: string;
  timestamp: string;
  source_type?: SourceType;
  source_id?: string;
  host_id?: string;
  path?: 'unified' | 'legacy';
  instance?: string;
  stack_kind?: 'swarm' | 'compose';
}

export interface BatchFrame { type: 'batch'; entries: LogFrame[]; count: number }
export interface ErrorFrame { type: 'error'; message: string; code?: string; parameter?: string }
export interface CompleteFrame { type: 'complete'; message?: string }
export interface DisconnectedFrame { type: 'disconnected'; message?: string; reconnect?: boolean }
export interface HeartbeatFrame { type: 'heartbeat'; timestamp?: string }
export interface ScanProgressFrame {
  type: 'scan_progress';
  scanned_back_to: string;
  found: number;
  state: 'scanning' | 'done' | 'capped';
}

export type ServerFrame =
  | LogFrame | ConnectedFrame | BatchFrame | ErrorFrame | CompleteFrame | DisconnectedFrame | HeartbeatFrame
  | ScanProgressFrame;

/** What a received log frame is: a line of the resource, a gap marker or a notice (both shown as rows). */
export type EntryKind = 'line' | 'gap' | 'notice';

export function entryKind(frame: LogFrame): EntryKind {
  if (frame.gap) return 'gap';
  if (frame.notice || frame.metadata?.notice_kind) return 'notice';
  return 'line';
}

/**
 * Error codes after which reconnecting cannot help: the same request would be refused again. Everything else
 * (upstream_unavailable, slow_consumer, too_many_clients, internal_error, a dropped socket) is retried.
 */
export const FATAL_ERROR_CODES: ReadonlySet<string> = new Set([
  'unauthorized', 'token_invalid', 'token_expired', 'token_not_access', 'forbidden', 'origin_not_allowed',
  'invalid_parameter', 'unknown_host', 'not_found', 'not_supported', 'not_implemented', 'not_available',
]);

/** Error codes that mean the user must sign in again. */
export const AUTH_ERROR_CODES: ReadonlySet<string> = new Set([
  'unauthorized', 'token_invalid', 'token_expired', 'token_not_access', 'forbidden',
]);
