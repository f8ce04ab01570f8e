import { describe, expect, it } from 'vitest';
import { buildDownloadUrl, buildStreamUrl, routeUrl, type SourceType } from '../src/client';

const endpoint = { origin: 'https://logs.example.test' };

describe('buildStreamUrl', () => {
  it.each<[SourceType, string, string | undefined, string, string]>([
    ['container', 'web-1', undefined, 'wss://logs.example.test/ws/containers/web-1/logs', 'true'],
    ['service', 'api', 'mgr', 'wss://logs.example.test/api/v1/services/api/logs', 'false'],
    ['stack', 'shop', undefined, 'wss://logs.example.test/ws/stacks/shop/logs', 'false'],
    ['host', 'edge', undefined, 'wss://logs.example.test/ws/hosts/edge/logs', 'false'],
    ['daemon', 'edge', undefined, 'wss://logs.example.test/ws/daemon/edge/logs', 'false'],
  ])('%s: the route and the guide defaults (tail 100, follow true, timestamps %s)', (sourceType, resourceId, hostId, path, timestamps) => {
    const url = new URL(buildStreamUrl({ sourceType, resourceId, hostId }, endpoint, { token: 't.k.n' }));
    expect(`${url.origin}${url.pathname}`.replace('https:', 'wss:')).toBe(path);
    expect(url.searchParams.get('tail')).toBe('100');
    expect(url.searchParams.get('follow')).toBe('true');
    expect(url.searchParams.get('timestamps')).toBe(timestamps);
    expect(url.searchParams.get('format')).toBe('batch');
    expect(url.searchParams.get('token')).toBe('t.k.n');
    expect(url.searchParams.has('resume')).toBe(false);
  });

  it('host and daemon logs take the host from hostId when no resourceId is given, and send it as host_id', () => {
    const url = new URL(buildStreamUrl({ sourceType: 'daemon', hostId: 'edge' }, endpoint));
    expect(url.pathname).toBe('/ws/daemon/edge/logs');
    expect(url.searchParams.get('host_id')).toBe('edge');
  });

  it('builds the service route from the origin and the others from a configured base', () => {
    const custom = { origin: 'http://a.test:8080', wsBase: 'http://b.test/logs/ws/' };
    expect(routeUrl({ sourceType: 'service', resourceId: 's' }, custom)).toBe('ws://a.test:8080/api/v1/services/s/logs');
    expect(routeUrl({ sourceType: 'container', resourceId: 'c' }, custom)).toBe('ws://b.test/logs/ws/containers/c/logs');
  });

  it('escapes ids and refuses a missing one', () => {
    expect(routeUrl({ sourceType: 'container', resourceId: 'a/b' }, endpoint)).toContain('/containers/a%2Fb/logs');
    expect(() => routeUrl({ sourceType: 'container' }, endpoint)).toThrow(/resourceId/);
  });

  it('adds the resume cursor and the query extras, explicit values over defaults', () => {
    const url = new URL(buildStreamUrl({
      sourceType: 'container', resourceId: 'c', tail: 0, follow: false, timestamps: false, format: 'line',
      filter: 'err(or)?', exclude: 'health', levels: ['error', 'critical'], stream: 'stderr', since: '15m', until: '2026-12-01T10:00:00Z',
    }, endpoint, { resume: 'CUR_1-x' }));
    const p = url.searchParams;
    expect([p.get('tail'), p.get('follow'), p.get('timestamps'), p.get('format')]).toEqual(['0', 'false', 'false', 'line']);
    expect([p.get('filter'), p.get('exclude'), p.get('levels'), p.get('stream')]).toEqual(['err(or)?', 'health', 'error,critical', 'stderr']);
    expect([p.get('since'), p.get('until'), p.get('resume')]).toEqual(['15m', '2026-12-01T10:00:00Z', 'CUR_1-x']);
  });
});

describe('buildDownloadUrl', () => {
  it('names the kind and id and carries the same filter and range', () => {
    const url = new URL(buildDownloadUrl({ sourceType: 'service', resourceId: 'api', hostId: 'mgr', filter: 'error', since: '1h' }, 'http://x.test', 'ndjson'));
    expect(url.pathname).toBe('/api/v1/logs/service/api/download');
    expect(Object.fromEntries(url.searchParams)).toEqual({ host_id: 'mgr', filter: 'error', since: '1h', format: 'ndjson' });
  });
});
