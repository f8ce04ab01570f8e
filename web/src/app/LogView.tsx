import { useEffect, useMemo, useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { AUTH_ERROR_CODES, type LogRow } from '../client';
import { ApiError } from './api';
import { downloadLog } from './download';
import { useLogStreams, type SourceState } from '../react';
import { Row, type RowOptions } from './Row';
import { pauseView, sourceKey, toRequest, type OpenSource, type PausedView, type QueryState } from './viewState';

const LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
const KEEP_CHOICES = [1_000, 5_000, 10_000, 50_000];

export interface LogViewProps {
  token: string;
  sources: OpenSource[];
  query: QueryState;
  onQuery(query: QueryState): void;
  onRemove(source: OpenSource): void;
  onAuthError(reason: string): void;
}

function banner(states: [OpenSource, SourceState | undefined][]): { kind: string; text: string } | undefined {
  for (const [source, state] of states) {
    if (!state) continue;
    const name = `${source.kind} ${source.id}`;
    if (state.status === 'failed') return { kind: 'error', text: `${name}: ${state.error?.message ?? state.message ?? 'failed'}${state.error?.code ? ` (${state.error.code})` : ''}` };
    if (state.status === 'reconnecting') return { kind: 'warn', text: `${name}: disconnected${state.message ? ` (${state.message})` : ''}; reconnecting in ${Math.ceil((state.retryInMs ?? 0) / 1000)} s (attempt ${state.attempt}), resuming where it stopped.` };
    if (state.status === 'retrying') return { kind: 'warn', text: `${name}: the Docker source stopped answering; the server is retrying.` };
    if (state.status === 'ended') return { kind: 'info', text: `${name}: ${state.message || 'the stream ended.'}` };
  }
  return undefined;
}

export function LogView({ token, sources, query, onQuery, onRemove, onAuthError }: LogViewProps) {
  const [timestamps, setTimestamps] = useState(true);
  const [wrap, setWrap] = useState(false);
  const [keep, setKeep] = useState(() => Number(sessionStorage.getItem('logsmigration.keep')) || 10_000);
  const [paused, setPaused] = useState<PausedView | undefined>();
  const [draft, setDraft] = useState(query);
  useEffect(() => setDraft(query), [query]);
  const filterInput = useRef<HTMLInputElement>(null);

  const streamSources = useMemo(() => sources.map((s) => ({ key: sourceKey(s), request: toRequest(s, query, 200) })), [sources, query]);
  const tokenRef = useRef(token);
  tokenRef.current = token;
  const streams = useLogStreams(streamSources, { token: () => tokenRef.current, maxLines: keep });
  const merged = sources.length > 1;
  // Side by side: one pane per source (the same rows, split), instead of the merged timestamp-ordered list.
  const [sideBySide, setSideBySide] = useState(() => sessionStorage.getItem('logsmigration.panes') === '1');
  const panes = merged && sideBySide;

  const labels = useMemo(() => new Map(sources.map((s, i) => [sourceKey(s), { label: s.id, colour: i % 8 }])), [sources]);
  // Highlights come from the server's `matches` only (src/app/highlight.ts says why).
  const options: RowOptions = useMemo(() => ({ timestamps, labels, merged }), [timestamps, labels, merged]);
  const paneOptions: RowOptions = useMemo(() => ({ timestamps, labels, merged: false }), [timestamps, labels]);

  const states = sources.map((s) => [s, streams.sources[sourceKey(s)]] as [OpenSource, SourceState | undefined]);
  useEffect(() => {
    for (const [, state] of states) {
      const code = state?.error?.code ?? state?.code;
      if (state?.status === 'failed' && code && AUTH_ERROR_CODES.has(code)) onAuthError(`${code}: ${state.error?.message ?? state.message}`);
    }
  });

  const rows = paused ? paused.rows : streams.rows;
  const waiting = paused ? streams.added - paused.added : 0;
  // One pass over the rows, not one per pane: at 10,000 rows and a publication every 100 ms it adds up.
  const paneRows = useMemo(() => {
    if (!panes) return undefined;
    const bySource = new Map<string, LogRow[]>(sources.map((src) => [sourceKey(src), []]));
    for (const row of rows) bySource.get(row.source)?.push(row);
    return bySource;
  }, [panes, sources, rows]);
  // The drop counts are frozen with the rows: a paused pane says how many rows older than the ones it shows are gone.
  const pause = () => setPaused((p) => p ?? pauseView(streams.rows, { added: streams.added, droppedFrom: (k) => streams.buffer.droppedFrom(k) }, sources.map(sourceKey)));
  const droppedFrom = (key: string) => (paused ? paused.droppedFrom.get(key) ?? 0 : streams.buffer.droppedFrom(key));
  const live = () => { setPaused(undefined); };

  // The page's own model, for the browser tests (and for anyone debugging in the console).
  useEffect(() => {
    const describe = (r: LogRow) => ({ kind: r.kind, source: r.source, message: r.frame.message, timestamp: r.frame.timestamp, level: r.frame.level, gap: r.frame.gap, replica: r.frame.metadata?.task_name ?? r.frame.metadata?.replica });
    (window as unknown as { __logsViewer: unknown }).__logsViewer = {
      last: () => { const v = streams.buffer.view; for (let i = v.length - 1; i >= 0; i--) if (v[i].kind === 'line') return v[i].frame.message; return undefined; },
      lines: () => streams.buffer.view.filter((r) => r.kind === 'line').map((r) => r.frame.message),
      rows: () => streams.buffer.view.map(describe),
      // What the list shows: the frozen rows while paused (the buffer goes on taking and dropping rows meanwhile).
      shown: () => rows.map(describe),
      stats: () => ({ held: streams.buffer.length, bytes: streams.buffer.bytes, added: streams.buffer.added, dropped: streams.buffer.dropped, duplicates: streams.duplicates(), droppedBySource: Object.fromEntries(sources.map((s) => [sourceKey(s), streams.buffer.droppedFrom(sourceKey(s))])), rendered: document.querySelectorAll('.rows .row').length, waiting, paused: !!paused, sources: streams.sources }),
    };
  });

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const typing = e.target instanceof HTMLElement && ['INPUT', 'TEXTAREA', 'SELECT'].includes(e.target.tagName);
      if (e.key === '/' && !typing) { e.preventDefault(); filterInput.current?.focus(); }
      else if (e.key === 'End' && !typing) { e.preventDefault(); live(); }
      else if (e.key === ' ' && !typing && !(e.target instanceof HTMLButtonElement)) { e.preventDefault(); if (paused) live(); else pause(); }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const apply = (e: React.FormEvent) => { e.preventDefault(); setPaused(undefined); onQuery(draft); };
  const single = sources.length === 1 ? sources[0] : undefined;
  const [download, setDownload] = useState<{ state: 'busy' | 'done' | 'error'; text: string }>();
  // A finished download's message belongs to the view it was made of.
  const downloadScope = `${single ? sourceKey(single) : ''}|${JSON.stringify(query)}`;
  useEffect(() => setDownload((d) => (d?.state === 'busy' ? d : undefined)), [downloadScope]);
  const startDownload = (format: 'text' | 'ndjson') => {
    if (!single || download?.state === 'busy') return;
    // The file is fetched into this tab and saved when complete: say so, a big one costs memory until then.
    setDownload({ state: 'busy', text: 'downloading… (held in this tab until saved; the server caps it, 256 MiB by default)' });
    downloadLog(toRequest(single, query, 0), format, tokenRef.current).then(
      (r) => setDownload({ state: 'done', text: r.truncated ? `saved ${r.fileName}, cut by the server's limit: ${r.truncated}` : `saved ${r.fileName}` }),
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 401) onAuthError(`${e.code}: ${e.message}`);
        setDownload({ state: 'error', text: `download failed: ${e instanceof ApiError ? `${e.message} (${e.code})` : String(e)}` });
      });
  };
  const shown = banner(states);

  return (
    <section className={`logview ${wrap ? 'wrap' : 'nowrap'}`} aria-label="Log">
      <div className="sources">
        {sources.map((s, i) => (
          <span key={sourceKey(s)} className={`chip c${i % 8}`} data-source={sourceKey(s)}>
            {s.kind} <b>{s.id}</b>{s.host !== 'local' ? ` @${s.host}` : ''}
            <span className="chip-status">{streams.sources[sourceKey(s)]?.status ?? 'connecting'}</span>
            <button aria-label={`Close ${s.kind} ${s.id}`} onClick={() => onRemove(s)}>×</button>
          </span>
        ))}
      </div>
      <form className="toolbar" onSubmit={apply}>
        <input ref={filterInput} name="filter" placeholder="filter (regex)  /" value={draft.filter} onChange={(e) => setDraft({ ...draft, filter: e.target.value })} aria-label="Filter (regular expression)" />
        <input name="exclude" placeholder="exclude (regex)" value={draft.exclude} onChange={(e) => setDraft({ ...draft, exclude: e.target.value })} aria-label="Exclude (regular expression)" />
        <span className="levels" role="group" aria-label="Levels">
          {LEVELS.map((l) => (
            <label key={l} className={`lvl-badge-${l}`}><input type="checkbox" checked={draft.levels.includes(l)}
              onChange={(e) => setDraft({ ...draft, levels: e.target.checked ? [...draft.levels, l] : draft.levels.filter((x) => x !== l) })} />{l}</label>
          ))}
        </span>
        <select value={draft.stream} onChange={(e) => setDraft({ ...draft, stream: e.target.value as QueryState['stream'] })} aria-label="Output">
          <option value="">stdout+stderr</option><option value="stdout">stdout</option><option value="stderr">stderr</option>
        </select>
        <input name="since" placeholder="since (15m, RFC 3339)" value={draft.since} onChange={(e) => setDraft({ ...draft, since: e.target.value })} aria-label="Since" size={12} />
        <input name="until" placeholder="until" value={draft.until} onChange={(e) => setDraft({ ...draft, until: e.target.value })} aria-label="Until" size={10} />
        <button type="submit">Apply</button>
      </form>
      <div className="controls">
        <button type="button" className="pause" onClick={() => (paused ? live() : pause())} aria-pressed={!!paused} title="Space">
          {paused ? `Resume (${waiting} new)` : 'Pause'}
        </button>
        {paused && <button type="button" className="jump" onClick={live} title="End">Jump to live ↓</button>}
        <label><input type="checkbox" checked={timestamps} onChange={(e) => setTimestamps(e.target.checked)} />timestamps</label>
        <label><input type="checkbox" checked={wrap} onChange={(e) => setWrap(e.target.checked)} />wrap</label>
        {merged && <label><input type="checkbox" name="panes" checked={sideBySide} onChange={(e) => { sessionStorage.setItem('logsmigration.panes', e.target.checked ? '1' : '0'); setSideBySide(e.target.checked); }} />side by side</label>}
        <label>keep <select value={keep} aria-label="Lines kept" onChange={(e) => { const n = Number(e.target.value); sessionStorage.setItem('logsmigration.keep', String(n)); setKeep(n); }}>
          {KEEP_CHOICES.map((n) => <option key={n} value={n}>{n.toLocaleString('en')}</option>)}
        </select> lines</label>
        {single && (
          <span className="downloads" title="The lines of this view's filter and range, from the server. The file is held in this tab until it is saved, so it costs the tab's memory up to the server's cap (Query:DownloadMaxLines / Query:DownloadMaxBytes, by default 1,000,000 lines or 256 MiB); a cut file ends with a line saying so.">
            download <button type="button" className="link" data-format="text" disabled={download?.state === 'busy'} onClick={() => startDownload('text')}>text</button>
            {' · '}<button type="button" className="link" data-format="ndjson" disabled={download?.state === 'busy'} onClick={() => startDownload('ndjson')}>ndjson</button>
            {download && <span className={`download-status download-${download.state}`} role="status">{download.text}</span>}
          </span>
        )}
        <span className="counts" aria-live="polite">
          {streams.rows.length.toLocaleString('en')} lines{streams.dropped > 0 ? ` · ${streams.dropped.toLocaleString('en')} older dropped (${streams.buffer.droppedFor === 'bytes' ? `keeping at most ${Math.round(streams.buffer.maxBytes / 2 ** 20)} MiB` : `keeping ${keep.toLocaleString('en')} lines`})` : ''}
        </span>
      </div>
      {shown && <div className={`banner banner-${shown.kind}`} role="status">{shown.text}</div>}
      {states.map(([s, st]) => st?.progress && st.progress.state === 'scanning' ? <div key={sourceKey(s)} className="banner banner-info">{s.id}: searching history, back to {st.progress.scanned_back_to}, {st.progress.found} found…</div> : null)}
      {panes ? (
        <div className="panes" style={{ gridTemplateColumns: `repeat(${sources.length}, minmax(0, 1fr))` }}>
          {sources.map((src) => (
            <div key={sourceKey(src)} className="pane" data-source={sourceKey(src)}>
              <div className={`pane-title c${labels.get(sourceKey(src))?.colour ?? 0}`}>{src.kind} {src.id}</div>
              {/* The buffer is shared: a busy source pushes a quiet one's lines out, and the quiet pane says so. */}
              {/* Rows, not lines: the count includes the source's gap and notice rows. */}
              {droppedFrom(sourceKey(src)) > 0 && (
                <div className="pane-dropped" role="status">{droppedFrom(sourceKey(src)).toLocaleString('en')} older rows dropped</div>
              )}
              <RowList rows={paneRows?.get(sourceKey(src)) ?? []} options={paneOptions} paused={!!paused} onScrollUp={pause} label={`Log lines of ${src.kind} ${src.id}`} />
            </div>
          ))}
        </div>
      ) : <RowList rows={rows} options={options} paused={!!paused} onScrollUp={pause} label="Log lines" />}
    </section>
  );
}

/** The rows of a view (or of one pane), virtual: only what is on screen is rendered; follows the end unless paused. */
function RowList({ rows, options, paused, onScrollUp, label }: { rows: readonly LogRow[]; options: RowOptions; paused: boolean; onScrollUp(): void; label: string }) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 20,
    overscan: 15,
    getItemKey: (i) => rows[i]?.id ?? i,
  });

  useEffect(() => {
    if (!paused && rows.length > 0) virtualizer.scrollToIndex(rows.length - 1, { align: 'end' });
  }, [rows, paused, virtualizer]);

  return (
    <div className="rows" ref={scroller} onWheel={(e) => { if (e.deltaY < 0 && !paused) onScrollUp(); }} role="table" aria-label={label} tabIndex={0}>
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative', width: '100%' }}>
        {virtualizer.getVirtualItems().map((item) => {
          const row = rows[item.index];
          if (!row) return null;
          return (
            <div key={item.key} data-index={item.index} ref={virtualizer.measureElement} className="vrow" style={{ transform: `translateY(${item.start}px)` }}>
              <Row row={row} options={options} />
            </div>
          );
        })}
      </div>
      {rows.length === 0 && <p className="muted empty">No lines yet.</p>}
    </div>
  );
}
