export { HeraldClient, jwtExpiry } from "./client.js";
export type {
  ConnectionState,
  HeraldClientOptions,
  PublishRequest,
  PublishResult,
  StateChange,
  TokenSource,
  WebSocketConstructor,
  WebSocketLike,
} from "./client.js";
export { backoffDelay, RECONNECT_DEFAULTS } from "./backoff.js";
export type { ReconnectOptions } from "./backoff.js";
export { HeraldError } from "./errors.js";
export type { ClientErrorCode } from "./errors.js";
export { TopicView } from "./topic-view.js";
export type { EventOutcome, SnapshotInfo, SnapshotOutcome, TopicEntry, ViewStatus } from "./topic-view.js";
export type * from "./protocol.js";
