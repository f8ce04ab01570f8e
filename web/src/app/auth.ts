/** The access token: from the URL fragment (`#token=…`, removed at once) or the sign-in form; sessionStorage only. */
const KEY = 'logsmigration.token';

export interface TokenInfo { token: string; subject?: string; role?: string; expiresAt?: number }

/** Reads `#token=…` once, stores it, and removes it from the address bar (and from history) before anything else. */
export function takeTokenFromFragment(): void {
  const hash = location.hash.startsWith('#') ? location.hash.slice(1) : '';
  if (!hash) return;
  const params = new URLSearchParams(hash);
  const token = params.get('token');
  if (!token) return;
  params.delete('token');
  const rest = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
  sessionStorage.setItem(KEY, token.trim());
}

export function storedToken(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function storeToken(token: string): void { sessionStorage.setItem(KEY, token.trim()); }
export function forgetToken(): void { sessionStorage.removeItem(KEY); }

/** The claims the page shows; the signature is the server's to check. */
export function describeToken(token: string): TokenInfo | { error: string } {
  const parts = token.split('.');
  if (parts.length !== 3) return { error: 'This is not a JWT (three dot-separated parts).' };
  try {
    const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(parts[1].length / 4) * 4, '='));
    const claims = JSON.parse(json) as { sub?: string; role?: string; exp?: number; type?: string };
    if (claims.type && claims.type !== 'access') return { error: 'This is a refresh token; paste an access token.' };
    return { token, subject: claims.sub, role: claims.role, expiresAt: claims.exp ? claims.exp * 1000 : undefined };
  } catch {
    return { error: 'The token could not be read.' };
  }
}
