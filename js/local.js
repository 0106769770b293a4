// A database no other context shares (storage: "memory"): a private Owner behind the link
// interface the shared link offers (call, listen, holdsTransaction), in this page or in its own Worker.
import { randomId } from "./ids.js";
import { checkSendable } from "./params.js";
import { Listeners } from "./listeners.js";
import { IdbsqlError, closedError, errorFromWire, errorToWire, postOrParamsError, toIdbsqlError } from "./errors.js";

export class LocalLink {
  context = randomId();
  #owner;
  #inTransaction = new Set();

  constructor(owner, context) {
    this.#owner = owner;
    if (context) this.context = context;
  }

  get syncState() {
    return this.#owner.syncState();
  }

  async call(session, verb, args) {
    if (verb === "syncFlush") {
      await this.#owner.syncFlush();
      return null;
    }
    if (verb === "syncSetToken") {
      this.#owner.setSyncToken(args);
      return null;
    }
    let result;
    try {
      result = await this.#owner.run(session, verb, args, { context: this.context, session });
    } catch (error) {
      throw toIdbsqlError(error);
    }
    if (result.inTransaction) this.#inTransaction.add(session);
    else this.#inTransaction.delete(session);
    return result.value;
  }

  holdsTransaction(session) {
    return this.#inTransaction.has(session);
  }

  listen(fn) {
    return this.#owner.listen(fn);
  }

  close() {
    this.#owner.close();
  }
}

/** The page's side of a private database in a dedicated Worker (`worker.js` runs the Owner):
 * calls and their answers are messages; the worker's events arrive the same way. */
export class WorkerLocalLink {
  context = randomId();
  #worker;
  #pending = new Map();
  #listeners = new Listeners();
  #inTransaction = new Set();
  #syncState = null;
  #next = 0;

  constructor(name, durability, { workerUrl, wasm } = {}) {
    // Written out whole: Vite recognises only `new Worker(new URL("…", import.meta.url))`.
    this.#worker = workerUrl
      ? new Worker(workerUrl, { type: "module" })
      : new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    this.#worker.onmessage = (event) => this.#receive(event.data);
    // A worker that cannot start (script or wasm refused) fails its calls instead of hanging them.
    this.#worker.onerror = (event) => {
      event.preventDefault?.();
      this.#failAll(new IdbsqlError("internal", `the database worker failed: ${event.message ?? "unknown error"}`));
    };
    this.#worker.postMessage({ kind: "private", name, durability, context: this.context, wasm });
  }

  get syncState() {
    return this.#syncState;
  }

  call(session, verb, args) {
    const id = (this.#next += 1);
    return new Promise((resolve, reject) => {
      checkSendable(verb, args);
      postOrParamsError((m) => this.#worker.postMessage(m), { kind: "call", id, session, verb, args });
      this.#pending.set(id, { resolve, reject, session });
    });
  }

  #receive(message) {
    if (message?.kind === "event") {
      const { event } = message;
      if (event.type === "status") this.#syncState = { status: event.status, pending: event.pending };
      this.#listeners.emit(event);
      return;
    }
    const pending = this.#pending.get(message?.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    if (message.inTransaction) this.#inTransaction.add(pending.session);
    else this.#inTransaction.delete(pending.session);
    if (message.error) pending.reject(errorFromWire(message.error));
    else pending.resolve(message.value);
  }

  #failAll(error) {
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }

  holdsTransaction(session) {
    return this.#inTransaction.has(session);
  }

  listen(fn) {
    return this.#listeners.add(fn);
  }

  close() {
    this.#worker.terminate();
    this.#failAll(closedError());
  }
}

/** The worker's side of `WorkerLocalLink`: runs calls on a private Owner, posts events. */
export function serveLocal(port, openOwner, { context }) {
  const opened = openOwner().then((owner) => {
    owner.listen((event) => port.postMessage({ kind: "event", event }));
    return new LocalLink(owner, context);
  });
  return async ({ id, session, verb, args }) => {
    try {
      const link = await opened;
      const value = await link.call(session, verb, args);
      port.postMessage({ id, value, inTransaction: link.holdsTransaction(session) });
    } catch (error) {
      const link = await opened.catch(() => null);
      port.postMessage({ id, error: errorToWire(error), inTransaction: Boolean(link?.holdsTransaction(session)) });
    }
  };
}
