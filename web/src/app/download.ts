import { buildDownloadUrl, type StreamRequest } from '../client';
import { ApiError } from './api';

/**
 * The file name of a `Content-Disposition: attachment; filename="…"` (or RFC 5987 `filename*=UTF-8''…`), reduced to
 * a plain name (no path separators, no control characters); undefined when the header names none.
 */
export function fileNameFrom(disposition: string | null | undefined): string | undefined {
  if (!disposition) return undefined;
  let name: string | undefined;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition);
  if (star) { try { name = decodeURIComponent(star[1].trim()); } catch { /* malformed: try the plain one */ } }
  if (!name) {
    const quoted = /filename\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(disposition);
    const bare = /filename\s*=\s*([^;"\s]+)/.exec(disposition);
    name = quoted ? quoted[1].replace(/\\(.)/g, '$1') : bare?.[1];
  }
  // eslint-disable-next-line no-control-regex
  const clean = name?.replace(/[\\/\u0000-\u001f]/g, '_').trim();
  return clean ? clean : undefined;
}

export interface DownloadResult {
  fileName: string;
  bytes: number;
  /** The server cut the file at its limit (`Query:DownloadMaxLines` / `DownloadMaxBytes`): its last line says so. */
  truncated?: string;
}

export interface DownloadDeps {
  fetch?: typeof fetch;
  /** Hands the file to the browser; by default an object URL clicked as a download link, then revoked. */
  save?: (blob: Blob, fileName: string) => void;
}

function saveWithLink(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // The download has started from the URL by now; the delay only spares a slow browser a revoked URL.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Downloads what a view shows through the download endpoint with the token in the Authorization header (never in
 * the URL, where it would end in the history and in proxies' logs), then saves it under the server's file name.
 * The file is held in memory as a Blob until saved: the server caps a download (1,000,000 lines, 256 MiB by default)
 * and ends a cut one with a line saying so, which is reported as `truncated`.
 */
export async function downloadLog(request: StreamRequest, format: 'text' | 'ndjson', token: string, deps: DownloadDeps = {}): Promise<DownloadResult> {
  const doFetch = deps.fetch ?? fetch;
  const url = buildDownloadUrl(request, location.origin, format);
  const response = await doFetch(url, { headers: { Authorization: `Bearer ${token}` }, credentials: 'omit', cache: 'no-store' });
  if (!response.ok) {
    let code = `http_${response.status}`;
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = (await response.json()) as { error?: { code?: string; message?: string } };
      if (body.error) { code = body.error.code ?? code; message = body.error.message ?? message; }
    } catch { /* not JSON */ }
    throw new ApiError(response.status, code, message);
  }
  const blob = await response.blob();
  const fallback = `${request.sourceType}-${request.resourceId ?? request.hostId ?? 'log'}.${format === 'ndjson' ? 'ndjson' : 'log'}`;
  const fileName = fileNameFrom(response.headers.get('Content-Disposition')) ?? fallback;
  const tail = await blob.slice(Math.max(0, blob.size - 2048)).text();
  const lastLine = tail.trimEnd().split('\n').pop() ?? '';
  let truncated: string | undefined;
  if (format === 'text' && lastLine.startsWith('# [logs] truncated')) truncated = lastLine.slice(2);
  if (format === 'ndjson' && lastLine.includes('"truncated"')) {
    try {
      const t = JSON.parse(lastLine) as { type?: string; reason?: string; lines?: number; next_since?: string };
      if (t.type === 'truncated') truncated = `truncated (${t.reason}): ${t.lines} lines; download again with since=${t.next_since}`;
    } catch { /* a log line that merely says truncated */ }
  }
  (deps.save ?? saveWithLink)(blob, fileName);
  return { fileName, bytes: blob.size, truncated };
}
