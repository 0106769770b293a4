// The browser side of sync, run by the database's owner only: one WebSocket to idbsql-server,
// reconnecting with backoff and jitter; frames go through the engine's queue to the wasm
// state machine. Reports status, pending count and events through `emit`.

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;

export class SyncController {
  #engine;
  #emit;
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

  constructor({ engine, database, url, token, emit }) {
    this.#engine = engine;
    this.#emit = emit;
    this.#database = database;
    this.#url = url;
    this.#token = token ?? "";
  }

  /** `{ status, pending }` now. */
  state() {
    return { status: this.#status, pending: this.#pending };
  }

  /** Takes `{ pending }` read from the handle by the caller. */
  note(info) {
    if (info.pending !== this.#pending) {
      this.#pending = info.pending;
      this.#emitState();
    }
  }

  /** Resolves when everything committed before the call is confirmed by the server. */
  async flush() {
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

  /** Disconnects and stays offline until `start()`; flushes still waiting reject `closed`. */
  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.close();
      this.#engine.system((raw) => raw.syncDisconnected()).catch(() => {});
    }
    this.#setStatus("offline");
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(Object.assign(new Error("sync stopped"), { code: "closed" }));
    }
  }

  /** After local calls that committed: push what is new. */
  afterLocalWrite() {
    this.#engine
      .system((raw) => raw.syncOutgoing())
      .then((frames) => this.#send(frames))
      .then(() => this.#refresh())
      .catch(() => {});
  }

  /** A sync event from the database's event queue (rejections, server errors, resets). */
  onRawEvent(event) {
    if (event.type === "reject") this.#emit({ type: "reject", clientSeq: event.clientSeq, reason: event.reason });
    if (event.type === "error") this.#emit({ type: "error", message: event.message });
    if (event.type === "reset") {
      this.#emit({ type: "reset", serverSeq: event.serverSeq, hadSeen: event.hadSeen });
    }
  }

  #setStatus(status) {
    if (status === this.#status) return;
    this.#status = status;
    this.#emitState();
  }

  #emitState() {
    this.#emit({ type: "status", status: this.#status, pending: this.#pending });
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
      this.#emit({ type: "error", message: String(error?.message ?? error) });
      this.#scheduleReconnect();
      return;
    }
    socket.binaryType = "arraybuffer";
    this.#socket = socket;
    socket.onopen = () => {
      this.#engine
        .system((raw) => raw.syncHello(this.#database, this.#token))
        .then((hello) => socket.send(hello))
        .catch(() => socket.close());
    };
    socket.onmessage = (event) => {
      const frame = new Uint8Array(event.data);
      this.#engine
        .system((raw) => raw.syncReceive(frame))
        .then((frames) => {
          this.#attempt = 0;
          this.#send(frames);
          return this.#refresh();
        })
        .catch((error) => {
          this.#emit({ type: "error", message: error.message });
          return this.#refresh();
        });
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#engine.system((raw) => raw.syncDisconnected()).catch(() => {});
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
      info = await this.#engine.system((raw) => raw.syncInfo());
    } catch {
      return;
    }
    if (info.reconnect && this.#socket) {
      // After a reset or a failed write this connection is done: catch up on a new one now.
      this.#attempt = 0;
      this.#socket.close();
    }
    const changed = info.pending !== this.#pending;
    this.#pending = info.pending;
    if (this.#socket && info.connected) this.#setStatus(info.synced ? "synced" : "syncing");
    if (changed) this.#emitState();
    if (info.synced && info.pending === 0) {
      for (const waiter of this.#waiters.splice(0)) waiter.resolve();
    }
  }
}
