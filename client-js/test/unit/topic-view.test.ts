import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TopicView, type SnapshotInfo } from "../../src/index.js";
import type { EventFrame, Snapshot } from "../../src/protocol.js";

function view(): TopicView {
  return new TopicView("chat:1", () => undefined, () => undefined);
}

function snapshot(seq: number, epoch: string, entries: Snapshot["entries"] = [], id?: string): Snapshot {
  return { type: "snapshot", id, topic: "chat:1", epoch, seq, entries };
}

function event(seq: number, op: EventFrame["op"], key?: string, data?: unknown, label?: string): EventFrame {
  return { type: "event", topic: "chat:1", seq, op, key, event: label, data };
}

function keys(v: TopicView): string[] {
  return [...v.entries.keys()];
}

describe("TopicView", () => {
  test("a snapshot replaces the state and makes the view live", () => {
    const v = view();
    assert.equal(v.status, "pending");
    v.applySnapshot(snapshot(7, "e1", [{ key: "a", seq: 3, data: 1 }, { key: "b", seq: 7, event: "x", data: { y: 2 } }]), false);
    assert.equal(v.status, "live");
    assert.equal(v.seq, 7);
    assert.equal(v.epoch, "e1");
    assert.deepEqual([...v.entries.values()], [{ key: "a", seq: 3, data: 1 }, { key: "b", seq: 7, event: "x", data: { y: 2 } }]);
  });

  test("set inserts or replaces and moves the entry to the end (seq order)", () => {
    const v = view();
    v.applySnapshot(snapshot(2, "e", [{ key: "a", seq: 1, data: 1 }, { key: "b", seq: 2, data: 2 }]), false);
    assert.equal(v.applyEvent(event(3, "set", "a", 10, "edited")), "applied");
    assert.deepEqual(keys(v), ["b", "a"]);
    assert.deepEqual(v.entries.get("a"), { key: "a", seq: 3, event: "edited", data: 10 });
    assert.equal(v.applyEvent(event(4, "set", "c")), "applied");
    assert.deepEqual(v.entries.get("c"), { key: "c", seq: 4, data: null });
    assert.equal(v.seq, 4);
  });

  test("append adds an entry keyed by its seq", () => {
    const v = view();
    v.applySnapshot(snapshot(0, "e"), false);
    v.applyEvent(event(1, "append", "1", { text: "hi" }));
    v.applyEvent(event(2, "append", undefined, "no key sent"));
    assert.deepEqual(keys(v), ["1", "2"]);
    assert.deepEqual(v.entries.get("2")?.data, "no key sent");
  });

  test("delete removes one entry, also when evicting; a missing key still advances seq", () => {
    const v = view();
    v.applySnapshot(snapshot(2, "e", [{ key: "a", seq: 1, data: 1 }, { key: "b", seq: 2, data: 2 }]), false);
    v.applyEvent(event(3, "delete", "a", undefined, "evicted"));
    assert.deepEqual(keys(v), ["b"]);
    assert.equal(v.applyEvent(event(4, "delete", "nope")), "applied");
    assert.equal(v.seq, 4);
  });

  test("clear removes every entry", () => {
    const v = view();
    v.applySnapshot(snapshot(2, "e", [{ key: "a", seq: 1, data: 1 }, { key: "b", seq: 2, data: 2 }]), false);
    v.applyEvent(event(3, "clear"));
    assert.equal(v.entries.size, 0);
    assert.equal(v.seq, 3);
  });

  test("a seq that is not the next one is a gap and changes nothing", () => {
    const v = view();
    v.applySnapshot(snapshot(5, "e", [{ key: "a", seq: 5, data: 1 }]), false);
    assert.equal(v.applyEvent(event(7, "set", "b", 2)), "gap");
    assert.equal(v.applyEvent(event(5, "set", "b", 2)), "gap");
    assert.deepEqual(keys(v), ["a"]);
    assert.equal(v.seq, 5);
  });

  test("events before the first snapshot are ignored", () => {
    const v = view();
    assert.equal(v.applyEvent(event(1, "set", "a", 1)), "ignored");
    assert.equal(v.entries.size, 0);
  });

  test("a snapshot with another epoch replaces everything and says so", () => {
    const v = view();
    const infos: SnapshotInfo[] = [];
    v.onSnapshot((_, info) => infos.push(info));
    v.applySnapshot(snapshot(40, "e1", [{ key: "old", seq: 40, data: 1 }], "r1"), false);
    v.applySnapshot(snapshot(2, "e2", [{ key: "new", seq: 2, data: 2 }]), true);
    assert.deepEqual(infos, [{ epochChanged: false, unasked: false, delta: false }, { epochChanged: true, unasked: true, delta: false }]);
    assert.deepEqual(keys(v), ["new"]);
    assert.equal(v.seq, 2);
    assert.equal(v.applyEvent(event(3, "set", "x", 0)), "applied");
  });

  test("a delta removes the deleted keys and sets the changed entries, keeping seq order", () => {
    const v = view();
    const infos: SnapshotInfo[] = [];
    v.onSnapshot((_, info) => infos.push(info));
    v.applySnapshot(snapshot(3, "e", [{ key: "a", seq: 1, data: 1 }, { key: "b", seq: 2, data: 2 }, { key: "c", seq: 3, data: 3 }]), false);
    v.setStatus("resyncing");
    const delta: Snapshot = { type: "snapshot", id: "r", topic: "chat:1", epoch: "e", seq: 7, since: 3,
      entries: [{ key: "a", seq: 5, data: 10 }, { key: "d", seq: 7, data: 4 }], deleted: ["b"] };
    assert.equal(v.applySnapshot(delta, false), "applied");
    assert.deepEqual(keys(v), ["c", "a", "d"]);
    assert.equal(v.entries.get("a")!.data, 10);
    assert.equal(v.seq, 7);
    assert.equal(v.status, "live");
    assert.deepEqual(infos[1], { epochChanged: false, unasked: false, delta: true, changed: 2, deleted: 1 });
    assert.equal(v.applyEvent(event(8, "delete", "c")), "applied");
  });

  test("a delta from a position the view does not hold is a mismatch and changes nothing", () => {
    const v = view();
    v.applySnapshot(snapshot(3, "e", [{ key: "a", seq: 3, data: 1 }]), false);
    const from = (since: number, epoch: string): Snapshot =>
      ({ type: "snapshot", topic: "chat:1", epoch, seq: 9, since, entries: [], deleted: ["a"] });
    assert.equal(v.applySnapshot(from(2, "e"), false), "mismatch");
    assert.equal(v.applySnapshot(from(3, "other"), false), "mismatch");
    assert.deepEqual(keys(v), ["a"]);
    assert.equal(v.seq, 3);
  });

  test("listeners hear every event and every change, and can be removed", () => {
    const v = view();
    const seen: number[] = [];
    let changes = 0;
    const stop = v.onEvent((e) => seen.push(e.seq));
    v.onChange(() => changes++);
    v.applySnapshot(snapshot(0, "e"), false);
    v.applyEvent(event(1, "set", "a", 1));
    stop();
    v.applyEvent(event(2, "set", "a", 2));
    assert.deepEqual(seen, [1]);
    assert.equal(changes, 3);
  });

  test("a closed view applies nothing", () => {
    let detached = false;
    const v = new TopicView("chat:1", () => (detached = true), () => undefined);
    v.applySnapshot(snapshot(1, "e", [{ key: "a", seq: 1, data: 1 }]), false);
    v.unsubscribe();
    assert.ok(detached);
    v.applySnapshot(snapshot(9, "e", []), true);
    assert.equal(v.status, "closed");
    assert.equal(v.seq, 1);
    assert.throws(() => v.resubscribe(), /closed/);
  });
});
