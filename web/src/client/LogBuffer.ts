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

/** What a view may hold: rows and estimated bytes; the oldest rows go first when either is passed. */
export interface LogBufferLimits {
  /** Rows kept (default 10,000). */
  maxRows?: number;
  /** Estimated bytes of the rows kept (default 32 MiB; see estimateRowBytes). */
  maxBytes?: number;
}

export const DEFAULT_MAX_ROWS = 10_000;
export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

/** Fixed cost of a row beyond its strings: the row and frame objects, their fields, the array slot. */
const ROW_OVERHEAD_BYTES = 320;

/**
 * What a row costs the tab, estimated: JavaScript strings are UTF-16 (2 bytes a character), and a line's text is
 * held three times (`message`, `data`, and the identity the buffer finds repeats by). Rows count their own share,
 * so a burst of long JSON lines is bounded like a flood of short ones.
 */
export function estimateRowBytes(frame: LogFrame): number {
  let chars = frame.message.length * 2 + (frame.data?.length ?? 0) + (frame.timestamp?.length ?? 0) * 2
    + (frame.cursor?.length ?? 0) + (frame.epoch?.length ?? 0) + (frame.source_id?.length ?? 0);
  if (frame.metadata) for (const k in frame.metadata) chars += k.length + (frame.metadata[k]?.length ?? 0);
  if (frame.matches) chars += frame.matches.length * 16;
  return ROW_OVERHEAD_BYTES + chars * 2;
}

/**
 * The lines a view holds: bounded by rows and by bytes (the oldest are dropped and counted), merged across sources in timestamp order,
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
  /**
   * Rows dropped per source: in a merged buffer a busy source pushes a quiet one's lines out, and a pane of the quiet
   * one must say so even though its own lines are few.
   */
  private droppedBySource = new Map<string, number>();
  /** Every row ever added (lines, gaps and notices). */
  added = 0;
  /** Lines refused as already held. */
  duplicates = 0;
  /** Estimated bytes of the rows held (estimateRowBytes). */
  bytes = 0;
  /** Which bound dropped rows last: `rows` (maxRows) or `bytes` (maxBytes); undefined while nothing was dropped. */
  droppedFor: 'rows' | 'bytes' | undefined;
  readonly maxRows: number;
  readonly maxBytes: number;
  private rowBytes = new WeakMap<LogRow, number>();

  /** `new LogBuffer(5000)` (rows) or `new LogBuffer({ maxRows, maxBytes })`. */
  constructor(limits: number | LogBufferLimits = {}) {
    const l = typeof limits === 'number' ? { maxRows: limits } : limits;
    this.maxRows = l.maxRows ?? DEFAULT_MAX_ROWS;
    this.maxBytes = l.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!Number.isInteger(this.maxRows) || this.maxRows < 1) throw new Error('maxRows must be a positive integer');
    if (!Number.isFinite(this.maxBytes) || this.maxBytes < 1) throw new Error('maxBytes must be a positive number');
  }

  get length(): number { return this.rows.length; }
  /** How many of `source`'s rows were dropped as the oldest (0 for a source never trimmed). */
  droppedFrom(source: string): number { return this.droppedBySource.get(source) ?? 0; }
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
    this.droppedBySource.clear();
    this.dropped = this.added = this.duplicates = this.bytes = 0;
    this.droppedFor = undefined;
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
      const size = estimateRowBytes(frame);
      this.rowBytes.set(row, size);
      this.bytes += size;
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
    // The newest row stays even when it alone is over the byte bound: a view never goes blank.
    let excess = 0, freed = 0, byBytes = false;
    const rows = this.rows;
    while (excess < rows.length - 1) {
      const overRows = rows.length - excess > this.maxRows;
      const overBytes = this.bytes - freed > this.maxBytes;
      if (!overRows && !overBytes) break;
      if (!overRows) byBytes = true;
      freed += this.rowBytes.get(rows[excess]) ?? 0;
      excess++;
    }
    if (excess === 0) return;
    const removed = rows.splice(0, excess);
    for (const row of removed) {
      this.droppedBySource.set(row.source, (this.droppedBySource.get(row.source) ?? 0) + 1);
      if (row.kind === 'line') {
        this.identities.delete(`${row.source}\u0000${row.frame.timestamp}\u0000${row.frame.stream ?? ''}\u0000${row.frame.message}`);
      }
    }
    this.bytes -= freed;
    this.dropped += excess;
    this.droppedFor = byBytes ? 'bytes' : 'rows';
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}
