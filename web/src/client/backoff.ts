/** Reconnect delays: exponential with "equal jitter", so many pages dropped together do not return together. */
export interface BackoffOptions {
  /** First delay (default 500 ms). */
  initialMs?: number;
  /** Largest delay (default 10 s). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
}

/** The delay before reconnect attempt `attempt` (0-based): between half and all of the capped exponential. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 10_000;
  const factor = options.factor ?? 2;
  const capped = Math.min(max, initial * Math.pow(factor, Math.min(attempt, 30)));
  return Math.round(capped / 2 + random() * (capped / 2));
}
