// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { downloadLog, fileNameFrom } from '../src/app/download';
import { ApiError } from '../src/app/api';

function fakeFetch(body: string, init: { status?: number; headers?: Record<string, string> } = {}) {
  const calls: { url: string; headers: Record<string, string> }[] = [];
  const f = (async (url: string, options: RequestInit) => {
    calls.push({ url, headers: options.headers as Record<string, string> });
    return new Response(body, { status: init.status ?? 200, headers: init.headers });
  }) as unknown as typeof fetch;
  return { f, calls };
}

describe('fileNameFrom', () => {
  it('reads the server\'s file name, quoted, bare or RFC 5987, and strips path parts', () => {
    expect(fileNameFrom('attachment; filename="container-web_start_20261201T100000Z.log"')).toBe('container-web_start_20261201T100000Z.log');
    expect(fileNameFrom('attachment; filename=plain.ndjson')).toBe('plain.ndjson');
    expect(fileNameFrom("attachment; filename=\"x.log\"; filename*=UTF-8''caf%C3%A9.log")).toBe('café.log');
    expect(fileNameFrom('attachment; filename="../../etc/passwd"')).toBe('.._.._etc_passwd');
    expect(fileNameFrom('attachment')).toBeUndefined();
    expect(fileNameFrom(null)).toBeUndefined();
  });
});

describe('downloadLog', () => {
  const request = { sourceType: 'container' as const, resourceId: 'web-1', hostId: 'local', filter: 'error' };

  it('sends the token in the Authorization header, never in the URL, and saves under the server\'s name', async () => {
    const { f, calls } = fakeFetch('2026-12-01T10:00:00Z level=error n=1\n', { headers: { 'Content-Disposition': 'attachment; filename="container-web-1_start_now.log"' } });
    const saved: { name: string; blob: Blob }[] = [];
    const result = await downloadLog(request, 'text', 'secret.jwt', { fetch: f, save: (blob, name) => { saved.push({ name, blob }); } });
    expect(calls).toHaveLength(1);
    expect(calls[0].url).not.toContain('secret');
    expect(new URL(calls[0].url).searchParams.get('token')).toBeNull();
    expect(new URL(calls[0].url).searchParams.get('filter')).toBe('error');
    expect(calls[0].headers.Authorization).toBe('Bearer secret.jwt');
    expect(result).toEqual({ fileName: 'container-web-1_start_now.log', bytes: 37, truncated: undefined });
    expect(saved.map((s) => s.name)).toEqual(['container-web-1_start_now.log']);
    expect(await saved[0].blob.text()).toBe('2026-12-01T10:00:00Z level=error n=1\n');
  });

  it('reports a file the server cut at its limit, in both formats', async () => {
    const text = fakeFetch('a\nb\n# [logs] truncated (max_bytes): 2 lines, 4 bytes sent; download again with since=2026-12-01T10:00:01Z\n');
    expect((await downloadLog(request, 'text', 't', { fetch: text.f, save: () => {} })).truncated).toMatch(/^\[logs\] truncated \(max_bytes\)/);
    const nd = fakeFetch('{"type":"log","message":"truncated words"}\n{"type":"truncated","reason":"max_lines","lines":2,"bytes":9,"next_since":"T"}\n');
    expect((await downloadLog(request, 'ndjson', 't', { fetch: nd.f, save: () => {} })).truncated).toBe('truncated (max_lines): 2 lines; download again with since=T');
    const whole = fakeFetch('{"type":"log","message":"a line that says truncated"}\n');
    expect((await downloadLog(request, 'ndjson', 't', { fetch: whole.f, save: () => {} })).truncated).toBeUndefined();
  });

  it('turns an error answer into an ApiError with the server\'s code, saving nothing', async () => {
    const { f } = fakeFetch('{"error":{"code":"token_expired","message":"The token has expired."}}', { status: 401 });
    let saved = false;
    const error = await downloadLog(request, 'text', 't', { fetch: f, save: () => { saved = true; } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect([(error as ApiError).status, (error as ApiError).code, saved]).toEqual([401, 'token_expired', false]);
  });
});
