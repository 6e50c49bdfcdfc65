/** How the client waits between reconnect attempts. */
export interface ReconnectOptions {
  /** Upper bound of the first delay, in ms. Default 500. */
  initialDelay?: number;
  /** No delay is longer than this, in ms. Default 30 000. */
  maxDelay?: number;
  /** Give up (state `closed`) after this many failed attempts in a row. Default: never give up. */
  maxAttempts?: number;
}

export const RECONNECT_DEFAULTS: Required<ReconnectOptions> = {
  initialDelay: 500,
  maxDelay: 30_000,
  maxAttempts: Infinity,
};

/**
 * Exponential backoff with full jitter: attempt n (1, 2, ...) waits a uniformly random time in
 * [0, min(maxDelay, initialDelay * 2^(n-1))). Full jitter spreads thousands of clients that lost the
 * same server over the whole window, so they do not come back as one storm.
 */
export function backoffDelay(attempt: number, options: Required<ReconnectOptions>, random: () => number): number {
  const ceiling = Math.min(options.maxDelay, options.initialDelay * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
