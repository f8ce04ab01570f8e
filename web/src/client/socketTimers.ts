import type { SocketLike } from './LogStreamClient';

/** The timers a socket's owner uses; tests hand in fakes. */
export interface Timers { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void }

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Stops listening to a socket, then closes it: nothing it does afterwards reaches its owner. */
export function abandonSocket(socket: SocketLike, code: number, reason: string): void {
  socket.onclose = socket.onmessage = socket.onerror = socket.onopen = null;
  try { socket.close(code, reason); } catch { /* already closing */ }
}

/**
 * A deadline re-armed by every frame. A half-open connection (a dropped network) never closes by itself: when no
 * frame came within the timeout, the watch gives up on the current socket and reports it closed (1006), so its owner
 * reconnects as after any drop (the server's heartbeat comes every 15 s).
 */
export class IdleWatch {
  private handle: unknown;

  constructor(
    private readonly timers: () => Timers,
    private readonly timeoutMs: number,
    private readonly current: () => SocketLike | undefined,
    private readonly onClose: (code: number, reason: string) => void) {}

  arm(): void {
    this.clear();
    this.handle = this.timers().setTimeout(() => {
      this.handle = undefined;
      const socket = this.current();
      if (!socket) return;
      abandonSocket(socket, 4000, 'idle');
      this.onClose(1006, 'no frame within the idle timeout');
    }, this.timeoutMs);
  }

  clear(): void {
    if (this.handle !== undefined) this.timers().clearTimeout(this.handle);
    this.handle = undefined;
  }
}
