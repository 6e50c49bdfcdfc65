import { HeraldClient, HeraldError, type PublishRequest, type StateChange, type TopicView } from "../src/index.js";

/**
 * The demo page Herald serves at `/`: the client's connection state and latency, live tables of
 * subscribed topics, a publish form, and a stall button that shows a 4008 close and the recovery.
 */

const STALL_TOPIC = `demo:stall:${Math.random().toString(36).slice(2, 10)}`;
/** 20 requests of 16 changes of 60 KiB: about 19 MiB, more than the socket buffers on both ends hold. */
const STALL_REQUESTS = 20;
/** Keeps each request under the API's default max-body of 1 MiB. */
const STALL_BATCH = 16;
const STALL_PAYLOAD = "x".repeat(60 * 1024);
const CLOSE_MEANINGS: Record<number, string> = {
  1000: "normal close",
  1001: "server shutting down",
  1006: "connection lost",
  1011: "server error",
  4000: "idle",
  4001: "not authenticated",
  4002: "token expired",
  4003: "disconnected by an operator",
  4008: "slow consumer",
  4029: "rate limited",
};

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface TopicCard {
  readonly view: TopicView;
  /** Who is subscribed to the topic ($presence:TOPIC), when the server keeps presence for it. */
  readonly presence: TopicView;
  readonly section: HTMLElement;
  readonly rows: Map<string, HTMLTableRowElement>;
}

const cards = new Map<string, TopicCard>();
let client = connect();

function connect(): HeraldClient {
  const token = $<HTMLTextAreaElement>("token").value.trim();
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const next = new HeraldClient({ url: `${scheme}//${location.host}/ws`, token: token === "" ? undefined : token });
  next.onState(showState);
  next.onLatency((ms) => ($("latency").textContent = `${ms.toFixed(1)} ms`));
  next.onError((error) => log(`error: ${error.message}`));
  return next;
}

function showState(change: StateChange): void {
  const box = $("connection");
  box.dataset.state = change.state;
  $("state").textContent = change.state;
  const parts: string[] = [];
  if (change.state !== "open" && change.attempt > 0) {
    parts.push(`attempt ${change.attempt}`);
  }
  if (change.delay !== undefined) {
    parts.push(`next in ${(change.delay / 1000).toFixed(1)} s`);
  }
  if (change.code !== undefined) {
    parts.push(`after ${change.code} ${CLOSE_MEANINGS[change.code] ?? ""}`.trim());
  }
  $("detail").textContent = parts.join(", ");
  log(`${change.state}${parts.length > 0 ? ` (${parts.join(", ")})` : ""}`);
}

function log(line: string): void {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${line}`;
  const list = $("log");
  list.prepend(item);
  while (list.children.length > 50) {
    list.lastElementChild!.remove();
  }
}

function show(topic: string): void {
  if (cards.has(topic)) {
    return;
  }
  const section = document.createElement("article");
  section.className = "topic";
  section.dataset.topic = topic;
  section.innerHTML = `
    <header>
      <h2></h2>
      <span class="status"></span>
      <span class="snapshot"></span>
      <span class="meta"></span>
      <button type="button" class="unsubscribe">Unsubscribe</button>
    </header>
    <p class="presence" hidden></p>
    <table>
      <thead><tr><th>key</th><th>seq</th><th>event</th><th>data</th></tr></thead>
      <tbody></tbody>
    </table>`;
  section.querySelector("h2")!.textContent = topic;
  $("topics").append(section);
  const view = client.subscribe(topic);
  const presence = client.subscribe(`$presence:${topic}`);
  const card = { view, presence, section, rows: new Map<string, HTMLTableRowElement>() };
  cards.set(topic, card);
  section.querySelector<HTMLButtonElement>(".unsubscribe")!.onclick = () => {
    card.view.unsubscribe();
    card.presence.unsubscribe();
    cards.delete(topic);
    section.remove();
  };
  presence.onChange(() => renderPresence(card));
  view.onChange(() => render(card));
  view.onSnapshot((_, info) => {
    // After a reconnect the client resumes: only what changed while away crosses the wire.
    const label = info.delta
      ? `resumed: ${info.changed} changed, ${info.deleted} removed`
      : `full snapshot: ${view.entries.size} entries`;
    const badge = section.querySelector<HTMLElement>(".snapshot")!;
    badge.dataset.kind = info.delta ? "delta" : "full";
    badge.textContent = label;
    log(`${topic} ${label}`);
  });
  render(card);
}

/**
 * The topic's members from its presence topic: one name per connection, this page's own marked.
 * A topic the server keeps no presence for answers the presence subscribe with an error: the line stays hidden.
 */
function renderPresence(card: TopicCard): void {
  const line = card.section.querySelector<HTMLElement>(".presence")!;
  if (card.presence.status !== "live") {
    line.hidden = card.presence.status === "failed" || card.presence.entries.size === 0;
    return;
  }
  const names = [...card.presence.entries.values()].map((entry) => {
    const member = entry.data as { user?: string | null } | null;
    const name = member?.user ?? "anonymous";
    return entry.key === client.session ? `${name} (this page)` : name;
  });
  line.hidden = false;
  line.dataset.count = String(names.length);
  line.textContent = `Here now (${names.length}): ${names.join(", ")}`;
}

/** Updates the table in place: rows are kept per key, changed ones flash, order follows seq. */
function render(card: TopicCard): void {
  const { view, section, rows } = card;
  const status = section.querySelector<HTMLElement>(".status")!;
  status.dataset.status = view.status;
  status.textContent = view.error === undefined ? view.status : `${view.status}: ${view.error.message}`;
  section.querySelector(".meta")!.textContent =
    view.epoch === undefined ? "" : `seq ${view.seq} · epoch ${view.epoch} · ${view.entries.size} entries`;
  const body = section.querySelector("tbody")!;
  for (const [key, row] of rows) {
    if (!view.entries.has(key)) {
      row.remove();
      rows.delete(key);
    }
  }
  for (const entry of view.entries.values()) {
    let row = rows.get(entry.key);
    if (row === undefined) {
      row = document.createElement("tr");
      row.dataset.key = entry.key;
      row.innerHTML = "<td class=key></td><td class=seq></td><td class=event></td><td class=data></td>";
      rows.set(entry.key, row);
    }
    if (row.dataset.seq !== String(entry.seq)) {
      row.dataset.seq = String(entry.seq);
      row.cells[0]!.textContent = entry.key;
      row.cells[1]!.textContent = String(entry.seq);
      row.cells[2]!.textContent = entry.event ?? "";
      const data = JSON.stringify(entry.data);
      row.cells[3]!.textContent = data.length > 160 ? `${data.slice(0, 160)}… (${data.length} chars)` : data;
      row.classList.remove("changed");
      void row.offsetWidth;
      row.classList.add("changed");
    }
    body.append(row);
  }
}

$<HTMLFormElement>("subscribe-form").onsubmit = (event) => {
  event.preventDefault();
  show($<HTMLInputElement>("topic").value.trim());
};

$<HTMLFormElement>("publish-form").onsubmit = async (event) => {
  event.preventDefault();
  const output = $("publish-result");
  const op = $<HTMLSelectElement>("publish-op").value as PublishRequest["op"];
  const request: PublishRequest = { topic: $<HTMLInputElement>("publish-topic").value.trim(), op };
  const key = $<HTMLInputElement>("publish-key").value;
  const label = $<HTMLInputElement>("publish-event").value;
  const data = $<HTMLInputElement>("publish-data").value.trim();
  const ifVersion = $<HTMLInputElement>("publish-if-version").value.trim();
  if (op === "set" || op === "delete") {
    request.key = key;
    if (ifVersion !== "") {
      request.ifVersion = Number(ifVersion);
    }
  }
  if (label !== "") {
    request.event = label;
  }
  if ((op === "set" || op === "append") && data !== "") {
    try {
      request.data = JSON.parse(data);
    } catch {
      output.textContent = "data is not valid JSON";
      return;
    }
  }
  output.textContent = client.state === "open" ? "publishing…" : "queued until the connection is back…";
  try {
    const result = await client.publish(request);
    output.textContent = `published: ${result.topic} seq ${result.seq}${result.duplicate === true ? " (already applied)" : ""}`;
  } catch (e) {
    output.textContent = e instanceof HeraldError && e.code === "conflict"
      ? `conflict: ${e.key} is at version ${e.version}, not ${ifVersion}; not applied`
      : e instanceof HeraldError ? e.message : String(e);
  }
};

/**
 * Has Herald send this page a flood of large changes and, in the same task, blocks the page's only
 * thread: the browser stops reading the socket, Herald's buffer for this connection overflows and
 * Herald closes it with 4008. Once the page runs again the client reconnects and resubscribes.
 *
 * The flood goes through the HTTP API because the browser uploads a fetch body without the page's
 * thread, while WebSocket sends would wait for it. Blocking in the same task matters too: a page that
 * reads fast for a moment lets TCP grow its receive window enough to swallow the whole flood.
 */
$<HTMLFormElement>("stall-form").onsubmit = async (event) => {
  event.preventDefault();
  const seconds = Number($<HTMLInputElement>("stall-seconds").value) || 6;
  show(STALL_TOPIC);
  const view = cards.get(STALL_TOPIC)!.view;
  if (view.status !== "live") {
    await new Promise<void>((resolve) => {
      const stop = view.onChange(() => view.status === "live" && (stop(), resolve()));
    });
  }
  log(`stalling for ${seconds} s while ${STALL_REQUESTS * STALL_BATCH} changes of 60 KiB arrive`);
  const changes = Array.from({ length: STALL_BATCH }, () => ({ topic: STALL_TOPIC, op: "set", key: "load", data: STALL_PAYLOAD }));
  const body = JSON.stringify({ changes });
  for (let i = 0; i < STALL_REQUESTS; i++) {
    fetch("/api/publish", { method: "POST", body, headers: { "content-type": "application/json" } })
      .then((response) => response.ok || log(`the flood was refused: HTTP ${response.status} (with auth on, /api needs an API key)`))
      .catch(() => undefined);
  }
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    // Busy on purpose: nothing else on this page runs, the socket included.
  }
};

$("reconnect").onclick = () => {
  const topics = [...cards.keys()];
  client.close();
  for (const card of cards.values()) {
    card.section.remove();
  }
  cards.clear();
  client = connect();
  topics.forEach(show);
};

show("demo:board");
