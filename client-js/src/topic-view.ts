import type { EventFrame, Snapshot } from "./protocol.js";
import type { HeraldError } from "./errors.js";

/** One entry of a topic, as the view holds it. */
export interface TopicEntry {
  readonly key: string;
  /** The topic seq of this entry's last change. */
  readonly seq: number;
  readonly event?: string;
  readonly data: unknown;
}

/**
 * Where a view stands:
 * - `pending`: waiting for the connection, or for the first snapshot; entries are those last known;
 * - `live`: holds the topic's state and applies every event;
 * - `resyncing`: asked for a fresh snapshot (after a seq gap or a reconnect); events wait for it;
 * - `failed`: the server refused the subscription (see `error`); `resubscribe()` tries again;
 * - `closed`: unsubscribed, or the server ended the subscription (see `error`).
 */
export type ViewStatus = "pending" | "live" | "resyncing" | "failed" | "closed";

export interface SnapshotInfo {
  /** The snapshot came with another epoch than the state it replaced: old seq values mean nothing now. */
  readonly epochChanged: boolean;
  /**
   * A delta (resume): it held only what changed since the view's seq, and the view kept the rest.
   * Otherwise a full snapshot replaced the whole state.
   */
  readonly delta: boolean;
  /** For a delta: how many entries it set and how many keys it removed. */
  readonly changed?: number;
  readonly deleted?: number;
  /** The server sent it unasked (for example after the topic moved to another node). */
  readonly unasked: boolean;
}

/** What applying an event did. `gap` means the view needs a fresh snapshot. */
export type EventOutcome = "applied" | "ignored" | "gap";

/** What applying a snapshot did. `mismatch`: a delta from a position the view no longer holds; it needs a full one. */
export type SnapshotOutcome = "applied" | "ignored" | "mismatch";

type Listener<A extends unknown[]> = (...args: A) => void;

/**
 * The live state of one subscribed topic: entries in seq order, the current seq and epoch, and
 * callbacks. It applies snapshots and events exactly as PROTOCOL.md section 1 says; the client
 * feeds it frames and, on a gap, asks the server for a fresh snapshot.
 */
export class TopicView {
  readonly topic: string;
  private state = new Map<string, TopicEntry>();
  private currentSeq = 0;
  private currentEpoch: string | undefined;
  private currentStatus: ViewStatus = "pending";
  private lastError: HeraldError | undefined;
  private readonly snapshotListeners = new Set<Listener<[TopicView, SnapshotInfo]>>();
  private readonly eventListeners = new Set<Listener<[EventFrame, TopicView]>>();
  private readonly changeListeners = new Set<Listener<[TopicView]>>();
  private readonly detach: (view: TopicView) => void;
  private readonly retry: (view: TopicView) => void;

  /** Made by `HeraldClient.subscribe`; `detach` and `retry` are the client's side of unsubscribe and resubscribe. */
  constructor(topic: string, detach: (view: TopicView) => void, retry: (view: TopicView) => void) {
    this.topic = topic;
    this.detach = detach;
    this.retry = retry;
  }

  /** The entries, ordered by the seq of their last change (oldest first). */
  get entries(): ReadonlyMap<string, TopicEntry> {
    return this.state;
  }

  /** The seq of the last change applied; 0 before the first snapshot. Compare only within one epoch. */
  get seq(): number {
    return this.currentSeq;
  }

  /** The epoch of the state held, undefined before the first snapshot. */
  get epoch(): string | undefined {
    return this.currentEpoch;
  }

  get status(): ViewStatus {
    return this.currentStatus;
  }

  /** Why the view is `failed` or `closed` by the server. */
  get error(): HeraldError | undefined {
    return this.lastError;
  }

  /** Called after each snapshot replaced the state. Returns a function that removes the listener. */
  onSnapshot(listener: (view: TopicView, info: SnapshotInfo) => void): () => void {
    return subscribeTo(this.snapshotListeners, listener);
  }

  /** Called after each event was applied, with the event as the server sent it. */
  onEvent(listener: (event: EventFrame, view: TopicView) => void): () => void {
    return subscribeTo(this.eventListeners, listener);
  }

  /** Called after anything about the view changed: state, status or error. The hook for a UI. */
  onChange(listener: (view: TopicView) => void): () => void {
    return subscribeTo(this.changeListeners, listener);
  }

  /** Ends the subscription; the view keeps its last state but changes no more. */
  unsubscribe(): void {
    if (this.currentStatus === "closed") {
      return;
    }
    this.setStatus("closed");
    this.detach(this);
  }

  /** Asks the server for a fresh snapshot, for example after the subscription `failed`. */
  resubscribe(): void {
    if (this.currentStatus === "closed") {
      throw new Error(`the view of ${this.topic} is closed; subscribe again for a new one`);
    }
    this.retry(this);
  }

  /**
   * @internal Replaces the whole state with a full snapshot, or brings it up to date with a delta
   * (PROTOCOL.md 9.2: remove the `deleted` keys, then set the `entries`, which come in seq order).
   */
  applySnapshot(snapshot: Snapshot, unasked: boolean): SnapshotOutcome {
    if (this.currentStatus === "closed") {
      return "ignored";
    }
    const epochChanged = this.currentEpoch !== undefined && this.currentEpoch !== snapshot.epoch;
    let info: SnapshotInfo;
    if (snapshot.since !== undefined) {
      if (snapshot.epoch !== this.currentEpoch || snapshot.since !== this.currentSeq) {
        return "mismatch";
      }
      for (const key of snapshot.deleted ?? []) {
        this.state.delete(key);
      }
      for (const entry of snapshot.entries) {
        this.state.delete(entry.key);
        this.state.set(entry.key, entryOf(entry.key, entry.seq, entry.event, entry.data));
      }
      info = { epochChanged: false, unasked, delta: true, changed: snapshot.entries.length, deleted: snapshot.deleted?.length ?? 0 };
    } else {
      const entries = new Map<string, TopicEntry>();
      for (const entry of snapshot.entries) {
        entries.set(entry.key, entryOf(entry.key, entry.seq, entry.event, entry.data));
      }
      this.state = entries;
      info = { epochChanged, unasked, delta: false };
    }
    this.currentSeq = snapshot.seq;
    this.currentEpoch = snapshot.epoch;
    this.currentStatus = "live";
    this.lastError = undefined;
    this.snapshotListeners.forEach((listener) => listener(this, info));
    this.changed();
    return "applied";
  }

  /**
   * @internal Applies one event. Outside `live` an event is ignored (a snapshot is on its way and
   * already includes it or precedes it); a seq other than the next one is a gap.
   */
  applyEvent(event: EventFrame): EventOutcome {
    if (this.currentStatus !== "live") {
      return "ignored";
    }
    if (event.seq !== this.currentSeq + 1) {
      return "gap";
    }
    switch (event.op) {
      case "set":
        // Deleting first moves a replaced entry to the end, keeping the map in seq order.
        this.state.delete(event.key!);
        this.state.set(event.key!, entryOf(event.key!, event.seq, event.event, event.data ?? null));
        break;
      case "append": {
        const key = event.key ?? String(event.seq);
        this.state.set(key, entryOf(key, event.seq, event.event, event.data ?? null));
        break;
      }
      case "delete":
        this.state.delete(event.key!);
        break;
      case "clear":
        this.state.clear();
        break;
    }
    this.currentSeq = event.seq;
    this.eventListeners.forEach((listener) => listener(event, this));
    this.changed();
    return "applied";
  }

  /** @internal */
  setStatus(status: ViewStatus, error?: HeraldError): void {
    this.currentStatus = status;
    this.lastError = error;
    this.changed();
  }

  private changed(): void {
    this.changeListeners.forEach((listener) => listener(this));
  }
}

function entryOf(key: string, seq: number, event: string | undefined, data: unknown): TopicEntry {
  return event === undefined ? { key, seq, data } : { key, seq, event, data };
}

function subscribeTo<L>(listeners: Set<L>, listener: L): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
