import type { WebSocketConstructor, WebSocketLike } from "../../src/index.js";

/** A WebSocket the test drives by hand, for the client's state machine without a server. */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((event: any) => void) | null = null;
  onmessage: ((event: any) => void) | null = null;
  onclose: ((event: any) => void) | null = null;
  onerror: ((event: any) => void) | null = null;
  readonly sent: any[] = [];
  closedWith: { code?: number; reason?: string } | undefined;
  /** What the server selected; set it before open() to play a server that offers batching. */
  protocol = "";

  constructor(readonly url: string, readonly protocols?: string[]) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** Several frames in one message, as a server sends them in the batch subprotocol. */
  receiveBatch(frames: object[]): void {
    this.onmessage?.({ data: JSON.stringify(frames) });
  }

  /** The server (or the network) ended the connection with this code. */
  drop(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** The frames sent of one type. */
  sentOf(type: string): any[] {
    return this.sent.filter((frame) => frame.type === type);
  }
}

/** A WebSocket constructor that records every socket the client opens. */
export function fakeWebSocket(): { WebSocket: WebSocketConstructor; sockets: FakeSocket[] } {
  const sockets: FakeSocket[] = [];
  class Recorded extends FakeSocket {
    constructor(url: string, protocols?: string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  return { WebSocket: Recorded, sockets };
}

/** Lets queued microtasks and promise callbacks run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export const welcome = { type: "welcome", session: "s1", user: "ana", heartbeat: 25_000, protocol: 1 };
