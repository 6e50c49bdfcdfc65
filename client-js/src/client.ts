import { backoffDelay, RECONNECT_DEFAULTS, type ReconnectOptions } from "./backoff.js";
import { HeraldError } from "./errors.js";
import type { Change, ClientFrameUnion, ErrorFrame, Position, ServerFrameUnion, Welcome } from "./protocol.js";
import { TopicView } from "./topic-view.js";

/** A token, or a function that fetches a fresh one (called before every connect and every refresh). */
export type TokenSource = string | (() => string | Promise<string>);

/** The part of the WebSocket API the client uses: the browser's, Node 22's global one, or the `ws` package's. */
export interface WebSocketLike {
  readonly readyState: number;
  /** The subprotocol the server selected ("" or undefined for none). */
  readonly protocol?: string;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string[]) => WebSocketLike;

/** The subprotocol in which every server message is a JSON array of frames; asked for by default. */
export const BATCH_PROTOCOL = "herald.v1.batch";
/** The plain subprotocol, offered beside it, so that a server without batching still answers one. */
export const PLAIN_PROTOCOL = "herald.v1";

export interface HeraldClientOptions {
  /** The WebSocket endpoint, e.g. `wss://push.example.com/ws`. */
  url: string;
  /** Sent in the first frame (`auth`), so it never appears in URLs or access logs. Leave out when auth is off. */
  token?: TokenSource;
  /** The WebSocket implementation; default `globalThis.WebSocket`. On Node 20 pass `WebSocket` from the `ws` package. */
  WebSocket?: WebSocketConstructor;
  reconnect?: ReconnectOptions;
  /** How many publishes wait while disconnected; one more is rejected with `queue_full`. Default 100. */
  publishQueue?: number;
  /** Refresh the token this many ms before it expires (at most half its remaining life). Default 30 000. */
  refreshBefore?: number;
  /** Ping interval in ms; default: the server's `welcome.heartbeat`. */
  heartbeat?: number;
  /** Random source for the backoff jitter, in [0, 1); tests make it predictable. */
  random?: () => number;
  /**
   * Ask for batched delivery (the subprotocol `herald.v1.batch`: several frames per message, far less
   * work per frame on both sides). Default true; a server that does not offer it sends frames one by one.
   */
  batch?: boolean;
  /**
   * Give every publish an idempotency key (`idem`, unless it has its own), so that a publish sent again
   * is applied once: publishes whose answer a dropped connection swallowed are sent again after the
   * reconnect instead of failing with `connection_lost`. Default true.
   */
  idempotent?: boolean;
  /**
   * After a reconnect (or a gap), ask for only what changed since the state each view holds (a delta
   * snapshot) instead of the whole topic. Default true; the server answers a full snapshot whenever
   * it cannot give a delta.
   */
  resume?: boolean;
}

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export interface StateChange {
  readonly state: ConnectionState;
  /** The attempt being made (`connecting`) or coming next (`reconnecting`); counts from 1 since the last open. */
  readonly attempt: number;
  /** `reconnecting`: ms until the next attempt. */
  readonly delay?: number;
  /** The close code that led here, when a close did. */
  readonly code?: number;
  readonly reason?: string;
}

/**
 * One change to publish: `set` and `delete` name a `key`; `set` and `append` carry `data`. `ifVersion`
 * (set and delete) applies it only if the key's seq is still that (0: only if absent), else the publish
 * rejects with a `conflict` error carrying the current `version`. `idem` is filled in unless given.
 */
export type PublishRequest = Change;

export interface PublishResult {
  readonly topic: string;
  readonly seq: number;
  /** The change had been applied already (its `idem` was seen, for example before a reconnect): this is its seq. */
  readonly duplicate?: boolean;
}

/** Close codes after which reconnecting cannot help (PROTOCOL.md section 6). */
const FINAL_CODES = new Set([1000, 1003, 1009]);
/** A new token is needed first: not authenticated (4001), expired (4002), disconnected by an operator (4003). */
const TOKEN_CODES = new Set([4001, 4002, 4003]);
const RATE_LIMITED = 4029;
/** A 4029 close starts the backoff this many doublings further on: the server asked for a longer pause. */
const RATE_LIMIT_EXTRA_DOUBLINGS = 3;
const MAX_TOPICS_PER_FRAME = 100;

interface PendingPublish {
  /** With its `idem` filled in, so that a resend is the same change. */
  readonly request: PublishRequest;
  readonly resolve: (result: PublishResult) => void;
  readonly reject: (error: HeraldError) => void;
}

/**
 * A connection to Herald that stays up: it authenticates, keeps every subscription's view current
 * across reconnects, queues publishes while offline, pings, and refreshes its token in-band.
 */
export class HeraldClient {
  private readonly options: HeraldClientOptions;
  private readonly reconnectOptions: Required<ReconnectOptions>;
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly views = new Map<string, TopicView>();
  /** Views the server ended (`unsubscribed` unasked), until the `error` that says why arrives. */
  private readonly endedByServer = new Map<string, TopicView>();
  private readonly queue: PendingPublish[] = [];
  private readonly inFlight = new Map<string, PendingPublish>();
  private readonly pendingSubscribes = new Map<string, Set<string>>();
  /** Views refused with `unavailable` (a durable topic whose database is away), each asked again after a backoff. */
  private readonly retries = new Map<TopicView, { attempt: number; timer: ReturnType<typeof setTimeout> }>();
  private readonly stateListeners = new Set<(change: StateChange) => void>();
  private readonly latencyListeners = new Set<(ms: number) => void>();
  private readonly errorListeners = new Set<(error: HeraldError) => void>();

  private socket: WebSocketLike | undefined;
  /** The token the current connection authenticated with; its `exp` says when to refresh. */
  private connectionToken: string | undefined;
  private welcome: Welcome | undefined;
  private currentState: ConnectionState = "connecting";
  private attempt = 0;
  private closedByUser = false;
  private nextRequest = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private outstandingPing: { id: string; sentAt: number } | undefined;
  private lastLatency: number | undefined;

  constructor(options: HeraldClientOptions) {
    const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (WebSocketImpl === undefined) {
      throw new Error("no WebSocket implementation: pass options.WebSocket (on Node 20, the `ws` package's WebSocket)");
    }
    this.options = options;
    this.WebSocketImpl = WebSocketImpl;
    this.reconnectOptions = { ...RECONNECT_DEFAULTS, ...options.reconnect };
    // Started after the constructor returns, so listeners added right after `new` see every state.
    queueMicrotask(() => void this.connect());
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The server's id for the current connection (from `welcome`), undefined while not open. */
  get session(): string | undefined {
    return this.welcome?.session;
  }

  /** The user the server authenticated (null when auth is off), undefined while not open. */
  get user(): string | null | undefined {
    return this.welcome?.user;
  }

  /** The last ping's round trip in ms. */
  get latency(): number | undefined {
    return this.lastLatency;
  }

  onState(listener: (change: StateChange) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  onLatency(listener: (ms: number) => void): () => void {
    this.latencyListeners.add(listener);
    return () => this.latencyListeners.delete(listener);
  }

  /** Errors that belong to no request and no view, for example `rate_limited` or a frame that is not JSON. */
  onError(listener: (error: HeraldError) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /**
   * The live view of a topic. Subscribing again to a topic already subscribed returns the same view.
   * The view survives reconnects: the client subscribes again and the fresh snapshot replaces its state.
   */
  subscribe(topic: string): TopicView {
    if (this.closedByUser) {
      throw new Error("the client is closed");
    }
    const existing = this.views.get(topic);
    if (existing !== undefined) {
      return existing;
    }
    const view = new TopicView(topic, (v) => this.detach(v), (v) => this.requestSnapshots([v]));
    this.views.set(topic, view);
    this.requestSnapshots([view]);
    return view;
  }

  /**
   * Publishes one change; resolves with its seq, or rejects with the server's error. While not
   * connected the change waits in a bounded queue and is sent, in order, once the connection is back.
   */
  publish(request: PublishRequest): Promise<PublishResult> {
    return new Promise((resolve, reject) => {
      const withIdem = this.options.idempotent === false || request.idem !== undefined
        ? request : { ...request, idem: newIdem() };
      const pending = { request: withIdem, resolve, reject };
      if (this.closedByUser) {
        reject(new HeraldError("client_closed", "the client is closed"));
      } else if (this.isOpen()) {
        this.sendPublish(pending);
      } else if (this.queue.length >= (this.options.publishQueue ?? 100)) {
        reject(new HeraldError("queue_full", `${this.queue.length} publishes already wait for the connection`));
      } else {
        this.queue.push(pending);
      }
    });
  }

  /** Closes for good: no reconnect; waiting publishes are rejected with `client_closed`. */
  close(): void {
    if (this.closedByUser) {
      return;
    }
    this.closedByUser = true;
    clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    this.endConnection(new HeraldError("client_closed", "the client was closed"));
    socket?.close(1000, "client closed");
    this.rejectQueued("the client was closed before this publish was sent");
    for (const view of this.views.values()) {
      this.forgetRetry(view);
      view.setStatus("closed");
    }
    this.views.clear();
    this.setState({ state: "closed", attempt: 0, code: 1000, reason: "client closed" });
  }

  private async connect(): Promise<void> {
    if (this.closedByUser) {
      return;
    }
    this.attempt += 1;
    this.setState({ state: "connecting", attempt: this.attempt });
    let token: string | undefined;
    try {
      token = await this.currentToken();
    } catch (e) {
      this.reportError(new HeraldError("auth_failed", `the token provider failed: ${String(e)}`));
      this.scheduleReconnect(undefined, "token provider failed");
      return;
    }
    if (this.closedByUser) {
      return;
    }
    this.connectionToken = token;
    const socket = this.options.batch === false
      ? new this.WebSocketImpl(this.options.url)
      : new this.WebSocketImpl(this.options.url, [BATCH_PROTOCOL, PLAIN_PROTOCOL]);
    this.socket = socket;
    socket.onopen = () => {
      if (token !== undefined) {
        this.send({ type: "auth", id: this.requestId(), token });
      }
    };
    socket.onmessage = (event: { data: unknown }) => {
      if (socket === this.socket) {
        this.receive(event.data);
      }
    };
    socket.onclose = (event: { code: number; reason: string }) => {
      if (socket === this.socket) {
        this.lost(event.code, event.reason);
      }
    };
    // A failed connection is followed by its close event, which does the work.
    socket.onerror = () => undefined;
  }

  private async currentToken(): Promise<string | undefined> {
    const token = this.options.token;
    return typeof token === "function" ? await token() : token;
  }

  /** One server message: a frame, or (batched delivery) an array of frames in order. */
  private receive(data: unknown): void {
    let parsed: ServerFrameUnion | ServerFrameUnion[];
    try {
      parsed = JSON.parse(String(data)) as ServerFrameUnion | ServerFrameUnion[];
    } catch {
      this.reportError(new HeraldError("bad_request", "the server sent a frame that is not JSON"));
      return;
    }
    for (const frame of Array.isArray(parsed) ? parsed : [parsed]) {
      this.handle(frame);
    }
  }

  private handle(frame: ServerFrameUnion): void {
    switch (frame.type) {
      case "welcome":
        this.opened(frame);
        break;
      case "snapshot": {
        if (frame.id !== undefined) {
          this.answered(frame.id, frame.topic);
        }
        const view = this.views.get(frame.topic);
        if (view !== undefined) {
          this.forgetRetry(view);
        }
        if (view?.applySnapshot(frame, frame.id === undefined) === "mismatch") {
          this.requestSnapshots([view], false);
        }
        break;
      }
      case "event": {
        const view = this.views.get(frame.topic);
        if (view?.applyEvent(frame) === "gap") {
          this.requestSnapshots([view]);
        }
        break;
      }
      case "published": {
        const pending = frame.id === undefined ? undefined : this.inFlight.get(frame.id);
        if (pending !== undefined) {
          this.inFlight.delete(frame.id!);
          pending.resolve(frame.duplicate === true
            ? { topic: frame.topic, seq: frame.seq, duplicate: true }
            : { topic: frame.topic, seq: frame.seq });
        }
        break;
      }
      case "unsubscribed":
        if (frame.id === undefined) {
          for (const topic of frame.topics) {
            this.serverEnded(topic);
          }
        }
        break;
      case "refreshed":
        this.scheduleRefresh(frame.expires);
        break;
      case "pong":
        if (this.outstandingPing !== undefined && frame.id === this.outstandingPing.id) {
          this.lastLatency = now() - this.outstandingPing.sentAt;
          this.outstandingPing = undefined;
          const latency = this.lastLatency;
          this.latencyListeners.forEach((listener) => listener(latency));
        }
        break;
      case "error":
        this.failed(frame);
        break;
    }
  }

  private opened(welcome: Welcome): void {
    this.welcome = welcome;
    this.attempt = 0;
    this.setState({ state: "open", attempt: 0 });
    const interval = this.options.heartbeat ?? welcome.heartbeat;
    this.heartbeatTimer = setInterval(() => this.heartbeat(), interval);
    // The first ping goes out at once, so a fresh connection has its latency right away.
    this.heartbeat();
    const expires = this.connectionToken === undefined ? undefined : jwtExpiry(this.connectionToken);
    if (expires !== undefined) {
      this.scheduleRefresh(expires);
    }
    this.requestSnapshots([...this.views.values()]);
    for (const pending of this.queue.splice(0)) {
      this.sendPublish(pending);
    }
  }

  private failed(frame: ErrorFrame): void {
    const error = new HeraldError(frame.code, frame.message, frame.topic, { key: frame.key, version: frame.version });
    const id = frame.id;
    const publish = id === undefined ? undefined : this.inFlight.get(id);
    if (publish !== undefined) {
      this.inFlight.delete(id!);
      publish.reject(error);
      return;
    }
    const subscribeTopics = id === undefined ? undefined : this.pendingSubscribes.get(id);
    if (subscribeTopics !== undefined) {
      const refused = frame.topic !== undefined ? [frame.topic] : [...subscribeTopics];
      for (const topic of refused) {
        this.answered(id!, topic);
        const view = this.views.get(topic);
        view?.setStatus("failed", error);
        if (view !== undefined && frame.code === "unavailable") {
          this.retryLater(view);
        }
      }
      return;
    }
    const ended = frame.topic === undefined ? undefined : this.endedByServer.get(frame.topic);
    if (ended !== undefined) {
      this.endedByServer.delete(frame.topic!);
      ended.setStatus("closed", error);
      return;
    }
    this.reportError(error);
  }

  /** One topic of a subscribe request got its snapshot or its error. */
  private answered(id: string, topic: string): void {
    const topics = this.pendingSubscribes.get(id);
    topics?.delete(topic);
    if (topics?.size === 0) {
      this.pendingSubscribes.delete(id);
    }
  }

  private serverEnded(topic: string): void {
    const view = this.views.get(topic);
    if (view !== undefined) {
      this.views.delete(topic);
      this.endedByServer.set(topic, view);
      view.setStatus("closed");
    }
  }

  /**
   * Subscribes the views (again), each from the position it holds when `resume` allows: the server
   * then sends only what changed since, or a full snapshot when it cannot.
   */
  private requestSnapshots(views: TopicView[], resume = this.options.resume !== false): void {
    for (const view of views) {
      view.setStatus(view.epoch === undefined ? "pending" : "resyncing");
    }
    if (!this.isOpen()) {
      return;
    }
    for (let i = 0; i < views.length; i += MAX_TOPICS_PER_FRAME) {
      const batch = views.slice(i, i + MAX_TOPICS_PER_FRAME);
      const id = this.requestId();
      this.pendingSubscribes.set(id, new Set(batch.map((view) => view.topic)));
      const since: Record<string, Position> = {};
      for (const view of batch) {
        if (resume && view.epoch !== undefined) {
          since[view.topic] = { epoch: view.epoch, seq: view.seq };
        }
      }
      this.send(Object.keys(since).length === 0
        ? { type: "subscribe", id, topics: batch.map((view) => view.topic) }
        : { type: "subscribe", id, topics: batch.map((view) => view.topic), since });
    }
  }

  /**
   * `unavailable` is the server saying "not now" (a durable topic's database is away): the view
   * stays `failed` with that error and is asked for again with the reconnect backoff, until it works.
   */
  private retryLater(view: TopicView): void {
    const attempt = (this.retries.get(view)?.attempt ?? 0) + 1;
    const delay = Math.max(backoffDelay(attempt, this.reconnectOptions, this.options.random ?? Math.random), 100);
    const timer = setTimeout(() => {
      if (this.views.get(view.topic) === view && view.status === "failed") {
        this.requestSnapshots([view]);
      }
    }, delay);
    this.retries.set(view, { attempt, timer });
  }

  private forgetRetry(view: TopicView): void {
    clearTimeout(this.retries.get(view)?.timer);
    this.retries.delete(view);
  }

  private detach(view: TopicView): void {
    this.forgetRetry(view);
    if (this.views.get(view.topic) !== view) {
      return;
    }
    this.views.delete(view.topic);
    if (this.isOpen()) {
      this.send({ type: "unsubscribe", id: this.requestId(), topics: [view.topic] });
    }
  }

  private sendPublish(pending: PendingPublish): void {
    const id = this.requestId();
    this.inFlight.set(id, pending);
    this.send({ type: "publish", id, ...pending.request });
  }

  private heartbeat(): void {
    if (this.outstandingPing !== undefined) {
      // A whole interval without the pong: the connection is dead even if TCP has not noticed.
      const socket = this.socket;
      this.lost(1006, "no pong within the heartbeat interval");
      socket?.close(4000, "no pong");
      return;
    }
    const id = this.requestId();
    this.outstandingPing = { id, sentAt: now() };
    this.send({ type: "ping", id });
  }

  private scheduleRefresh(expires: number): void {
    clearTimeout(this.refreshTimer);
    if (typeof this.options.token !== "function") {
      return;
    }
    const remaining = expires - Date.now();
    const lead = Math.min(this.options.refreshBefore ?? 30_000, remaining / 2);
    const socket = this.socket;
    this.refreshTimer = setTimeout(() => void this.refresh(socket), Math.max(0, remaining - lead));
  }

  private async refresh(socket: WebSocketLike | undefined): Promise<void> {
    try {
      const token = await this.currentToken();
      if (token !== undefined && socket === this.socket && this.isOpen()) {
        this.send({ type: "auth", id: this.requestId(), token });
      }
    } catch (e) {
      // The server closes with 4002 at expiry; the reconnect asks the provider again.
      this.reportError(new HeraldError("auth_failed", `the token provider failed during refresh: ${String(e)}`));
    }
  }

  /** The connection is gone: clean up, then reconnect unless the close code says it cannot help. */
  private lost(code: number, reason: string): void {
    this.endConnection(new HeraldError("connection_lost", `the connection closed (${code}) before the answer came`));
    if (this.closedByUser) {
      return;
    }
    if (FINAL_CODES.has(code) || (TOKEN_CODES.has(code) && typeof this.options.token !== "function")) {
      this.closedByUser = true;
      this.rejectQueued(`the connection closed for good (${code}) before this publish was sent`);
      this.setState({ state: "closed", attempt: 0, code, reason });
      return;
    }
    this.scheduleReconnect(code, reason);
  }

  private endConnection(inFlightError: HeraldError): void {
    const socket = this.socket;
    if (socket !== undefined) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    }
    this.socket = undefined;
    this.welcome = undefined;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.refreshTimer);
    this.outstandingPing = undefined;
    this.pendingSubscribes.clear();
    this.endedByServer.clear();
    // Sent but unanswered: with an idem key they go first when the connection is back (a repeat of
    // one the server applied is answered with its seq, not applied again); without, nobody can say.
    const unanswered = [...this.inFlight.values()];
    this.inFlight.clear();
    const resend = unanswered.filter((pending) => pending.request.idem !== undefined && !this.closedByUser);
    this.queue.unshift(...resend);
    for (const pending of unanswered.filter((p) => !resend.includes(p))) {
      pending.reject(inFlightError);
    }
    for (const view of this.views.values()) {
      if (view.status === "live" || view.status === "resyncing") {
        view.setStatus("pending");
      }
    }
  }

  private scheduleReconnect(code: number | undefined, reason: string): void {
    if (this.attempt >= this.reconnectOptions.maxAttempts) {
      this.closedByUser = true;
      this.rejectQueued(`gave up reconnecting after ${this.attempt} attempts before this publish was sent`);
      this.setState({ state: "closed", attempt: this.attempt, code, reason: `gave up after ${this.attempt} attempts: ${reason}` });
      return;
    }
    const next = this.attempt + 1;
    const doublings = code === RATE_LIMITED ? next + RATE_LIMIT_EXTRA_DOUBLINGS : next;
    const delay = backoffDelay(doublings, this.reconnectOptions, this.options.random ?? Math.random);
    this.setState({ state: "reconnecting", attempt: next, delay, code, reason });
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  private rejectQueued(message: string): void {
    for (const pending of this.queue.splice(0)) {
      pending.reject(new HeraldError("client_closed", message));
    }
  }

  private isOpen(): boolean {
    return this.welcome !== undefined && this.socket !== undefined;
  }

  private send(frame: ClientFrameUnion): void {
    this.socket?.send(JSON.stringify(frame));
  }

  private requestId(): string {
    this.nextRequest += 1;
    return `c${this.nextRequest}`;
  }

  private setState(change: StateChange): void {
    this.currentState = change.state;
    this.stateListeners.forEach((listener) => listener(change));
  }

  private reportError(error: HeraldError): void {
    this.errorListeners.forEach((listener) => listener(error));
  }
}

/** The `exp` claim of a JWT in epoch ms, or undefined when the token is not a readable JWT. */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) {
    return undefined;
  }
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** A fresh idempotency key: a UUID where the platform has one (browsers in secure contexts, Node), else 128 random bits. */
function newIdem(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID !== undefined) {
    return crypto.randomUUID();
  }
  let id = "";
  for (let i = 0; i < 4; i++) {
    id += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, "0");
  }
  return id;
}

function now(): number {
  return typeof performance !== "undefined" ? performance.now() : Date.now();
}
