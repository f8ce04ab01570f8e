/** The HTTP listings and the events feed (docs/protocol.md; shapes agreed in issue 12). */
export interface Host { id: string; reachable: boolean; docker_version?: string; swarm_role?: string; error?: string }
export interface Container {
  id: string; name: string; state: string; image: string; started_at?: string;
  compose_project?: string | null; stack?: string | null; service?: string | null; task_id?: string | null;
}
export interface Service { id: string; name: string; replicas_running: number; replicas_desired: number; stack?: string | null }
export interface Stack { name: string; kind: 'swarm' | 'compose'; services: string[] }
export interface HostEvent { type: 'event'; kind: string; action: string; id: string; name: string; state?: string; timestamp: string }

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

export async function getJson<T>(path: string, token: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' }, signal });
  if (!response.ok) {
    let code = `http_${response.status}`;
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = (await response.json()) as { error?: { code?: string; message?: string } | string };
      if (typeof body.error === 'string') code = body.error;
      else if (body.error) { code = body.error.code ?? code; message = body.error.message ?? message; }
    } catch { /* not JSON */ }
    throw new ApiError(response.status, code, message);
  }
  return (await response.json()) as T;
}

export const listHosts = (token: string, signal?: AbortSignal) => getJson<Host[]>('/api/v1/hosts', token, signal);
export const listContainers = (host: string, token: string, signal?: AbortSignal) =>
  getJson<Container[]>(`/api/v1/hosts/${encodeURIComponent(host)}/containers`, token, signal);
export const listServices = (host: string, token: string, signal?: AbortSignal) =>
  getJson<Service[]>(`/api/v1/hosts/${encodeURIComponent(host)}/services`, token, signal);
export const listStacks = (host: string, token: string, signal?: AbortSignal) =>
  getJson<Stack[]>(`/api/v1/hosts/${encodeURIComponent(host)}/stacks`, token, signal);

/**
 * The host's events feed: calls `onEvent` for each container or service change, reconnecting after a drop.
 * Returns a function that closes it.
 */
export function watchHostEvents(host: string, token: () => string | undefined, onEvent: (e: HostEvent) => void): () => void {
  let socket: WebSocket | undefined;
  let closed = false;
  let attempt = 0;
  let everConnected = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const open = () => {
    const origin = location.origin.replace(/^http/, 'ws');
    socket = new WebSocket(`${origin}/ws/hosts/${encodeURIComponent(host)}/events?token=${encodeURIComponent(token() ?? '')}`);
    let fatal = false;
    socket.onmessage = (ev) => {
      try {
        const frame = JSON.parse(String(ev.data)) as { type: string; code?: string };
        if (frame.type === 'connected') { attempt = 0; everConnected = true; }
        // A gap (this feed fell behind) means changes were missed: the list is read again either way.
        if (frame.type === 'event' || frame.type === 'gap') onEvent(frame as HostEvent);
        if (frame.type === 'error' && frame.code !== 'upstream_unavailable') fatal = true;
      } catch { /* ignore */ }
    };
    socket.onclose = () => {
      // A server without the feed refuses the upgrade every time: stop after a few tries instead of polling it.
      if (closed || fatal || (!everConnected && attempt >= 3)) return;
      const delay = Math.min(10_000, 500 * 2 ** attempt++) * (0.5 + Math.random() / 2);
      timer = setTimeout(open, delay);
    };
  };
  open();
  return () => { closed = true; if (timer) clearTimeout(timer); socket?.close(1000); };
}
