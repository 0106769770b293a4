// The browser side of sync, run by the database's owner only: one WebSocket to idbsql-server,
// reconnecting with backoff and jitter through the URLs in order. It holds no wasm handle and
// no call queue: what the database must do it asks as commands (`perform`, the owner's), what
// happened there it is told as events (`onRawEvent`, `afterLocalWrite`, `note`). Reports status,
// pending count and events through `emit`. A token from a function is asked of the connections.

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;
/** How long a (re)connect waits for a connection's token function to answer. */
const TOKEN_WAIT_MS = 10_000;

export class SyncController {
  /** `perform(command)`: the owner runs a sync command in its queue, resolving to its answer
   * (see `SyncCommand` in owner.js). */
  #perform;
  #emit;
  #database;
  #urls;
  /** Which URL the next attempt uses: the first after a connection that opened. */
  #urlIndex = 0;
  #token;
  #tokenFromPage;
  #tokenWaiter = null;
  /** The server refused the token: no retries until a new token or `start()`. */
  #unauthorized = false;
  /** The server refused a token the page's function gave (it expired or was revoked, maybe
   * mid-session): the next connect asks the function again, once, before giving up. */
  #askedAgain = false;
  /** A connect is under way (maybe waiting for a token). */
  #connecting = false;
  #socket = null;
  #attempt = 0;
  #timer = null;
  #stopped = false;
  #status = "offline";
  #pending = 0;
  #waiters = [];

  constructor({ perform, database, urls, token, tokenFromPage, emit }) {
    this.#perform = perform;
    this.#emit = emit;
    this.#database = database;
    this.#urls = urls;
    this.#token = token ?? "";
    this.#tokenFromPage = Boolean(tokenFromPage);
  }

  /** A new token (from `db.sync.setToken`, or a connection's token function when asked);
   * after the server refused the last one, connects again with it. `{ error }` when the
   * function failed. */
  setToken({ token, error }) {
    if (typeof token === "string") this.#token = token;
    const waiter = this.#tokenWaiter;
    this.#tokenWaiter = null;
    if (error !== undefined) this.#emit({ type: "error", message: `the token function failed: ${error}` });
    if (waiter) {
      waiter(typeof token === "string" ? token : null);
      return;
    }
    if (typeof token === "string" && this.#unauthorized) this.#retryAuthorized();
  }

  #retryAuthorized() {
    this.#unauthorized = false;
    if (this.#stopped || this.#socket) return;
    this.#attempt = 0;
    this.#urlIndex = 0;
    this.#connect();
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
    this.#unauthorized = false;
    this.#attempt = 0;
    this.#urlIndex = 0;
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
      this.#perform({ type: "disconnected" }).catch(() => {});
    }
    this.#setStatus("offline");
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(Object.assign(new Error("sync stopped"), { code: "closed" }));
    }
  }

  /** After local calls that committed: push what is new. */
  afterLocalWrite() {
    this.#perform({ type: "outgoing" })
      .then((frames) => this.#send(frames))
      .then(() => this.#refresh())
      .catch(() => {});
  }

  /** A sync event from the database's event queue (rejections, server errors, resets). */
  onRawEvent(event) {
    if (event.type === "reject") {
      this.#emit({ type: "reject", clientSeq: event.clientSeq, reason: event.reason, code: event.code });
    }
    if (event.type === "error") {
      this.#emit({ type: "error", message: event.message, ...(event.code ? { code: event.code } : {}) });
      if (event.code === "unauthorized" && this.#tokenFromPage && !this.#askedAgain) {
        // The connection closes; the reconnect asks the token function for a fresh token.
        this.#askedAgain = true;
      } else if (event.code === "unauthorized") {
        // Retrying with the same token cannot succeed: wait for a new one.
        this.#unauthorized = true;
        clearTimeout(this.#timer);
        this.#setStatus("unauthorized");
      }
    }
    if (event.type === "conflict") {
      this.#emit({ type: "conflict", table: event.table, key: event.key, local: event.local, remote: event.remote });
    }
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

  /** The token for this attempt: asked of the connections when it comes from a function. */
  async #currentToken() {
    if (!this.#tokenFromPage) return this.#token;
    const asked = new Promise((resolve) => {
      this.#tokenWaiter = resolve;
    });
    const late = new Promise((resolve) => setTimeout(() => resolve(null), TOKEN_WAIT_MS));
    this.#emit({ type: "token-needed" });
    const token = await Promise.race([asked, late]);
    this.#tokenWaiter = null;
    return token;
  }

  async #connect() {
    if (this.#stopped || this.#unauthorized || this.#connecting) return;
    this.#connecting = true;
    try {
      await this.#open();
    } finally {
      this.#connecting = false;
    }
  }

  async #open() {
    this.#setStatus("connecting");
    const token = await this.#currentToken();
    if (this.#stopped || this.#unauthorized || this.#socket) return;
    if (token === null) {
      this.#emit({ type: "error", message: "no connection answered with a sync token in time" });
      this.#scheduleReconnect();
      return;
    }
    const url = this.#urls[this.#urlIndex % this.#urls.length];
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      // Refused before any connection: a URL this browser will not open.
      this.#emit({ type: "error", message: String(error?.message ?? error) });
      this.#setStatus("offline");
      this.#tryNextUrl(false);
      return;
    }
    socket.binaryType = "arraybuffer";
    this.#socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.#perform({ type: "hello", database: this.#database, token })
        .then((hello) => socket.send(hello))
        .catch(() => socket.close());
    };
    socket.onmessage = (event) => {
      const frame = new Uint8Array(event.data);
      this.#perform({ type: "receive", frame })
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
    const closed = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#perform({ type: "disconnected" }).catch(() => {});
      if (this.#unauthorized) return;
      this.#setStatus("offline");
      this.#tryNextUrl(opened);
    };
    socket.onclose = closed;
    // WebKit fires only "error", never "close", for a connection it refuses (a blocked port):
    // before the socket opened, an error is the end of this attempt.
    socket.onerror = () => {
      if (!opened) closed();
    };
  }

  /** A URL that never answered gives way to the next at once; after a connection, or once every
   *  URL was tried, start over from the first after the backoff. */
  #tryNextUrl(opened) {
    this.#urlIndex = opened ? 0 : this.#urlIndex + 1;
    if (!opened && this.#urlIndex % this.#urls.length !== 0) {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.#connect(), 0);
      return;
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    if (this.#stopped || this.#unauthorized) return;
    const ceiling = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.#attempt);
    this.#attempt += 1;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  async #refresh() {
    let info;
    try {
      info = await this.#perform({ type: "info" });
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
    if (info.synced) this.#askedAgain = false;
    if (info.synced && info.pending === 0) {
      for (const waiter of this.#waiters.splice(0)) waiter.resolve();
    }
  }
}
