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
