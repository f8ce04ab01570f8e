import { useEffect, useMemo, useRef, useState } from 'react';
import {
  ApiError, listContainers, listHosts, listServices, listStacks,
  type Container, type Host, type Service, type Stack,
} from './api';
import { HostEventsFeed } from './events';
import type { OpenSource } from './viewState';
import type { SourceType } from '../client';

interface Listing { containers: Container[]; services: Service[]; stacks: Stack[]; errors: string[] }

export interface SidebarProps {
  token: string;
  host: string;
  onHost(host: string): void;
  onOpen(source: OpenSource, add: boolean): void;
  onOpenMany(sources: OpenSource[]): void;
  onAuthError(reason: string): void;
}

/** Hosts, then what each can show: containers (grouped by stack, compose project or service), services, stacks, system logs. */
export function Sidebar({ token, host, onHost, onOpen, onOpenMany, onAuthError }: SidebarProps) {
  const [hosts, setHosts] = useState<Host[] | undefined>();
  const [hostsError, setHostsError] = useState<string>();
  const [listing, setListing] = useState<Listing>({ containers: [], services: [], stacks: [], errors: [] });
  const [search, setSearch] = useState('');
  const [version, setVersion] = useState(0);

  const authCheck = (e: unknown) => {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) onAuthError(`${e.code}: ${e.message}`);
  };

  useEffect(() => {
    const abort = new AbortController();
    listHosts(token, abort.signal).then((h) => {
      setHosts(h);
      setHostsError(undefined);
      if (h.length > 0 && !h.some((x) => x.id === host)) onHost(h[0].id);
    }).catch((e: unknown) => {
      if (abort.signal.aborted) return;
      authCheck(e);
      setHostsError(e instanceof ApiError && e.status === 404 ? 'This server has no host listing yet.' : String((e as Error).message));
    });
    return () => abort.abort();
  }, [token]);

  useEffect(() => {
    const abort = new AbortController();
    const settle = <T,>(p: Promise<T>, what: string) => p.then((v) => ({ v })).catch((e: unknown) => {
      authCheck(e);
      return { e: `${what}: ${e instanceof ApiError && e.status === 404 ? 'not available on this server' : (e as Error).message}` };
    });
    Promise.all([
      settle(listContainers(host, token, abort.signal), 'containers'),
      settle(listServices(host, token, abort.signal), 'services'),
      settle(listStacks(host, token, abort.signal), 'stacks'),
    ]).then(([c, s, k]) => {
      if (abort.signal.aborted) return;
      setListing({
        containers: 'v' in c ? c.v : [], services: 'v' in s ? s.v : [], stacks: 'v' in k ? k.v : [],
        errors: [c, s, k].flatMap((r) => ('e' in r ? [r.e] : [])),
      });
    });
    return () => abort.abort();
  }, [host, token, version]);

  // The list follows the host: every container or service change re-reads it (debounced: a deploy is a burst), and so
  // does every (re)connect of the feed, so what started while it was down is listed too.
  const tokenRef = useRef(token);
  tokenRef.current = token;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const relist = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => setVersion((v) => v + 1), 300);
    };
    const feed = new HostEventsFeed({ host, origin: location.origin, token: () => tokenRef.current }, {
      onEvent: relist, onResync: relist, onAuthError: (reason) => onAuthError(reason),
    }).start();
    (window as unknown as { __logsEvents?: HostEventsFeed }).__logsEvents = feed;
    return () => { feed.stop(); if (timer) clearTimeout(timer); };
  }, [host]);

  const needle = search.trim().toLowerCase();
  const match = (...values: (string | null | undefined)[]) => !needle || values.some((v) => v?.toLowerCase().includes(needle));
  const groups = useMemo(() => {
    const byGroup = new Map<string, Container[]>();
    for (const c of listing.containers) {
      if (!match(c.name, c.image, c.stack, c.service, c.compose_project, c.id)) continue;
      const group = c.stack ? `stack ${c.stack}` : c.compose_project ? `compose ${c.compose_project}` : c.service ? `service ${c.service}` : '';
      byGroup.set(group, [...(byGroup.get(group) ?? []), c]);
    }
    return [...byGroup.entries()].sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)));
  }, [listing.containers, needle]);

  const item = (kind: SourceType, id: string, label: React.ReactNode, title?: string) => (
    <li key={`${kind}:${id}`} className="item">
      <button className="open" data-kind={kind} data-id={id} title={title ?? `Open ${kind} ${id}`} onClick={() => onOpen({ kind, host, id }, false)}>{label}</button>
      <button className="add" aria-label={`Add ${kind} ${id} to the merged view`} title="Add to the merged view" onClick={() => onOpen({ kind, host, id }, true)}>+</button>
    </li>
  );

  return (
    <nav className="sidebar" aria-label="Logs">
      <label className="host-select">Host{' '}
        {hosts ? (
          <select value={host} onChange={(e) => onHost(e.target.value)} aria-label="Host">
            {hosts.map((h) => <option key={h.id} value={h.id}>{h.id}{h.reachable ? '' : ' (unreachable)'}{h.swarm_role && h.swarm_role !== 'none' ? ` · ${h.swarm_role}` : ''}</option>)}
          </select>
        ) : <input value={host} onChange={(e) => onHost(e.target.value)} aria-label="Host" size={10} />}
      </label>
      {hosts?.find((h) => h.id === host && !h.reachable) && <p className="warn">This host does not answer{hosts.find((h) => h.id === host)?.error ? `: ${hosts.find((h) => h.id === host)?.error}` : ''}.</p>}
      {hostsError && <p className="muted">{hostsError}</p>}
      <input className="search" type="search" placeholder="Search containers, services, stacks" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Search the list" />
      <h2>Containers</h2>
      {groups.length === 0 && <p className="muted">none</p>}
      {groups.map(([group, containers]) => (
        <section key={group || 'ungrouped'}>
          {group && <h3>{group}</h3>}
          <ul>{containers.map((c) => item('container', c.name, (
            <><span className={`state state-${c.state}`} title={c.state}>●</span> {c.name} <span className="muted small">{c.image}</span></>
          ), `${c.name} · ${c.state} · ${c.image}`))}</ul>
        </section>
      ))}
      <h2>Services</h2>
      <ul>{listing.services.filter((s) => match(s.name, s.stack, s.id)).map((s) => item('service', s.name, (
        <>{s.name} <span className="muted small">{s.replicas_running}/{s.replicas_desired}</span></>
      )))}</ul>
      <h2>Stacks</h2>
      <ul>{listing.stacks.filter((s) => match(s.name, ...s.services)).map((s) => (
        <li key={s.name} className="item">
          <button className="open" data-kind="stack" data-id={s.name} onClick={() => onOpen({ kind: 'stack', host, id: s.name }, false)}>{s.name} <span className="muted small">{s.kind} · {s.services.length} services</span></button>
          <button className="add" title="Open its services side by side in one merged view" aria-label={`Merge the services of stack ${s.name}`}
            onClick={() => onOpenMany(s.services.map((id) => ({ kind: 'service', host, id })))}>⇉</button>
        </li>
      ))}</ul>
      <h2>System</h2>
      <ul>
        {item('host', host, <>host log of {host}</>)}
        {item('daemon', host, <>Docker daemon log of {host}</>)}
      </ul>
      {listing.errors.length > 0 && <p className="muted small">{listing.errors.join('; ')}</p>}
      <OpenByName host={host} onOpen={onOpen} />
    </nav>
  );
}

function OpenByName({ host, onOpen }: { host: string; onOpen: SidebarProps['onOpen'] }) {
  const [kind, setKind] = useState<SourceType>('container');
  const [id, setId] = useState('');
  return (
    <form className="open-by-name" onSubmit={(e) => { e.preventDefault(); if (id.trim()) onOpen({ kind, host, id: id.trim() }, false); }}>
      <h2>Open by name</h2>
      <select value={kind} onChange={(e) => setKind(e.target.value as SourceType)} aria-label="Kind">
        {(['container', 'service', 'stack'] as const).map((k) => <option key={k}>{k}</option>)}
      </select>
      <input value={id} onChange={(e) => setId(e.target.value)} placeholder="name or id" aria-label="Name or id" />
      <button type="submit">Open</button>
    </form>
  );
}
