// The browser side of sync: one WebSocket to idbsql-server, reconnecting with backoff and
// jitter; frames go through the connection's call queue to the wasm state machine.

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;

/**
 * `db.sync`: status, pending count, flush() and events ("status", "change", "reject", "error").
 * Events are `CustomEvent`s whose `detail` holds the payload.
 */
export class SyncController extends EventTarget {
  #raw;
  #enqueue;
  #database;
  #url;
  #token;
  #socket = null;
  #attempt = 0;
  #timer = null;
  #stopped = false;
  #status = "offline";
  #pending = 0;
  #waiters = [];

  constructor({ raw, enqueue, database, url, token }) {
    super();
    this.#raw = raw;
    this.#enqueue = enqueue;
    this.#database = database;
    this.#url = url;
    this.#token = token ?? "";
  }

  /** "offline" | "connecting" | "syncing" | "synced" */
  get status() {
    return this.#status;
  }

  /** Local change sets not yet confirmed by the server. */
  get pending() {
    return this.#pending;
  }

  /** Resolves when everything committed before the call is confirmed by the server. */
  async flush() {
    // Through the call queue, so commits made before this call are counted.
    await this.#refresh();
    if (this.#status === "synced" && this.#pending === 0) return;
    await new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Connects to the server (again, after `stop()`); reconnects by itself until stopped. */
  start() {
    if (this.#socket) return this.#refresh();
    this.#stopped = false;
    this.#attempt = 0;
    this.#connect();
    return this.#refresh();
  }

  /**
   * Disconnects and stays offline until `start()`. Local writes go on and wait as `pending`;
   * `flush()` calls still waiting reject with code "closed".
   */
  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.close();
      this.#enqueue(() => this.#raw.syncDisconnected()).catch(() => {});
    }
    this.#setStatus("offline");
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(Object.assign(new Error("sync stopped"), { code: "closed" }));
    }
  }

  /** Called after local calls that may have committed: push what is new. */
  async afterLocalWrite() {
    await this.#enqueue(() => this.#raw.syncOutgoing()).then((frames) => this.#send(frames));
    await this.#refresh();
  }

  #setStatus(status) {
    if (status === this.#status) return;
    this.#status = status;
    this.dispatchEvent(new CustomEvent("status", { detail: { status } }));
  }

  #send(frames) {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    for (const frame of frames) socket.send(frame);
  }

  #connect() {
    if (this.#stopped) return;
    this.#setStatus("connecting");
    let socket;
    try {
      socket = new WebSocket(this.#url);
    } catch (error) {
      this.dispatchEvent(new CustomEvent("error", { detail: { message: String(error?.message ?? error) } }));
      this.#scheduleReconnect();
      return;
    }
    socket.binaryType = "arraybuffer";
    this.#socket = socket;
    socket.onopen = () => {
      this.#enqueue(() => this.#raw.syncHello(this.#database, this.#token))
        .then((hello) => socket.send(hello))
        .catch(() => socket.close());
    };
    socket.onmessage = (event) => {
      const frame = new Uint8Array(event.data);
      this.#enqueue(() => this.#raw.syncReceive(frame))
        .then((frames) => {
          this.#attempt = 0;
          this.#send(frames);
          return this.#refresh();
        })
        .catch((error) => {
          this.dispatchEvent(new CustomEvent("error", { detail: { message: error.message } }));
        });
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#enqueue(() => this.#raw.syncDisconnected()).catch(() => {});
      this.#setStatus("offline");
      this.#scheduleReconnect();
    };
  }

  #scheduleReconnect() {
    if (this.#stopped) return;
    const ceiling = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.#attempt);
    this.#attempt += 1;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  async #refresh() {
    let info;
    try {
      info = await this.#enqueue(() => this.#raw.syncInfo());
    } catch {
      return;
    }
    this.#pending = info.pending;
    for (const event of info.events) {
      this.dispatchEvent(new CustomEvent(event.type, { detail: event }));
    }
    if (this.#socket && info.connected) this.#setStatus(info.synced ? "synced" : "syncing");
    if (info.synced && info.pending === 0) {
      for (const waiter of this.#waiters.splice(0)) waiter.resolve();
    }
  }
}
