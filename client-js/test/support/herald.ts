import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { after } from "node:test";
import { fileURLToPath } from "node:url";

/** The packaged server: HERALD_JAR, or the jar `mvn package` builds next door. */
const JAR = process.env.HERALD_JAR ?? fileURLToPath(new URL("../../../../http/target/herald.jar", import.meta.url));
const LISTENING = /Herald listening on http:\/\/127\.0\.0\.1:(\d+)/;

/** A real Herald process on loopback, started for one test. */
export interface Herald {
  readonly port: number;
  readonly http: string;
  readonly ws: string;
  /** Everything the process printed so far. */
  output(): string;
  /** POST /api/publish with one change or a batch; resolves with the parsed answer. */
  publish(body: object): Promise<any>;
  /** GET /api/topics/{topic}: the topic's current state. */
  state(topic: string): Promise<any>;
  /** GET /api/topics: the running topics with their counts. */
  topics(): Promise<any>;
  /** SIGTERM, as an operator's stop: clients get 1001. Resolves when the process has exited; again, at once. */
  stop(): Promise<void>;
}

/** Starts Herald with these settings (keys under herald, e.g. {"websocket.heartbeat": "1s"}). */
export async function startHerald(settings: Record<string, string> = {}, port = 0): Promise<Herald> {
  if (!existsSync(JAR)) {
    throw new Error(`no Herald jar at ${JAR}: build it with \`mvn -B package -DskipTests\` or set HERALD_JAR`);
  }
  const properties = Object.entries({ "server.port": String(port), ...settings }).map(([k, v]) => `-Dherald.${k}=${v}`);
  const child = spawn("java", ["-XX:+UseParallelGC", "-Xmx512m", ...properties, "-jar", JAR], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => {
    running.delete(child);
    resolve();
  }));
  const bound = new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = LISTENING.exec(output);
      if (match) {
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`Herald exited with ${code} before listening:\n${output}`)));
  });
  running.add(child);
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const actualPort = await bound.finally(() => clearTimeout(timer));
  const http = `http://127.0.0.1:${actualPort}`;
  const call = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${http}${path}`, init);
    const body = await response.json();
    if (!response.ok) {
      throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
    }
    return body;
  };
  return {
    port: actualPort,
    http,
    ws: `ws://127.0.0.1:${actualPort}/ws`,
    output: () => output,
    publish: (body) => call("/api/publish", { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    state: (topic) => call(`/api/topics/${topic}`),
    topics: () => call("/api/topics"),
    stop: async () => {
      if (running.has(child)) {
        child.kill("SIGTERM");
      }
      await exited;
    },
  };
}

/**
 * Every server still running when a test file ends, whatever happened in it (a failed assertion, a
 * missing browser), is killed: a process left behind would keep the test runner, and Maven, waiting.
 */
const running = new Set<ChildProcess>();
after(() => running.forEach((child) => child.kill("SIGKILL")));
process.on("exit", () => running.forEach((child) => child.kill("SIGKILL")));

/** Waits until `condition` holds, checking every 10 ms; fails with `what` after `timeoutMs`. */
export async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
