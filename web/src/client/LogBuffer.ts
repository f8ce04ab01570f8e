import type { EntryKind, LogFrame } from './frames';

/** One row of a view: a line, a gap marker or a notice, with the source (pane colour) it came from. */
export interface LogRow {
  /** Increasing per buffer: a stable React key and a position for "new since". */
  id: number;
  source: string;
  kind: EntryKind;
  frame: LogFrame;
  /** Sort key: the line's timestamp; a marker sorts right after its source's previous line. */
  key: string;
}

/**
 * The lines a view holds: bounded (the oldest are dropped and counted), merged across sources in timestamp order,
 * never holding a line twice. A line's identity is what Docker gives it (source, timestamp, output, text), the
 * same identity the server finds lines again by, so a line a reconnect would repeat is dropped even if the
 * server's cursor could not help (a second instance, an older server).
 */
export class LogBuffer {
  private rows: LogRow[] = [];
  private identities = new Set<string>();
  private lastKey = new Map<string, string>();
  private nextId = 1;
  private listeners = new Set<() => void>();
  /** Rows dropped because the buffer was full. */
  dropped = 0;
  /** Every row ever added (lines, gaps and notices). */
  added = 0;
  /** Lines refused as already held. */
  duplicates = 0;

  constructor(public maxRows = 10_000) {
    if (!Number.isInteger(maxRows) || maxRows < 1) throw new Error('maxRows must be a positive integer');
  }

  get length(): number { return this.rows.length; }
  /** The rows in order. The array is the buffer's own: copy it to keep a snapshot. */
  get view(): readonly LogRow[] { return this.rows; }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  clear(): void {
    this.rows = [];
    this.identities.clear();
    this.lastKey.clear();
    this.dropped = this.added = this.duplicates = 0;
    this.emit();
  }

  add(source: string, entries: readonly { kind: EntryKind; frame: LogFrame }[]): void {
    let changed = false;
    for (const { kind, frame } of entries) {
      let key: string;
      if (kind === 'line') {
        const identity = `${source}\u0000${frame.timestamp}\u0000${frame.stream ?? ''}\u0000${frame.message}`;
        if (this.identities.has(identity)) { this.duplicates++; continue; }
        this.identities.add(identity);
        key = frame.timestamp;
        this.lastKey.set(source, key);
      } else {
        key = this.lastKey.get(source) ?? frame.timestamp;
      }
      const row: LogRow = { id: this.nextId++, source, kind, frame, key };
      this.insert(row);
      this.added++;
      changed = true;
    }
    if (!changed) return;
    this.trim();
    this.emit();
  }

  private insert(row: LogRow): void {
    const rows = this.rows;
    // Live lines arrive in order: the common case is an append, checked first.
    if (rows.length === 0 || rows[rows.length - 1].key <= row.key) { rows.push(row); return; }
    let lo = 0, hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rows[mid].key <= row.key) lo = mid + 1; else hi = mid;
    }
    rows.splice(lo, 0, row);
  }

  private trim(): void {
    const excess = this.rows.length - this.maxRows;
    if (excess <= 0) return;
    const removed = this.rows.splice(0, excess);
    for (const row of removed) {
      if (row.kind === 'line') {
        this.identities.delete(`${row.source}\u0000${row.frame.timestamp}\u0000${row.frame.stream ?? ''}\u0000${row.frame.message}`);
      }
    }
    this.dropped += excess;
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}
