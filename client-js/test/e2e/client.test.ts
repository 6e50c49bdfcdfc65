import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { connect as tcpConnect, createServer, type Server, type Socket } from "node:net";
import { after, describe, test } from "node:test";
import WebSocket from "ws";
import { HeraldClient, HeraldError, type HeraldClientOptions, type SnapshotInfo, type StateChange, type TopicView } from "../../src/index.js";
import { eventually, startHerald, type Herald } from "../support/herald.js";

const clients: HeraldClient[] = [];
after(() => clients.forEach((client) => client.close()));

function connect(url: string, options: Partial<HeraldClientOptions> = {}) {
  const states: StateChange[] = [];
  const client = new HeraldClient({ url, WebSocket: WebSocket as any, reconnect: { initialDelay: 100, maxDelay: 500 }, ...options });
  client.onState((change) => states.push(change));
  clients.push(client);
  return { client, states };
}

/** The view's state in the shape GET /api/topics/{topic} answers, to compare the two exactly. */
function held(view: TopicView) {
  return { topic: view.topic, epoch: view.epoch, seq: view.seq, entries: [...view.entries.values()] };
}

async function matchesServer(herald: Herald, view: TopicView): Promise<boolean> {
  return view.status === "live" && JSON.stringify(held(view)) === JSON.stringify(await herald.state(view.topic));
}

function eventSeqs(view: TopicView): number[] {
  const seqs: number[] = [];
  view.onEvent((event) => seqs.push(event.seq));
  return seqs;
}

describe("the client against a real Herald", () => {
  test("subscribes, and receives HTTP publishes in order", async () => {
    const herald = await startHerald();
    try {
      const { client } = connect(herald.ws);
      const view = client.subscribe("chat:1");
      const seqs = eventSeqs(view);
      await eventually("the snapshot", () => view.status === "live");
      const changes = Array.from({ length: 50 }, (_, i) => ({ topic: "chat:1", op: "set", key: `k${i % 7}`, data: { i } }));
      await herald.publish({ changes });
      await herald.publish({ topic: "chat:1", op: "append", event: "note", data: "last" });
      await eventually("all 51 events", () => view.seq === 51);
      assert.deepEqual(seqs, Array.from({ length: 51 }, (_, i) => i + 1));
      assert.deepEqual(held(view), await herald.state("chat:1"));
      assert.equal(view.entries.get("51")?.data, "last");
    } finally {
      await herald.stop();
    }
  });

  test("a server close (shutdown and restart): reconnects, resubscribes, holds the new server's state", async () => {
    const first = await startHerald();
    const { client, states } = connect(first.ws);
    const view = client.subscribe("board");
    await eventually("the first snapshot", () => view.status === "live");
    await first.publish({ topic: "board", op: "set", key: "a", data: 1 });
    await eventually("the event", () => view.seq === 1);
    const oldEpoch = view.epoch;
    await first.stop();
    await eventually("reconnecting after 1001", () => states.some((s) => s.state === "reconnecting" && s.code === 1001));
    const second = await startHerald({}, first.port);
    try {
      await second.publish({ topic: "board", op: "set", key: "b", data: 2 });
      await eventually("the view matches the restarted server", () => matchesServer(second, view));
      assert.notEqual(view.epoch, oldEpoch, "a restarted server starts a new epoch");
      assert.deepEqual([...view.entries.keys()], ["b"]);
      await second.publish({ topic: "board", op: "set", key: "c", data: 3 });
      await eventually("events flow again", () => view.entries.has("c"));
    } finally {
      await second.stop();
    }
  });

  test("an abrupt socket drop: reconnects, resubscribes, catches up with what it missed", async () => {
    const herald = await startHerald();
    const proxy = await tcpProxy(herald.port);
    try {
      const { client, states } = connect(`ws://127.0.0.1:${proxy.port}/ws`);
      const views = ["room:1", "room:2", "room:3"].map((topic) => client.subscribe(topic));
      await eventually("three snapshots", () => views.every((v) => v.status === "live"));
      proxy.cut();
      await eventually("the drop noticed", () => states.some((s) => s.state === "reconnecting" && s.code === 1006));
      for (const view of views) {
        await herald.publish({ topic: view.topic, op: "append", data: `missed by ${view.topic}` });
      }
      await eventually("back open", () => client.state === "open");
      for (const view of views) {
        await eventually(`${view.topic} matches the server`, () => matchesServer(herald, view));
        assert.equal(view.seq, 1);
      }
    } finally {
      proxy.close();
      await herald.stop();
    }
  });

  test("a slow consumer is closed with 4008 and recovers to the server's state", async () => {
    const herald = await startHerald({ "websocket.outbound-buffer.frames": "64", "websocket.outbound-buffer.bytes": "64KiB" });
    try {
      const sockets: WebSocket[] = [];
      class Tracked extends WebSocket {
        constructor(url: string, protocols?: string[]) {
          super(url, protocols);
          sockets.push(this);
        }
      }
      const { client, states } = connect(herald.ws, { WebSocket: Tracked as any, heartbeat: 60_000 });
      const view = client.subscribe("firehose");
      await eventually("the snapshot", () => view.status === "live");
      assert.equal(sockets[0]!.protocol, "herald.v1.batch", "the client asks for batches and Herald selects them");
      // Stop reading: the kernel buffers fill, then Herald's bounded buffer for this connection.
      (sockets[0] as any)._socket.pause();
      const payload = "p".repeat(4000);
      let batches = 0;
      await eventually("Herald dropped the stalled subscriber", async () => {
        const changes = Array.from({ length: 200 }, (_, i) => ({ topic: "firehose", op: "set", key: `k${i}`, data: payload }));
        await herald.publish({ changes });
        batches++;
        const summary = (await herald.topics()).topics.find((t: any) => t.topic === "firehose");
        return summary.subscribers === 0;
      }, 30_000);
      (sockets[0] as any)._socket.resume();
      // The client first reads what its paused socket left in the kernel's buffers (megabytes), then
      // the close frame; Herald waits for it for the close-grace (30 s), so may a slow machine.
      await eventually("the client saw 4008", () => states.some((s) => s.state === "reconnecting" && s.code === 4008), 30_000)
        .catch((e: Error) => { throw new Error(`${e.message}; its states: ${JSON.stringify(states)}`); });
      await eventually("the view matches the server again", () => matchesServer(herald, view));
      assert.equal(view.seq, batches * 200);
      assert.match(herald.output(), /slow consumer/i);
    } finally {
      await herald.stop();
    }
  });

  test("after a drop a view resumes with a delta of what it missed, not the whole topic", async () => {
    const herald = await startHerald();
    const proxy = await tcpProxy(herald.port);
    try {
      await herald.publish({ changes: Array.from({ length: 100 }, (_, i) => ({ topic: "big", op: "set", key: `k${i}`, data: { i } })) });
      const { client, states } = connect(`ws://127.0.0.1:${proxy.port}/ws`);
      const view = client.subscribe("big");
      const infos: SnapshotInfo[] = [];
      view.onSnapshot((_, info) => infos.push(info));
      await eventually("the first snapshot", () => view.status === "live");
      proxy.mute();
      await herald.publish({ topic: "big", op: "set", key: "k5", data: "changed while away" });
      await herald.publish({ topic: "big", op: "delete", key: "k7" });
      proxy.cut();
      await eventually("the drop noticed", () => states.some((s) => s.state === "reconnecting"));
      await eventually("the view matches the server again", () => matchesServer(herald, view));
      assert.deepEqual(infos, [
        { epochChanged: false, unasked: false, delta: false },
        { epochChanged: false, unasked: false, delta: true, changed: 1, deleted: 1 },
      ]);
      assert.deepEqual([...view.entries.keys()].slice(-2), ["k99", "k5"], "the changed entry moved to the end, in seq order");
    } finally {
      proxy.close();
      await herald.stop();
    }
  });

  test("a publish whose answer a drop swallowed is sent again and applied once", async () => {
    const herald = await startHerald();
    const proxy = await tcpProxy(herald.port);
    try {
      const { client } = connect(`ws://127.0.0.1:${proxy.port}/ws`);
      await eventually("open", () => client.state === "open");
      proxy.mute();
      const result = client.publish({ topic: "orders", op: "append", data: "exactly once" });
      await eventually("the server applied it", async () => (await herald.state("orders")).seq === 1);
      proxy.cut();
      assert.deepEqual(await result, { topic: "orders", seq: 1, duplicate: true });
      const state = await herald.state("orders");
      assert.equal(state.seq, 1);
      assert.deepEqual(state.entries.map((e: any) => e.data), ["exactly once"]);
    } finally {
      proxy.close();
      await herald.stop();
    }
  });

  test("a conditional publish applies on the version it names and rejects with a conflict otherwise", async () => {
    const herald = await startHerald();
    try {
      const { client } = connect(herald.ws);
      const created = await client.publish({ topic: "doc", op: "set", key: "title", data: "v1", ifVersion: 0 });
      const updated = await client.publish({ topic: "doc", op: "set", key: "title", data: "v2", ifVersion: created.seq });
      await assert.rejects(client.publish({ topic: "doc", op: "set", key: "title", data: "stale", ifVersion: created.seq }),
        (e: HeraldError) => e.code === "conflict" && e.version === updated.seq && e.key === "title");
      assert.equal((await herald.state("doc")).entries[0].data, "v2");
    } finally {
      await herald.stop();
    }
  });

  test("publishes made while offline wait and are delivered in order after the reconnect", async () => {
    const first = await startHerald();
    const { client } = connect(first.ws);
    await eventually("open", () => client.state === "open");
    await first.stop();
    await eventually("offline", () => client.state === "reconnecting");
    const results = Array.from({ length: 20 }, (_, i) => client.publish({ topic: "outbox", op: "append", data: i }));
    const second = await startHerald({}, first.port);
    try {
      const settled = await Promise.all(results);
      assert.deepEqual(settled.map((r) => r.seq), Array.from({ length: 20 }, (_, i) => i + 1));
      const state = await second.state("outbox");
      assert.deepEqual(state.entries.map((e: any) => e.data), Array.from({ length: 20 }, (_, i) => i));
    } finally {
      await second.stop();
    }
  });

  test("refreshes its token in-band and stays connected past the first token's expiry", async () => {
    const secret = "a-test-secret-that-is-long-enough-for-hs256";
    const herald = await startHerald({ "auth.mode": "jwt", "auth.jwt.hs256-secret": secret, "auth.jwt.clock-skew": "1ms" });
    try {
      const tokens: number[] = [];
      const provider = () => {
        const exp = Math.floor(Date.now() / 1000) + 4;
        tokens.push(exp);
        return hs256({ sub: "ana", exp, subscribe: ["**"], publish: ["**"] }, secret);
      };
      const { client, states } = connect(herald.ws, { token: provider, refreshBefore: 2000 });
      const view = client.subscribe("private:ana");
      await eventually("live", () => view.status === "live");
      const firstExpiry = tokens[0]! * 1000;
      await eventually("past the first token's expiry", () => Date.now() > firstExpiry + 1500, 15_000);
      assert.deepEqual(await client.publish({ topic: "private:ana", op: "set", key: "still", data: "here" }),
        { topic: "private:ana", seq: 1 });
      await eventually("the event arrives on the same connection", () => view.entries.has("still"));
      assert.equal(client.user, "ana");
      assert.ok(tokens.length >= 2, "the provider was asked for a fresh token");
      assert.deepEqual(states.map((s) => s.state), ["connecting", "open"], "never disconnected");
    } finally {
      await herald.stop();
    }
  });
});

function hs256(claims: object, secret: string): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const signed = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
  return `${signed}.${createHmac("sha256", secret).update(signed).digest("base64url")}`;
}

/** A TCP proxy whose connections the test can cut at once, as a network failure would. */
/**
 * A TCP proxy in front of Herald: `mute` stops passing what the server sends (the client's frames
 * still go through), `cut` resets every connection as a network failure would.
 */
async function tcpProxy(target: number): Promise<{ port: number; mute(): void; cut(): void; close(): void }> {
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((inbound) => {
    const outbound = tcpConnect(target, "127.0.0.1");
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    inbound.pipe(outbound).pipe(inbound);
    const forget = () => {
      inbound.destroy();
      outbound.destroy();
      pairs.delete(pair);
    };
    inbound.on("error", forget).on("close", forget);
    outbound.on("error", forget).on("close", forget);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    mute: () => pairs.forEach(([inbound, outbound]) => outbound.unpipe(inbound)),
    cut: () => pairs.forEach(([inbound, outbound]) => {
      inbound.resetAndDestroy();
      outbound.destroy();
    }),
    close: () => server.close(),
  };
}
