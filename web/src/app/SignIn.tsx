import { useState } from 'react';
import { describeToken } from './auth';

export function SignIn({ reason, onToken }: { reason?: string; onToken: (token: string) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string>();
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const info = describeToken(value.trim());
    if ('error' in info) { setError(info.error); return; }
    if (info.expiresAt && info.expiresAt < Date.now()) { setError('This token has expired.'); return; }
    onToken(value.trim());
  };
  return (
    <main className="signin">
      <form onSubmit={submit} aria-label="Sign in">
        <h1>LogsMigration logs</h1>
        <p>Paste the access token the auth service issued (kept in this tab only).</p>
        {reason && <p className="signin-reason" role="alert">{reason}</p>}
        <textarea name="token" value={value} onChange={(e) => setValue(e.target.value)} rows={5} placeholder="eyJhbGciOi…" spellCheck={false} />
        {error && <p className="signin-error" role="alert">{error}</p>}
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}
