/* tslint:disable */
/* eslint-disable */

export interface Affected extends ApiBody {
    connections: number;
    unanswered?: number;
}

export interface ApiBody {
}

export interface ApiError extends ApiBody {
    code: ErrorCode;
    key?: string;
    message: string;
    topic?: string;
    version?: number;
}

export interface Auth extends ClientFrame {
    id?: string;
    token: string;
    type: "auth";
}

export interface Change {
    data?: unknown;
    event?: string;
    idem?: string;
    ifVersion?: number;
    key?: string;
    op: Op;
    topic: string;
}

export interface ClientFrame {
    type: "auth" | "subscribe" | "unsubscribe" | "publish" | "ping";
}

export interface Connection {
    queued: Queued;
    remote: string;
    session: string;
    since: number;
    topics: string[];
    transport: string;
    user: string;
}

export interface Connections extends ApiBody {
    connections: Connection[];
    unanswered?: number;
}

export interface Entry {
    data: unknown;
    event?: string;
    key: string;
    seq: number;
}

export interface ErrorFrame extends ServerFrame {
    code: ErrorCode;
    id?: string;
    key?: string;
    message: string;
    topic?: string;
    type: "error";
    version?: number;
}

export interface EventFrame extends ServerFrame {
    data?: unknown;
    event?: string;
    key?: string;
    op: Op;
    seq: number;
    topic: string;
    type: "event";
}

export interface Health extends ApiBody {
    status: string;
}

export interface Ping extends ClientFrame {
    id?: string;
    type: "ping";
}

export interface Pong extends ServerFrame {
    id?: string;
    time: number;
    type: "pong";
}

export interface Position {
    epoch: string;
    seq: number;
}

export interface Publish extends ClientFrame {
    data?: unknown;
    event?: string;
    id?: string;
    idem?: string;
    ifVersion?: number;
    key?: string;
    op: Op;
    topic: string;
    type: "publish";
}

export interface Published extends ServerFrame {
    duplicate?: boolean;
    id?: string;
    seq: number;
    topic: string;
    type: "published";
}

export interface PublishResult {
    code?: ErrorCode;
    duplicate?: boolean;
    key?: string;
    seq?: number;
    topic: string;
    version?: number;
}

export interface PublishResults extends ApiBody {
    results: PublishResult[];
}

export interface Queued {
    bytes: number;
    frames: number;
}

export interface Refreshed extends ServerFrame {
    expires: number;
    id?: string;
    type: "refreshed";
}

export interface ServerFrame {
    type: "welcome" | "snapshot" | "event" | "refreshed" | "unsubscribed" | "published" | "pong" | "error";
}

export interface Snapshot extends ServerFrame {
    deleted?: string[];
    entries: Entry[];
    epoch: string;
    id?: string;
    seq: number;
    since?: number;
    topic: string;
    type: "snapshot";
}

export interface Subscribe extends ClientFrame {
    id?: string;
    since?: { [index: string]: Position };
    topics: string[];
    type: "subscribe";
}

export interface TopicList extends ApiBody {
    next?: string;
    topics: TopicSummary[];
}

export interface TopicState extends ApiBody {
    deleted?: string[];
    entries: Entry[];
    epoch: string;
    node?: string;
    seq: number;
    since?: number;
    topic: string;
}

export interface TopicSummary {
    entries: number;
    seq: number;
    subscribers: number;
    topic: string;
}

export interface Unsubscribe extends ClientFrame {
    id?: string;
    topics: string[];
    type: "unsubscribe";
}

export interface Unsubscribed extends ServerFrame {
    id?: string;
    topics: string[];
    type: "unsubscribed";
}

export interface Welcome extends ServerFrame {
    features: string[];
    heartbeat: number;
    protocol: number;
    session: string;
    type: "welcome";
    user: string | null;
}

export type ClientFrameUnion = Auth | Subscribe | Unsubscribe | Publish | Ping;

export type ErrorCode = "bad_request" | "unknown_type" | "invalid_topic" | "forbidden" | "unauthenticated" | "auth_failed" | "rate_limited" | "too_many_topics" | "payload_too_large" | "not_found" | "internal" | "conflict" | "unavailable";

export type Op = "set" | "append" | "delete" | "clear";

export type ServerFrameUnion = Welcome | Snapshot | EventFrame | Refreshed | Unsubscribed | Published | Pong | ErrorFrame;
