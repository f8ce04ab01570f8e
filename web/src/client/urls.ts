import type { SourceType } from './frames';

/** Where a log stream is and how to read it: the guide's options plus the server's extras. */
export interface StreamRequest {
  sourceType: SourceType;
  /** Container id or name, service id or name, stack name; for host and daemon logs the host id (or omit it). */
  resourceId?: string;
  hostId?: string;
  /** Lines of history before live lines (the contract's default: 100). */
  tail?: number;
  /** Keep streaming after the history (default true). */
  follow?: boolean;
  /** Prefix each line's text with its timestamp (default: true for containers, false otherwise). */
  timestamps?: boolean;
  /** `batch` (default here) gathers lines into batch frames; `line` is the old one-frame-per-line format. */
  format?: 'line' | 'batch';
  /** Server-side filter (issue 12): a regular expression, an exclusion, levels, one output, a time range. */
  filter?: string;
  exclude?: string;
  levels?: string[];
  stream?: 'stdout' | 'stderr';
  since?: string;
  until?: string;
  progress?: boolean;
}

/** Where the service is: the contract builds the service route from the origin and the others from `wsBase`. */
export interface Endpoint {
  /** e.g. `http://127.0.0.1:8080` (a page's `location.origin`); http(s) becomes ws(s). */
  origin: string;
  /** Base of the container, host, daemon and stack routes; defaults to `<origin>/ws`. */
  wsBase?: string;
}

export const GUIDE_DEFAULTS = { tail: 100, follow: true } as const;

export function defaultTimestamps(sourceType: SourceType): boolean {
  return sourceType === 'container';
}

function toWs(url: string): string {
  return url.replace(/^http(s?):/i, 'ws$1:').replace(/\/+$/, '');
}

/** The path of one of the five routes (docs/protocol.md, "Routes"), relative to the endpoint. */
export function routeUrl(request: Pick<StreamRequest, 'sourceType' | 'resourceId' | 'hostId'>, endpoint: Endpoint): string {
  const origin = toWs(endpoint.origin);
  const wsBase = endpoint.wsBase ? toWs(endpoint.wsBase) : `${origin}/ws`;
  const id = (value: string | undefined, what: string) => {
    if (!value) throw new Error(`${what} is required for ${request.sourceType} logs`);
    return encodeURIComponent(value);
  };
  switch (request.sourceType) {
    case 'container': return `${wsBase}/containers/${id(request.resourceId, 'resourceId')}/logs`;
    case 'service': return `${origin}/api/v1/services/${id(request.resourceId, 'resourceId')}/logs`;
    case 'stack': return `${wsBase}/stacks/${id(request.resourceId, 'resourceId')}/logs`;
    case 'host': return `${wsBase}/hosts/${id(request.resourceId ?? request.hostId, 'hostId')}/logs`;
    case 'daemon': return `${wsBase}/daemon/${id(request.resourceId ?? request.hostId, 'hostId')}/logs`;
  }
}

/**
 * The full WebSocket URL of a stream, with the guide's defaults made explicit (booleans as `true`/`false`, as the
 * old frontend sends them). `resume` (a cursor) takes precedence over `tail` on the server.
 */
export function buildStreamUrl(request: StreamRequest, endpoint: Endpoint, extra: { token?: string; resume?: string } = {}): string {
  const params = new URLSearchParams();
  const hostId = request.hostId ?? (request.sourceType === 'host' || request.sourceType === 'daemon' ? request.resourceId : undefined);
  if (hostId) params.set('host_id', hostId);
  params.set('tail', String(request.tail ?? GUIDE_DEFAULTS.tail));
  params.set('follow', String(request.follow ?? GUIDE_DEFAULTS.follow));
  params.set('timestamps', String(request.timestamps ?? defaultTimestamps(request.sourceType)));
  params.set('format', request.format ?? 'batch');
  if (request.filter) params.set('filter', request.filter);
  if (request.exclude) params.set('exclude', request.exclude);
  if (request.levels && request.levels.length > 0) params.set('levels', request.levels.join(','));
  if (request.stream) params.set('stream', request.stream);
  if (request.since) params.set('since', request.since);
  if (request.until) params.set('until', request.until);
  if (request.progress) params.set('progress', 'true');
  if (extra.resume) params.set('resume', extra.resume);
  if (extra.token) params.set('token', extra.token);
  return `${routeUrl(request, endpoint)}?${params.toString()}`;
}

/**
 * The download endpoint (issue 12) for what a stream request shows: same filter and range, as a file. It carries no
 * token: fetch it with the `Authorization` header (a token in a URL ends in the history and in proxies' logs).
 */
export function buildDownloadUrl(request: StreamRequest, origin: string, format: 'text' | 'ndjson'): string {
  const params = new URLSearchParams();
  const hostId = request.hostId ?? (request.sourceType === 'host' || request.sourceType === 'daemon' ? request.resourceId : undefined);
  if (hostId) params.set('host_id', hostId);
  if (request.filter) params.set('filter', request.filter);
  if (request.exclude) params.set('exclude', request.exclude);
  if (request.levels && request.levels.length > 0) params.set('levels', request.levels.join(','));
  if (request.stream) params.set('stream', request.stream);
  if (request.since) params.set('since', request.since);
  if (request.until) params.set('until', request.until);
  params.set('format', format);
  const id = request.resourceId ?? request.hostId ?? '';
  return `${origin.replace(/\/+$/, '')}/api/v1/logs/${request.sourceType}/${encodeURIComponent(id)}/download?${params.toString()}`;
}
