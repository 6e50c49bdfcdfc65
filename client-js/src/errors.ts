import type { ErrorCode } from "./protocol.js";

/** An `error` frame from the server, or a failure of the client itself (`code` then says which). */
export class HeraldError extends Error {
  readonly code: ErrorCode | ClientErrorCode;
  readonly topic: string | undefined;

  constructor(code: ErrorCode | ClientErrorCode, message: string, topic?: string) {
    super(topic === undefined ? `${code}: ${message}` : `${code} (${topic}): ${message}`);
    this.name = "HeraldError";
    this.code = code;
    this.topic = topic;
  }
}

/**
 * Failures the client reports without a server frame:
 * - `queue_full`: a publish found the offline queue full and was not queued;
 * - `connection_lost`: the connection dropped after a publish was sent and before its answer, so
 *   whether the server applied it is unknown (the client does not resend it: that could apply it twice);
 * - `client_closed`: `close()` was called while the publish waited.
 */
export type ClientErrorCode = "queue_full" | "connection_lost" | "client_closed";
