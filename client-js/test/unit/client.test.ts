import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import { HeraldClient, HeraldError, type HeraldClientOptions, type StateChange } from "../../src/index.js";
import { fakeWebSocket, settle, welcome, type FakeSocket } from "../support/fake-socket.js";

function token(expSeconds: number, sub = "ana"): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "HS256" })}.${part({ sub, exp: expSeconds })}.sig`;
}

async function started(options: Partial<HeraldClientOptions> = {}) {
  const fake = fakeWebSocket();
  const states: StateChange[] = [];
  const client = new HeraldClient({ url: "ws://herald/ws", WebSocket: fake.WebSocket, random: () => 0.5, ...options });
  client.onState((change) => states.push(change));
  await settle();
  return { client, states, sockets: fake.sockets, socket: () => fake.sockets[fake.sockets.length - 1]! };
}

/** Opens the socket and answers with welcome, as a server with auth off would. */
function accept(socket: FakeSocket, heartbeat = 25_000): void {
  socket.open();
  socket.receive({ ...welcome, heartbeat });
}

describe("HeraldClient", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "setInterval"] }));
  afterEach(() => mock.timers.reset());

  test("reports connecting, then open after welcome; subscribes only once open", async () => {
    const { client, states, socket } = await started();
    const view = client.subscribe("chat:1");
    assert.equal(socket().sent.length, 0);
    accept(socket());
    assert.deepEqual(states.map((s) => s.state), ["connecting", "open"]);
    assert.equal(client.session, "s1");
    const [subscribe] = socket().sentOf("subscribe");
    assert.deepEqual(subscribe.topics, ["chat:1"]);
    socket().receive({ type: "snapshot", id: subscribe.id, topic: "chat:1", epoch: "e", seq: 3, entries: [{ key: "k", seq: 3, data: 1 }] });
    assert.equal(view.status, "live");
    assert.equal(client.subscribe("chat:1"), view);
  });

  test("asks for batched delivery by default, and applies every frame of a batch in order", async () => {
    const { client, socket } = await started();
    assert.deepEqual(socket().protocols, ["herald.v1.batch", "herald.v1"]);
    const view = client.subscribe("chat:1");
    socket().protocol = "herald.v1.batch";
    socket().open();
    socket().receiveBatch([welcome]);
    const [subscribe] = socket().sentOf("subscribe");
    socket().receiveBatch([
      { type: "snapshot", id: subscribe.id, topic: "chat:1", epoch: "e", seq: 3, entries: [] },
      { type: "event", topic: "chat:1", seq: 4, op: "set", key: "a", data: 1 },
      { type: "event", topic: "chat:1", seq: 5, op: "set", key: "b", data: 2 },
    ]);
    assert.equal(view.seq, 5);
    assert.deepEqual([...view.entries.keys()], ["a", "b"]);
  });

  test("with batch off it offers no subprotocol, and single frames work either way", async () => {
    const { client, socket } = await started({ batch: false });
    assert.equal(socket().protocols, undefined);
    const view = client.subscribe("chat:1");
    accept(socket());
    const [subscribe] = socket().sentOf("subscribe");
    socket().receive({ type: "snapshot", id: subscribe.id, topic: "chat:1", epoch: "e", seq: 0, entries: [] });
    socket().receive({ type: "event", topic: "chat:1", seq: 1, op: "set", key: "a", data: 1 });
    assert.equal(view.seq, 1);
  });

  test("sends the token in an auth frame first", async () => {
    const { socket } = await started({ token: "t0k3n" });
    socket().open();
    assert.deepEqual(socket().sent.map((f) => [f.type, f.token]), [["auth", "t0k3n"]]);
  });

  test("a gap resubscribes that topic and ignores events until the fresh snapshot", async () => {
    const { client, socket } = await started();
    accept(socket());
    const view = client.subscribe("t");
    socket().receive({ type: "snapshot", id: socket().sentOf("subscribe")[0].id, topic: "t", epoch: "e", seq: 1, entries: [] });
    socket().receive({ type: "event", topic: "t", seq: 3, op: "set", key: "a", data: 1 });
    assert.equal(view.status, "resyncing");
    const again = socket().sentOf("subscribe")[1];
    assert.deepEqual(again.topics, ["t"]);
    socket().receive({ type: "event", topic: "t", seq: 4, op: "set", key: "b", data: 1 });
    assert.equal(view.entries.size, 0);
    socket().receive({ type: "snapshot", id: again.id, topic: "t", epoch: "e", seq: 4, entries: [{ key: "a", seq: 3, data: 1 }, { key: "b", seq: 4, data: 1 }] });
    assert.equal(view.status, "live");
    assert.deepEqual([...view.entries.keys()], ["a", "b"]);
  });

  test("after a drop it waits the jittered backoff, reconnects and restores every subscription", async () => {
    const { client, states, sockets, socket } = await started({ reconnect: { initialDelay: 1000 } });
    accept(socket());
    client.subscribe("a");
    client.subscribe("b");
    socket().drop(1006);
    assert.deepEqual(states.at(-1), { state: "reconnecting", attempt: 1, delay: 500, code: 1006, reason: "" });
    mock.timers.tick(499);
    await settle();
    assert.equal(sockets.length, 1);
    mock.timers.tick(1);
    await settle();
    assert.equal(sockets.length, 2);
    socket().drop(1006);
    assert.equal(states.at(-1)?.delay, 1000, "the second attempt's window is twice the first");
    mock.timers.tick(1000);
    await settle();
    accept(socket());
    assert.deepEqual(socket().sentOf("subscribe").flatMap((f) => f.topics), ["a", "b"]);
    assert.equal(states.at(-1)?.state, "open");
  });

  test("does not reconnect after 1000, 1003 or 1009", async () => {
    for (const code of [1000, 1003, 1009]) {
      const { states, sockets, socket } = await started();
      accept(socket());
      socket().drop(code);
      mock.timers.tick(60_000);
      await settle();
      assert.equal(sockets.length, 1);
      assert.deepEqual(states.at(-1), { state: "closed", attempt: 0, code, reason: "" });
    }
  });

  test("close() ends for good and rejects what waits", async () => {
    const { client, states, sockets, socket } = await started();
    const queued = client.publish({ topic: "t", op: "append", data: 1 });
    client.close();
    await assert.rejects(queued, (e: HeraldError) => e.code === "client_closed");
    socket().drop(1000);
    mock.timers.tick(60_000);
    await settle();
    assert.equal(sockets.length, 1);
    assert.equal(states.at(-1)?.state, "closed");
    await assert.rejects(client.publish({ topic: "t", op: "append" }), (e: HeraldError) => e.code === "client_closed");
  });

  test("on 4001 and 4002 it asks the token provider again before reconnecting", async () => {
    let calls = 0;
    const { sockets, socket } = await started({ token: () => `token-${++calls}` });
    socket().open();
    socket().receive(welcome);
    socket().drop(4002, "token expired");
    mock.timers.tick(60_000);
    await settle();
    socket().open();
    assert.equal(sockets.length, 2);
    assert.equal(socket().sentOf("auth")[0].token, "token-2");
  });

  test("after an operator's 4003 it asks the token provider again before reconnecting, as after 4001", async () => {
    let calls = 0;
    const { sockets, socket, states } = await started({ token: () => `token-${++calls}` });
    socket().open();
    socket().receive(welcome);
    socket().drop(4003, "disconnected by an operator");
    mock.timers.tick(60_000);
    await settle();
    socket().open();
    assert.equal(sockets.length, 2);
    assert.equal(socket().sentOf("auth")[0].token, "token-2");
    assert.notEqual(states.at(-1)?.state, "closed");
  });

  test("with a fixed token, 4003 is final like 4001: the operator's cut would only repeat", async () => {
    const { states, sockets, socket } = await started({ token: "fixed" });
    socket().open();
    socket().drop(4003, "disconnected by an operator");
    mock.timers.tick(60_000);
    await settle();
    assert.equal(sockets.length, 1);
    assert.equal(states.at(-1)?.state, "closed");
  });

  test("with a fixed token, 4001 is final: the same token would fail again", async () => {
    const { states, sockets, socket } = await started({ token: "fixed" });
    socket().open();
    socket().drop(4001, "auth failed");
    mock.timers.tick(60_000);
    await settle();
    assert.equal(sockets.length, 1);
    assert.equal(states.at(-1)?.state, "closed");
  });

  test("gives up after maxAttempts failures in a row", async () => {
    const { states, sockets, socket } = await started({ reconnect: { maxAttempts: 2 } });
    socket().drop(1006);
    mock.timers.tick(60_000);
    await settle();
    socket().drop(1006);
    mock.timers.tick(60_000);
    await settle();
    assert.equal(sockets.length, 2);
    assert.equal(states.at(-1)?.state, "closed");
  });

  test("4029 backs off longer than other closes", async () => {
    const { states, socket } = await started({ reconnect: { initialDelay: 100, maxDelay: 100_000 } });
    accept(socket());
    socket().drop(4029, "rate limited");
    assert.equal(states.at(-1)?.delay, 400, "three more doublings than the first attempt's 50");
  });

  test("offline publishes wait in a bounded queue and go out in order once open", async () => {
    const { client, socket } = await started({ publishQueue: 2 });
    const first = client.publish({ topic: "t", op: "set", key: "a", data: 1 });
    const second = client.publish({ topic: "t", op: "set", key: "b", data: 2 });
    await assert.rejects(client.publish({ topic: "t", op: "set", key: "c", data: 3 }), (e: HeraldError) => e.code === "queue_full");
    accept(socket());
    const sent = socket().sentOf("publish");
    assert.deepEqual(sent.map((f) => f.key), ["a", "b"]);
    socket().receive({ type: "published", id: sent[0].id, topic: "t", seq: 1 });
    socket().receive({ type: "error", id: sent[1].id, topic: "t", code: "forbidden", message: "no" });
    assert.deepEqual(await first, { topic: "t", seq: 1 });
    await assert.rejects(second, (e: HeraldError) => e.code === "forbidden" && e.topic === "t");
  });

  test("a publish unanswered when the connection drops is sent again with the same idem, first", async () => {
    const { client, socket, sockets } = await started();
    accept(socket());
    const pending = client.publish({ topic: "t", op: "append", data: 1 });
    const [sent] = socket().sentOf("publish");
    assert.match(sent.idem, /^[0-9a-f-]{32,36}$/);
    socket().drop(1006);
    const queued = client.publish({ topic: "t", op: "append", data: 2 });
    mock.timers.tick(60_000);
    await settle();
    accept(socket());
    assert.equal(sockets.length, 2);
    const [again, next] = socket().sentOf("publish");
    assert.equal(again.idem, sent.idem, "the same change, so the server applies it once");
    assert.equal(next.data, 2);
    assert.notEqual(next.idem, sent.idem);
    socket().receive({ type: "published", id: again.id, topic: "t", seq: 4, duplicate: true });
    socket().receive({ type: "published", id: next.id, topic: "t", seq: 5 });
    assert.deepEqual(await pending, { topic: "t", seq: 4, duplicate: true });
    assert.deepEqual(await queued, { topic: "t", seq: 5 });
  });

  test("without idempotency a publish unanswered when the connection drops is rejected, not resent", async () => {
    const { client, socket, sockets } = await started({ idempotent: false });
    accept(socket());
    const pending = client.publish({ topic: "t", op: "append", data: 1 });
    assert.equal(socket().sentOf("publish")[0].idem, undefined);
    socket().drop(1006);
    await assert.rejects(pending, (e: HeraldError) => e.code === "connection_lost");
    mock.timers.tick(60_000);
    await settle();
    accept(socket());
    assert.equal(sockets.length, 2);
    assert.equal(socket().sentOf("publish").length, 0);
  });

  test("after a reconnect every view resumes from its position; a mismatched delta asks for a full snapshot", async () => {
    const { client, socket } = await started();
    const view = client.subscribe("chat:1");
    accept(socket());
    const [first] = socket().sentOf("subscribe");
    assert.equal(first.since, undefined, "nothing to resume from yet");
    socket().receive({ type: "snapshot", id: first.id, topic: "chat:1", epoch: "e", seq: 3, entries: [{ key: "a", seq: 3, data: 1 }] });
    socket().drop(1006);
    mock.timers.tick(60_000);
    await settle();
    accept(socket());
    const [resume] = socket().sentOf("subscribe");
    assert.deepEqual(resume.since, { "chat:1": { epoch: "e", seq: 3 } });
    socket().receive({ type: "snapshot", id: resume.id, topic: "chat:1", epoch: "e", seq: 9, since: 2, entries: [], deleted: ["a"] });
    const [full] = socket().sentOf("subscribe").slice(1);
    assert.equal(full.since, undefined, "a delta from elsewhere: a full snapshot instead");
    assert.deepEqual([...view.entries.keys()], ["a"]);
  });

  test("a conditional publish that conflicts rejects with the key's current version", async () => {
    const { client, socket } = await started();
    accept(socket());
    const pending = client.publish({ topic: "t", op: "set", key: "k", data: 2, ifVersion: 4 });
    const [sent] = socket().sentOf("publish");
    assert.equal(sent.ifVersion, 4);
    socket().receive({ type: "error", id: sent.id, topic: "t", key: "k", code: "conflict", message: "moved on", version: 6 });
    await assert.rejects(pending, (e: HeraldError) => e.code === "conflict" && e.version === 6 && e.key === "k");
  });

  test("pings at the heartbeat, measures latency, and drops a connection whose pongs stop", async () => {
    const { client, states, socket } = await started();
    const latencies: number[] = [];
    client.onLatency((ms) => latencies.push(ms));
    accept(socket(), 1000);
    const [ping] = socket().sentOf("ping");
    assert.ok(ping, "the first ping goes out as soon as the connection is open");
    socket().receive({ type: "pong", id: ping.id, time: Date.now() });
    assert.equal(latencies.length, 1);
    assert.ok(client.latency! >= 0);
    mock.timers.tick(1000);
    assert.equal(socket().sentOf("ping").length, 2);
    mock.timers.tick(1000);
    assert.equal(states.at(-1)?.state, "reconnecting");
    assert.equal(socket().closedWith?.code, 4000);
  });

  test("refreshes the token in-band before it expires", async () => {
    const exp = Math.floor(Date.now() / 1000) + 120;
    let calls = 0;
    const { socket } = await started({ token: () => token(exp + 600 * calls++), refreshBefore: 30_000, heartbeat: 600_000 });
    socket().open();
    socket().receive(welcome);
    mock.timers.tick(80_000);
    await settle();
    assert.equal(socket().sentOf("auth").length, 1);
    mock.timers.tick(15_000);
    await settle();
    const refresh = socket().sentOf("auth")[1];
    assert.ok(refresh, "a second auth frame was sent about 30 s before exp");
    assert.equal(refresh.token, token(exp + 600));
  });

  test("a subscription refused as unavailable is asked for again after a backoff, until it works", async () => {
    const { client, socket } = await started();
    accept(socket(), 600_000);
    const view = client.subscribe("orders:1");
    const first = socket().sentOf("subscribe")[0];
    socket().receive({ type: "error", id: first.id, topic: "orders:1", code: "unavailable", message: "database away" });
    assert.equal(view.status, "failed");
    assert.equal(view.error?.code, "unavailable");
    mock.timers.tick(5_000);
    const second = socket().sentOf("subscribe")[1];
    assert.deepEqual(second.topics, ["orders:1"]);
    socket().receive({ type: "error", id: second.id, topic: "orders:1", code: "unavailable", message: "database away" });
    mock.timers.tick(5_000);
    const third = socket().sentOf("subscribe")[2];
    socket().receive({ type: "snapshot", id: third.id, topic: "orders:1", epoch: "e", seq: 4, entries: [] });
    assert.equal(view.status, "live");
    mock.timers.tick(5_000);
    assert.equal(socket().sentOf("subscribe").length, 3, "no more retries once it works");

    const forbidden = client.subscribe("secret");
    const refusal = socket().sentOf("subscribe")[3];
    socket().receive({ type: "error", id: refusal.id, topic: "secret", code: "forbidden", message: "no" });
    mock.timers.tick(5_000);
    assert.equal(socket().sentOf("subscribe").length, 4, "other refusals are not retried");
    assert.equal(forbidden.status, "failed");
  });

  test("a subscription the server refuses or ends says why", async () => {
    const { client, socket } = await started();
    accept(socket());
    const refused = client.subscribe("secret");
    const request = socket().sentOf("subscribe")[0];
    socket().receive({ type: "error", id: request.id, topic: "secret", code: "forbidden", message: "not allowed" });
    assert.equal(refused.status, "failed");
    assert.equal(refused.error?.code, "forbidden");

    const ended = client.subscribe("team");
    socket().receive({ type: "snapshot", id: socket().sentOf("subscribe")[1].id, topic: "team", epoch: "e", seq: 0, entries: [] });
    socket().receive({ type: "unsubscribed", topics: ["team"] });
    socket().receive({ type: "error", topic: "team", code: "forbidden", message: "the refreshed token does not allow this topic" });
    assert.equal(ended.status, "closed");
    assert.equal(ended.error?.code, "forbidden");
    assert.notEqual(client.subscribe("team"), ended);
  });
});
