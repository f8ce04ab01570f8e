// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { describeToken, storedToken, takeTokenFromFragment } from '../src/app/auth';
import { readViewState, toRequest, writeViewState } from '../src/app/viewState';

describe('the token in the URL fragment', () => {
  it('is stored in sessionStorage and removed from the address, keeping the rest of the URL', () => {
    history.replaceState(null, '', '/?src=container:local:web-1#token=a.b.c&x=1');
    takeTokenFromFragment();
    expect(storedToken()).toBe('a.b.c');
    expect(localStorage.length).toBe(0);
    expect(location.hash).toBe('#x=1');
    expect(location.search).toBe('?src=container:local:web-1');
  });

  it('tells an expired or refresh token from a valid one, without trusting it', () => {
    const jwt = (claims: object) => `e30.${btoa(JSON.stringify(claims)).replace(/=+$/, '')}.sig`;
    expect(describeToken(jwt({ sub: 'u', role: 'viewer', exp: 2_000_000_000, type: 'access' }))).toMatchObject({ subject: 'u', role: 'viewer', expiresAt: 2_000_000_000_000 });
    expect(describeToken(jwt({ type: 'refresh' }))).toEqual({ error: 'This is a refresh token; paste an access token.' });
    expect(describeToken('nope')).toHaveProperty('error');
  });
});

describe('the shareable view state', () => {
  it('round-trips sources and the query, readable and without the token', () => {
    const search = '?src=container:local:web-1&src=service:edge:api&filter=err(or)?&levels=error,critical&since=15m';
    const state = readViewState(search);
    expect(state.sources).toEqual([{ kind: 'container', host: 'local', id: 'web-1' }, { kind: 'service', host: 'edge', id: 'api' }]);
    expect(state.query).toMatchObject({ filter: 'err(or)?', levels: ['error', 'critical'], since: '15m' });
    const written = writeViewState(state);
    expect(written).toContain('src=container:local:web-1');
    expect(readViewState(written)).toEqual(state);
    expect(readViewState('?src=bogus:x:y&src=container::').sources).toEqual([]);
  });

  it('asks the server for the filter, frame timestamps instead of text prefixes, and history then live', () => {
    const q = readViewState('?filter=error&until=2026-12-01T10:00:00Z').query;
    expect(toRequest({ kind: 'daemon', host: 'edge', id: 'edge' }, q, 200)).toMatchObject({
      sourceType: 'daemon', resourceId: 'edge', hostId: 'edge', tail: 200, timestamps: false, follow: false, filter: 'error', progress: true,
    });
  });
});
