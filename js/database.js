// A connection: the verbs users call (query, exec, transaction, live, on, …), one at a time in
// call order, sent through a link to wherever the database runs — the shared link (shared.js: tabs and
// workers) or a local one (local.js: memory storage). Knows nothing of locks or channels.
import { IdbsqlError, closedError, toIdbsqlError } from "./errors.js";
import { randomId } from "./ids.js";
import { arrayRows, checkParams, checkSql } from "./params.js";
import { originStorage } from "./storage.js";

/** A transaction handle passed to `db.transaction(fn)`; valid only while `fn` runs. */
class Transaction {
  #call;
  #savepointName;
  #done = false;

  /** `savepointName()` gives a name no open savepoint of this connection has. */
  constructor(call, savepointName) {
    this.#call = call;
    this.#savepointName = savepointName;
  }

  #check() {
    if (this.#done) throw new IdbsqlError("closed", "this transaction has finished");
  }

  /**
   * @param {string} sql
   * @param {unknown[]} [params]
   * @param {{ rowMode?: "object" | "array" }} [options]
   */
  async query(sql, params = [], options) {
    this.#check();
    checkSql(sql);
    checkParams(params);
    const arrays = arrayRows(options);
    return this.#call("query", { sql, params, arrays });
  }

  /** @param {string} sql */
  async exec(sql) {
    this.#check();
    checkSql(sql);
    return this.#call("exec", { sql });
  }

  /**
   * A nested transaction: `fn(inner)` runs inside a savepoint, which is released if it
   * resolves and rolled back to if it throws (the error is re-thrown; this transaction goes on).
   * @template T
   * @param {(tx: Transaction) => Promise<T>} fn
   * @returns {Promise<T>}
   */
  async transaction(fn) {
    this.#check();
    if (typeof fn !== "function") throw new IdbsqlError("params", "transaction() takes a function");
    return inSavepoint(this.#call, this.#savepointName, fn);
  }

  finish() {
    this.#done = true;
  }
}

/** Runs `fn(tx)` inside a new savepoint of the open transaction (see `Transaction.transaction`). */
async function inSavepoint(call, savepointName, fn) {
  const name = savepointName();
  await call("query", { sql: `SAVEPOINT ${name}`, params: [] });
  const tx = new Transaction(call, savepointName);
  try {
    const result = await fn(tx);
    tx.finish();
    await call("query", { sql: `RELEASE SAVEPOINT ${name}`, params: [] });
    return result;
  } catch (error) {
    tx.finish();
    // If the transaction itself is gone (its owner closed), there is nothing to roll back to.
    await call("query", { sql: `ROLLBACK TO SAVEPOINT ${name}`, params: [] })
      .then(() => call("query", { sql: `RELEASE SAVEPOINT ${name}`, params: [] }))
      .catch(() => {});
    throw error;
  }
}

/** `db.sync` of any connection: mirrors the owner's sync client and sends it commands. */
class SyncView extends EventTarget {
  #link;
  #call;
  #state = { status: "offline", pending: 0 };
  #off;

  #direct;
  #tokenFn;

  /** `direct(verb, args)` reaches the sync client without waiting behind this connection's
   * calls; `tokenFn` is the `sync.token` function this connection was given, if any. */
  constructor(link, call, direct, tokenFn) {
    super();
    this.#link = link;
    this.#call = call;
    this.#direct = direct;
    this.#tokenFn = tokenFn;
    if (link.syncState) this.#state = link.syncState;
    this.#off = link.listen((event) => {
      switch (event.type) {
        case "token-needed":
          if (this.#tokenFn) this.#answerToken();
          break;
        case "status": {
          const changed = event.status !== this.#state.status || event.pending !== this.#state.pending;
          this.#state = { status: event.status, pending: event.pending };
          if (changed) {
            this.dispatchEvent(new CustomEvent("status", { detail: { status: event.status, pending: event.pending } }));
          }
          break;
        }
        case "remote":
          this.dispatchEvent(new CustomEvent("change", { detail: { tables: event.tables } }));
          break;
        case "reject":
          this.dispatchEvent(new CustomEvent("reject", { detail: event }));
          break;
        case "error":
          this.dispatchEvent(new CustomEvent("error", { detail: event }));
          break;
        case "conflict":
          this.dispatchEvent(
            new CustomEvent("conflict", {
              detail: { table: event.table, key: event.key, local: event.local, remote: event.remote },
            }),
          );
          break;
        case "reset":
          this.dispatchEvent(new CustomEvent("reset", { detail: { serverSeq: event.serverSeq, hadSeen: event.hadSeen } }));
          break;
        default:
          break;
      }
    });
  }

  /** "offline" | "connecting" | "syncing" | "synced" | "unauthorized" (the server refused
   * the token: no retries until `setToken` or `start()`) */
  get status() {
    return this.#state.status;
  }

  /** Local change sets not yet confirmed by the server. */
  get pending() {
    return this.#state.pending;
  }

  adopt(state) {
    if (state) this.#state = state;
  }

  /** Resolves when everything committed before the call is confirmed by the server. */
  async flush() {
    await this.#call("syncFlush", {});
  }

  /** Uses `token` from the next (re)connect on; after an `unauthorized`, connects again. */
  async setToken(token) {
    if (typeof token !== "string") throw new IdbsqlError("params", "the token must be a string");
    await this.#direct("syncSetToken", { token });
  }

  #answerToken() {
    Promise.resolve()
      .then(() => this.#tokenFn())
      .then(
        (token) =>
          typeof token === "string"
            ? { token }
            : { error: `it returned ${token === null ? "null" : typeof token}, not a string` },
        (error) => ({ error: String(error?.message ?? error) }),
      )
      .then((answer) => this.#direct("syncSetToken", answer))
      .catch(() => {});
  }

  /** Connects to the server (again, after `stop()`, or after `unauthorized`: a token
   * function is asked again). */
  async start() {
    this.adopt(await this.#call("syncStart", {}));
  }

  /** Goes offline until `start()`; local writes continue and count as `pending`. */
  stop() {
    this.#state = { ...this.#state, status: "offline" };
    this.#call("syncStop", {})
      .then((state) => this.adopt(state))
      .catch(() => {});
  }

  close() {
    this.#off();
  }
}

/** A connection to one database. Calls run one at a time, in the order they were made. */
export class Database {
  #link;
  #session;
  #queue = Promise.resolve();
  #busy = 0;
  /** Savepoints named so far by nested transactions; each gets the next number. */
  #savepoints = 0;
  #closing = false;
  #release;
  #subscriptions = new Set();

  /**
   * @param {{ call, listen, holdsTransaction, context, syncState }} link
   * @param {() => void} release
   */
  constructor(name, link, release, hasSync, session = randomId(), tokenFn = null) {
    /** The database's name. */
    this.name = name;
    this.#link = link;
    this.#session = session;
    this.#release = release;
    /** Sync with idbsql-server (`null` unless `connect` got a `sync` option). */
    this.sync = hasSync
      ? new SyncView(
          link,
          (verb, args) => this.#call(verb, args),
          (verb, args) => this.#link.call(this.#session, verb, args),
          tokenFn,
        )
      : null;
  }

  /** The first call: opens the database where it runs (and starts sync there if asked). */
  async _open(syncOptions) {
    const state = await this.#call("open", { sync: syncOptions ?? null });
    this.sync?.adopt(state);
  }

  /** Whether `disconnect()` has been called. */
  get closed() {
    return this.#closing;
  }

  // Links reject with IdbsqlError already; no wrapper here (each promise layer costs a point
  // query about a microsecond).
  #call(verb, args) {
    return this.#link.call(this.#session, verb, args);
  }

  #enqueue(task) {
    if (this.#closing) return Promise.reject(closedError());
    // Nothing queued: start now rather than a microtask later. Order is kept either way, as
    // every later call chains on `#queue`.
    let run;
    if (this.#busy === 0) {
      try {
        run = Promise.resolve(task());
      } catch (error) {
        run = Promise.reject(toIdbsqlError(error));
      }
    } else {
      run = this.#queue.then(task);
    }
    this.#busy += 1;
    this.#queue = run.then(
      () => {
        this.#busy -= 1;
      },
      () => {
        this.#busy -= 1;
      },
    );
    return run;
  }

  /**
   * Runs exactly one SQL statement with `$1`, `$2`, … parameters. Rows are objects keyed by
   * column name, or arrays in column order with `{ rowMode: "array" }` (duplicate names kept).
   * @param {string} sql
   * @param {unknown[]} [params]
   * @param {{ rowMode?: "object" | "array" }} [options]
   */
  query(sql, params = [], options) {
    let arrays;
    try {
      checkSql(sql);
      checkParams(params);
      arrays = arrayRows(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#enqueue(() => this.#call("query", { sql, params, arrays }));
  }

  /**
   * Runs every statement in `sql`; resolves to one result per statement.
   * @param {string} sql
   */
  exec(sql) {
    try {
      checkSql(sql);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#enqueue(() => this.#call("exec", { sql }));
  }

  /**
   * Runs `fn(tx)` inside BEGIN … COMMIT; ROLLBACK if it throws (the error is re-thrown).
   * Use `tx`, not `db`, inside `fn`: `db` calls wait until the transaction ends, and calls of
   * other connections (other tabs too) wait until it ends. Nested (`tx.transaction(fn)`, or
   * this call while a transaction opened with BEGIN is open) it runs inside a savepoint.
   * @template T
   * @param {(tx: Transaction) => Promise<T>} fn
   * @returns {Promise<T>}
   */
  transaction(fn) {
    if (typeof fn !== "function") {
      return Promise.reject(new IdbsqlError("params", "transaction() takes a function"));
    }
    const call = (verb, args) => this.#call(verb, args);
    const savepointName = () => `idbsql_savepoint_${++this.#savepoints}`;
    return this.#enqueue(async () => {
      if (this.#link.holdsTransaction(this.#session)) return inSavepoint(call, savepointName, fn);
      await this.#call("query", { sql: "BEGIN", params: [] });
      const tx = new Transaction(call, savepointName);
      try {
        const result = await fn(tx);
        tx.finish();
        await this.#call("query", { sql: "COMMIT", params: [] });
        return result;
      } catch (error) {
        tx.finish();
        if (this.#link.holdsTransaction(this.#session)) {
          await this.#call("query", { sql: "ROLLBACK", params: [] }).catch(() => {});
        }
        throw error;
      }
    });
  }

  /**
   * The whole database as a SQL script that recreates it.
   * @returns {Promise<string>}
   */
  export() {
    return this.#enqueue(() => this.#call("export", {}));
  }

  /**
   * Runs a SQL script, e.g. from `export()`, as one transaction: everything or nothing.
   * @param {string} sql
   * @returns {Promise<{ statements: number, rows: number }>}
   */
  import(sql) {
    try {
      checkSql(sql);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#enqueue(() => this.#call("import", { sql }));
  }

  /** The tables and views, in name order, with columns, indexes, foreign keys, row counts. */
  tables() {
    return this.#enqueue(() => this.#call("tables", {}));
  }

  /**
   * Where the data lives and how much room it has: `{ persisted, usage, quota }` — the
   * origin's, from the browser's StorageManager (null where it has none); in Node, the file.
   */
  storage() {
    if (this.#closing) return Promise.reject(closedError());
    return Promise.resolve(this.#link.storageInfo?.() ?? originStorage());
  }

  /** Writes a checkpoint now; normally automatic. */
  checkpoint() {
    return this.#enqueue(() => this.#call("checkpoint", {}));
  }

  /**
   * `fn({ tables, origin })` after every commit that changed tables: `origin` is "local" (a
   * connection in this tab or worker), "tab" (another tab or worker) or "remote" (sync).
   * @returns {() => void} unsubscribes
   */
  on(type, fn) {
    if (type !== "change") throw new IdbsqlError("params", `no event "${type}"; there is "change"`);
    if (typeof fn !== "function") throw new IdbsqlError("params", "on() takes a function");
    return this.#link.listen((event) => {
      if (event.type !== "commit" && event.type !== "remote") return;
      const origin = event.type === "remote" ? "remote" : event.origin?.context === this.#link.context ? "local" : "tab";
      fn({ tables: event.tables, origin });
    });
  }

  /**
   * A live query: `callback(result)` gets the first result before the promise resolves, then a
   * new one whenever a table the query reads changes (here, in another tab, or by sync);
   * bursts are coalesced. `await sub.stop()` ends it.
   * @param {string} sql
   * @param {unknown[]} [params]
   * @param {(result: object) => void} callback
   * @param {{ rowMode?: "object" | "array" }} [options]
   */
  async live(sql, params = [], callback, options) {
    checkSql(sql);
    checkParams(params);
    arrayRows(options);
    if (typeof callback !== "function") throw new IdbsqlError("params", "live() takes a callback");
    const tables = new Set(await this.#enqueue(() => this.#call("tablesRead", { sql })));
    let stopped = false;
    let running = null;
    let dirty = false;
    const run = async () => {
      if (running) {
        dirty = true;
        return running;
      }
      running = (async () => {
        do {
          dirty = false;
          const result = await this.query(sql, params, options);
          if (!stopped) callback(result);
        } while (dirty && !stopped);
      })();
      try {
        await running;
      } finally {
        running = null;
      }
    };
    const off = this.#link.listen((event) => {
      if (stopped || (event.type !== "commit" && event.type !== "remote")) return;
      if (event.tables.some((t) => tables.has(t))) run().catch(() => {});
    });
    const subscription = {
      stop: async () => {
        stopped = true;
        off();
        this.#subscriptions.delete(subscription);
        await running?.catch(() => {});
      },
    };
    this.#subscriptions.add(subscription);
    try {
      await run();
    } catch (error) {
      await subscription.stop();
      throw error;
    }
    return subscription;
  }

  /** Test hook: the next IndexedDB write aborts, as on a quota error. */
  _failNextWrite() {
    return this.#enqueue(() => this.#call("failNextWrite", {}));
  }

  /** Test hook: a Rust panic inside a call, as a bug would cause. */
  _panicForTest() {
    return this.#enqueue(() => this.#call("panicForTest", {}));
  }

  /** Waits for pending calls, rolls back an open transaction, closes. Later calls reject `closed`. */
  disconnect() {
    if (this.#closing) return this.#queue;
    const done = this.#enqueue(async () => {
      for (const subscription of [...this.#subscriptions]) await subscription.stop();
      this.sync?.close();
      if (this.#link.holdsTransaction(this.#session)) {
        await this.#call("query", { sql: "ROLLBACK", params: [] }).catch(() => {});
      }
      await this.#release();
    });
    this.#closing = true;
    return done;
  }
}
