import { useCallback, useEffect, useState } from 'react';
import { describeToken, forgetToken, storeToken, storedToken } from './auth';
import { SignIn } from './SignIn';
import { Sidebar } from './Sidebar';
import { LogView } from './LogView';
import { readViewState, sourceKey, writeViewState, type OpenSource, type ViewState } from './viewState';

export function App() {
  const [token, setToken] = useState(storedToken);
  const [reason, setReason] = useState<string>();
  const [view, setView] = useState<ViewState>(() => readViewState(location.search));
  const [host, setHost] = useState(() => view.sources[0]?.host ?? 'local');
  const [menu, setMenu] = useState(false);

  const signOut = useCallback((why: string) => { forgetToken(); setToken(undefined); setReason(why); }, []);

  // An expired token goes back to the form with the reason, even when nothing is streaming.
  useEffect(() => {
    if (!token) return;
    const info = describeToken(token);
    if ('error' in info) { signOut(info.error); return; }
    if (!info.expiresAt) return;
    const left = info.expiresAt - Date.now();
    if (left <= 0) { signOut('Your token has expired: sign in with a new one.'); return; }
    const timer = setTimeout(() => signOut('Your token has expired: sign in with a new one.'), Math.min(left, 2 ** 31 - 1));
    return () => clearTimeout(timer);
  }, [token, signOut]);

  useEffect(() => {
    const url = `${location.pathname}${writeViewState(view)}`;
    if (url !== `${location.pathname}${location.search}`) history.replaceState(history.state, '', url);
  }, [view]);

  if (!token) return <SignIn reason={reason} onToken={(t) => { storeToken(t); setReason(undefined); setToken(t); }} />;

  const open = (source: OpenSource, add: boolean) => {
    setMenu(false);
    setView((v) => {
      if (add) return v.sources.some((s) => sourceKey(s) === sourceKey(source)) ? v : { ...v, sources: [...v.sources, source] };
      return { ...v, sources: [source] };
    });
  };
  return (
    <div className={`app ${menu ? 'menu-open' : ''}`}>
      <header>
        <button className="menu" aria-label="Show the list" onClick={() => setMenu(!menu)}>☰</button>
        <strong>LogsMigration</strong>
        <span className="muted small">{(() => { const i = describeToken(token); return 'error' in i ? '' : `${i.subject ?? ''} · ${i.role ?? ''}`; })()}</span>
        <button className="signout" onClick={() => signOut('Signed out.')}>Sign out</button>
      </header>
      <Sidebar token={token} host={host} onHost={setHost} onOpen={open}
        onOpenMany={(sources) => { setMenu(false); setView((v) => ({ ...v, sources })); }} onAuthError={signOut} />
      <main>
        {view.sources.length === 0
          ? <p className="muted empty">Choose a container, service, stack or system log on the left. “+” adds one to a merged view.</p>
          : <LogView token={token} sources={view.sources} query={view.query}
              onQuery={(query) => setView((v) => ({ ...v, query }))}
              onRemove={(s) => setView((v) => ({ ...v, sources: v.sources.filter((x) => sourceKey(x) !== sourceKey(s)) }))}
              onAuthError={signOut} />}
      </main>
    </div>
  );
}
