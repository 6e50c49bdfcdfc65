import type { ErrorCode } from "./protocol.js";

/** An `error` frame from the server, or a failure of the client itself (`code` then says which). */
export class HeraldError extends Error {
  readonly code: ErrorCode | ClientErrorCode;
  readonly topic: string | undefined;
  /** A `conflict`: the key the conditional change named. */
  readonly key: string | undefined;
  /** A `conflict`: the key's current version (its seq, 0 when absent); read again and retry from it. */
  readonly version: number | undefined;

  constructor(code: ErrorCode | ClientErrorCode, message: string, topic?: string, conflict?: { key?: string; version?: number }) {
    super(topic === undefined ? `${code}: ${message}` : `${code} (${topic}): ${message}`);
    this.name = "HeraldError";
    this.code = code;
    this.topic = topic;
    this.key = conflict?.key;
    this.version = conflict?.version;
  }
}

/**
 * Failures the client reports without a server frame:
 * - `queue_full`: a publish found the offline queue full and was not queued;
 * - `connection_lost`: the connection dropped after a publish was sent and before its answer, and
 *   the client was made with `idempotent: false`, so whether the server applied it is unknown (the
 *   client resends only publishes with an idempotency key: without one a resend could apply it twice);
 * - `client_closed`: `close()` was called while the publish waited.
 */
export type ClientErrorCode = "queue_full" | "connection_lost" | "client_closed";
