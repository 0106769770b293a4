// The owner of one database: the open wasm handle and its call queue, the one place its calls
// run. Calls run one at a time; while a session holds a transaction only that session's calls
// run, so transactions of different connections (tabs) never interleave. Events flow one way
// out of it (to listeners and to the sync client, which answers with commands it runs here as
// system work). Knows nothing of tabs. (The SQL engine is the Rust `src/engine/`.)
import { RawDatabase, guard, internalError, isBroken, loadWasm } from "./wasm.js";
import { IdbsqlError, closedError } from "./errors.js";
import { SyncController } from "./sync.js";
import { Listeners } from "./listeners.js";

/** The session of work that is not a user's (sync frames): it runs between any calls. */
export const SYSTEM = "*";

const WRITES = new Set(["query", "exec", "import"]);

// Bits of the handle's synchronous `state()`, as its last call left it.
const IN_TRANSACTION = 1;
const HAS_EVENTS = 2;

/**
 * What the sync client asks of the database, run between user calls:
 * @typedef {{ type: "hello", database: string, token: string } | { type: "receive", frame: Uint8Array }
 *   | { type: "outgoing" } | { type: "disconnected" } | { type: "info" }} SyncCommand
 */

export class Owner {
  #raw;
  #name;
  #pending = [];
  #running = false;
  #txSession = null;
  #listeners = new Listeners();
  #sync = null;
  #closed = false;

  /**
   * Opens the database. `storage`: "indexeddb" | "memory" | "file" (Node, with the FileStore
   * `store`); `durability`: "relaxed" | "strict".
   * @returns {Promise<Owner>}
   */
  static async open(name, { storage, durability, store = null }) {
    await loadWasm();
    const raw = await guard(() => RawDatabase.open(name, storage, durability, false, store));
    return new Owner(name, raw);
  }

  constructor(name, raw) {
    this.#name = name;
    this.#raw = raw;
  }

  /** `fn(event)` for every event: `{ type: "commit" | "remote", tables, origin }`, and the sync
   * client's `{ type: "status" | "reject" | "error", … }`. Returns the unsubscribe function. */
  listen(fn) {
    return this.#listeners.add(fn);
  }

  #emit(event) {
    this.#listeners.emit(event);
  }

  /** The session whose transaction is open, if any. */
  get transactionSession() {
    return this.#txSession;
  }

  /** The sync client's `{ status, pending }`, or null when the database is not synced. */
  syncState() {
    return this.#sync?.state() ?? null;
  }

  /** Resolves when everything committed before the call is confirmed by the server (at once
   * when the database is not synced). */
  async syncFlush() {
    await this.#sync?.flush();
  }

  /** A new sync token (see SyncController.setToken). */
  setSyncToken(args) {
    this.#sync?.setToken(args);
  }

  /**
   * Runs `verb` for `session`. `origin` travels with the events the call causes. Resolves to
   * `{ value, inTransaction }` (whether `session` holds a transaction after the call).
   */
  run(session, verb, args = {}, origin = null) {
    return this.#submit(session, async () => {
      // After a panic nothing runs, not even verbs that need no call into the module.
      if (isBroken()) throw internalError();
      const value = await this.#dispatch(verb, args);
      const open = Boolean(this.#raw.state() & IN_TRANSACTION);
      if (open) this.#txSession = session;
      else if (this.#txSession === session) this.#txSession = null;
      await this.#drainEvents(origin);
      if (WRITES.has(verb) && !open) this.#sync?.afterLocalWrite();
      return { value, inTransaction: open };
    });
  }

  /** The kept answer of call `callId` if it committed, else `null` (see README, multi-tab). */
  retry(session, verb, callId, arrays) {
    return this.#submit(session, async () => {
      const results = await guard(() => this.#raw.callResult(callId, arrays));
      if (results === null) return null;
      if (verb === "query") return { value: results[0], inTransaction: false };
      if (verb === "import") {
        const [statements, rows] = arrays ? results[0].rows[0] : Object.values(results[0].rows[0]);
        return { value: { statements, rows }, inTransaction: false };
      }
      return { value: results, inTransaction: false };
    });
  }

  /** Runs one of the sync client's commands as system work, between user calls.
   * @param {SyncCommand} command */
  #performSync(command) {
    return this.#submit(SYSTEM, async () => {
      const raw = this.#raw;
      let value = null;
      switch (command.type) {
        case "hello":
          value = await guard(() => raw.syncHello(command.database, command.token));
          break;
        case "receive":
          value = await guard(() => raw.syncReceive(command.frame));
          break;
        case "outgoing":
          value = await guard(() => raw.syncOutgoing());
          break;
        case "disconnected":
          value = await guard(() => raw.syncDisconnected());
          break;
        case "info":
          value = await guard(() => raw.syncInfo());
          break;
        default:
          throw new IdbsqlError("params", `unknown sync command ${command.type}`);
      }
      await this.#drainEvents(null);
      return value;
    });
  }

  /** Rolls back `session`'s transaction if it holds one (its connection went away). */
  abandon(session) {
    if (this.#txSession !== session) return Promise.resolve();
    return this.run(session, "query", { sql: "ROLLBACK", params: [] }).catch(() => {});
  }

  #submit(session, task) {
    return new Promise((resolve, reject) => {
      this.#pending.push({ session, task, resolve, reject });
      // Idle: `#pump` takes this task at once, in this call (its loop runs until its first
      // await), so an uncontended call waits for no extra microtask.
      this.#pump();
    });
  }

  async #pump() {
    if (this.#running) return;
    this.#running = true;
    try {
      for (;;) {
        const held = this.#txSession;
        const next = this.#pending.findIndex(
          (t) => held === null || t.session === held || t.session === SYSTEM,
        );
        if (next < 0) break;
        const [item] = this.#pending.splice(next, 1);
        if (this.#closed) {
          item.reject(closedError());
          continue;
        }
        try {
          item.resolve(await item.task());
        } catch (error) {
          item.reject(error);
        }
      }
    } finally {
      this.#running = false;
    }
  }

  async #dispatch(verb, args) {
    const raw = this.#raw;
    switch (verb) {
      case "query":
        return guard(() => raw.query(args.sql, args.params ?? [], Boolean(args.arrays), args.callId));
      case "exec":
        return guard(() => raw.exec(args.sql, args.callId));
      case "import":
        return guard(() => raw.import(args.sql, args.callId));
      case "export":
        return guard(() => raw.export());
      case "tables":
        return guard(() => raw.tables());
      case "tablesRead":
        return guard(() => raw.tablesRead(args.sql));
      case "checkpoint":
        return guard(() => raw.checkpoint());
      case "open":
        if (args.sync && !this.#sync) {
          await guard(() => raw.enableSync());
          await this.startSync(args.sync);
        }
        if (!this.#sync) return null;
        // Read here, inside this call: a refresh through the queue would wait for it.
        this.#sync.note(await guard(() => raw.syncInfo()));
        return this.#sync.state();
      case "syncStop":
        this.#sync?.stop();
        return this.#sync?.state() ?? null;
      case "syncStart":
        // Not awaited: starting refreshes through this queue, which this call occupies.
        this.#sync?.start().catch(() => {});
        return this.#sync?.state() ?? null;
      case "failNextWrite":
        raw.failNextWrite();
        return null;
      case "panicForTest":
        return guard(() => raw.panicForTest());
      case "ping":
        return null;
      default:
        throw new IdbsqlError("params", `unknown call ${verb}`);
    }
  }

  /** Starts the sync client (once; later options are ignored). */
  async startSync(options) {
    if (this.#sync) return;
    this.#sync = new SyncController({
      perform: (command) => this.#performSync(command),
      database: this.#name,
      urls: options.urls,
      token: options.token,
      tokenFromPage: options.tokenFromPage,
      emit: (event) => this.#emit(event),
    });
    // Not awaited: starting refreshes through the queue, which the calling task occupies.
    this.#sync.start().catch(() => {});
  }

  async #drainEvents(origin) {
    if (!(this.#raw.state() & HAS_EVENTS)) return;
    const events = await guard(() => this.#raw.events());
    for (const event of events) {
      if (event.type === "commit") this.#emit({ type: "commit", tables: event.tables, origin });
      else if (event.type === "remote") this.#emit({ type: "remote", tables: event.tables, origin: "remote" });
      else this.#sync?.onRawEvent(event);
    }
  }

  /** Test hook of the owner (see Database._failNextWrite). */
  failNextWrite() {
    this.#raw.failNextWrite();
  }

  /** Closes: an open transaction is rolled back; later calls fail with `closed`. */
  close() {
    if (this.#closed) return;
    this.#sync?.stop();
    this.#closed = true;
    for (const item of this.#pending.splice(0)) item.reject(closedError());
    this.#raw.close();
    this.#raw.free();
  }
}
