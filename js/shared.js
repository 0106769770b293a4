// The shared link: one database name as seen from this tab or worker — which context owns the
// database (elected with a Web Lock), the BroadcastChannel to the others, and every call of
// this context's connections routed to the owner, here or elsewhere, with hand-over and the
// reach bound. Knows no SQL but whether a statement ends a transaction (statements.js); the
// owner's work is the Owner's (owner.js). (The server's per-database writer is server/src/hub.rs.)
import { Owner } from "./owner.js";
import { newCallId, randomId } from "./ids.js";
import { Listeners } from "./listeners.js";
import { transactionEnd } from "./statements.js";
import { checkSendable } from "./params.js";
import { IdbsqlError, errorFromWire, errorToWire, postOrParamsError, toIdbsqlError } from "./errors.js";

/** How long a call may wait for some owner to take it (README, multi-tab). */
export const REACH_OWNER_MS = 10_000;

/** The shared link of each database name in this context. */
const links = new Map();

/** Calls whose answer the owner keeps with their commit (see `#dispatch`). */
const KEPT_VERBS = new Set(["query", "exec", "import"]);

export const ownerLockName = (name) => `idbsql:${name}`;
export const sessionLockName = (session) => `idbsql-session:${session}`;

const leaderChanged = () =>
  new IdbsqlError(
    "leader_changed",
    "the tab or worker running this database closed during the call; it was not committed",
  );

export class SharedLink {
  /** The shared link of `name` in this context. */
  static get(name) {
    let link = links.get(name);
    if (!link) {
      link = new SharedLink(name);
      links.set(name, link);
    }
    return link;
  }

  name;
  context = randomId();
  #channel;
  #owner = null;
  /** The Owner this context runs while it owns the database. */
  #ownerHere = null;
  #openError = null;
  #serving = false;
  #eligible = 0;
  #abort = null;
  /** Settles once this context no longer holds or waits for the owner lock. */
  #ownership = Promise.resolve();
  #stopServing = null;
  #durability = "relaxed";
  #pending = new Map();
  #listeners = new Listeners();
  #inTransaction = new Set();
  #lost = new Set();
  #watched = new Set();
  #syncState = null;
  /** The `sync` option a connection of this context opened with (see `#ownerChanged`). */
  #syncOptions = null;
  /** Calls this owner took, by id: a second copy (sent again at a hand-over) is answered from
   * here, never run twice. */
  #taken = new Map();

  constructor(name) {
    this.name = name;
    this.#channel = new BroadcastChannel(`idbsql:${name}`);
    this.#channel.onmessage = (event) => this.#receive(event.data);
    this.#channel.postMessage({ kind: "who" });
  }

  /** Whether this context runs the database now. */
  get isOwner() {
    return this.#serving;
  }

  /** The sync client's `{ status, pending }` as last heard, or null without sync. */
  get syncState() {
    return this.#syncState;
  }

  /** Whether `session` holds an open transaction (as its last call left it). */
  holdsTransaction(session) {
    return this.#inTransaction.has(session) || this.#lost.has(session);
  }

  /** `fn(event)` for every event of the database (from any context). Returns `off`. */
  listen(fn) {
    return this.#listeners.add(fn);
  }

  #deliver(event) {
    if (event.type === "status") this.#syncState = { status: event.status, pending: event.pending };
    this.#listeners.emit(event);
  }

  /** This context may run the database (a connection on the main thread, or a worker). */
  join({ durability = "relaxed" } = {}) {
    if (this.#eligible === 0) this.#durability = durability;
    this.#eligible += 1;
    this.#compete();
  }

  /** One reason to run the database here went away; with none left, ownership moves on (the
   * promise settles when this context has let go of the database). */
  leave() {
    this.#eligible = Math.max(0, this.#eligible - 1);
    if (this.#eligible > 0) return Promise.resolve();
    this.#abort?.abort();
    this.#abort = null;
    this.#stopServing?.();
    return this.#ownership;
  }

  #compete() {
    if (this.#abort || this.#serving || this.#eligible === 0) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#ownership = navigator.locks
      .request(ownerLockName(this.name), { signal: abort.signal }, () =>
        this.#eligible > 0 ? this.#serve() : undefined,
      )
      .catch(() => {})
      .finally(() => {
        if (this.#abort === abort) this.#abort = null;
        this.#compete();
      });
  }

  /** Runs the database here until no connection of this context needs it. */
  async #serve() {
    try {
      this.#ownerHere = await Owner.open(this.name, { storage: "indexeddb", durability: this.#durability });
      this.#openError = null;
    } catch (error) {
      this.#openError = toIdbsqlError(error);
    }
    const off = this.#ownerHere?.listen((event) => {
      this.#deliver(event);
      this.#channel.postMessage({ kind: "event", event });
    });
    this.#serving = true;
    this.#owner = this.context;
    this.#channel.postMessage({ kind: "owner", owner: this.context });
    this.#ownerChanged();
    await new Promise((resolve) => {
      this.#stopServing = resolve;
      if (this.#eligible === 0) resolve();
    });
    this.#stopServing = null;
    this.#serving = false;
    this.#owner = null;
    off?.();
    this.#ownerHere?.close();
    this.#ownerHere = null;
    this.#watched.clear();
    this.#taken.clear();
  }

  /**
   * Runs `verb` for `session` wherever the owner is. Resolves to the call's value; its
   * session's transaction state is tracked here.
   */
  call(session, verb, args = {}) {
    if (this.#lost.has(session)) return this.#afterLostTransaction(session, verb, args);
    if (verb === "open" && args.sync) this.#syncOptions = args.sync;
    if (this.#serving) {
      // Run here: no id, no timer, nothing to send again (this context's owner rejects its
      // queued calls itself if it stops serving). W1's 10,000 calls pay for none of it.
      const origin = { context: this.context, session };
      return this.#runHere(session, verb, args, false, origin).then(
        (result) => {
          if (result.inTransaction) this.#inTransaction.add(session);
          else this.#inTransaction.delete(session);
          return result.value;
        },
        (error) => {
          throw toIdbsqlError(error);
        },
      );
    }
    return new Promise((resolve, reject) => {
      const entry = {
        id: newCallId(),
        session,
        verb,
        args,
        retry: false,
        timer: null,
        settle: (ok, value) => {
          this.#pending.delete(entry.id);
          clearTimeout(entry.timer);
          if (ok) resolve(value);
          else reject(value);
        },
      };
      this.#pending.set(entry.id, entry);
      this.#dispatch(entry);
    });
  }

  /** A transaction lost with its owner: its statements fail until it is ended. */
  #afterLostTransaction(session, verb, args) {
    const end = verb === "query" ? transactionEnd(args.sql) : null;
    if (end === "rollback") {
      this.#lost.delete(session);
      return Promise.resolve({ command: "ROLLBACK", columns: [], types: [], rows: [], rowCount: 0 });
    }
    if (end === "commit") this.#lost.delete(session);
    return Promise.reject(leaderChanged());
  }

  #dispatch(entry) {
    if (this.#serving) {
      const origin = { context: this.context, session: entry.session };
      this.#runHere(entry.session, entry.verb, entry.args, entry.retry, origin).then(
        (result) => this.#settled(entry, true, result),
        (error) => this.#settled(entry, false, toIdbsqlError(error)),
      );
      return;
    }
    const deadline = Date.now() + REACH_OWNER_MS;
    // A forwarded write carries its id to the owner, which keeps its answer with its commit:
    // a copy sent again after a hand-over is answered from there, never run twice.
    if (KEPT_VERBS.has(entry.verb) && entry.args.callId === undefined) {
      entry.args = { ...entry.args, callId: entry.id };
    }
    try {
      checkSendable(entry.verb, entry.args);
      postOrParamsError((m) => this.#channel.postMessage(m), {
        kind: "call",
        id: entry.id,
        context: this.context,
        session: entry.session,
        verb: entry.verb,
        args: entry.args,
        retry: entry.retry,
        deadline,
      });
    } catch (error) {
      entry.settle(false, error);
      return;
    }
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      entry.settle(
        false,
        new IdbsqlError(
          "unavailable",
          `no tab or worker took database "${this.name}" within ${REACH_OWNER_MS / 1000} s`,
        ),
      );
    }, REACH_OWNER_MS);
  }

  #settled(entry, ok, result) {
    if (!this.#pending.has(entry.id)) return;
    if (ok) {
      if (result.inTransaction) this.#inTransaction.add(entry.session);
      else this.#inTransaction.delete(entry.session);
      entry.settle(true, result.value);
    } else {
      entry.settle(false, result);
    }
  }

  /** A new owner: calls in flight that it has not taken are sent to it again (it answers a
   * committed one from its kept answer); those of a session whose transaction died with the
   * old owner fail. */
  #ownerChanged() {
    // Sync runs in the owner: a connection of this context asked for it, so the new owner
    // (this context or another) starts it too; it is idempotent there.
    if (this.#syncOptions) {
      this.call(`${this.context}:sync`, "open", { sync: this.#syncOptions }).catch(() => {});
    }
    for (const session of this.#inTransaction) this.#lost.add(session);
    this.#inTransaction.clear();
    for (const entry of [...this.#pending.values()]) {
      if (entry.acceptedBy !== undefined && entry.acceptedBy === this.#owner) continue;
      if (this.#lost.has(entry.session)) {
        entry.settle(false, leaderChanged());
        continue;
      }
      entry.retry = true;
      entry.acceptedBy = undefined;
      this.#dispatch(entry);
    }
  }

  /** The owner's side of a call. */
  async #runHere(session, verb, args, retry, origin) {
    if (this.#openError) throw this.#openError;
    const owner = this.#ownerHere;
    if (verb === "syncFlush") {
      await owner.syncFlush();
      return { value: null, inTransaction: owner.transactionSession === session };
    }
    if (verb === "syncSetToken") {
      // Not queued behind the database's calls: a reconnect may be waiting for it.
      owner.setSyncToken(args);
      return { value: null, inTransaction: owner.transactionSession === session };
    }
    if (retry && args.callId) {
      const kept = await owner.retry(session, verb, args.callId, Boolean(args.arrays));
      if (kept) return kept;
    }
    const result = await owner.run(session, verb, args, origin);
    if (result.inTransaction && origin.context !== this.context) this.#watchSession(session);
    return result;
  }

  /** Rolls back a remote session's transaction when its connection goes (tab closed). */
  #watchSession(session) {
    if (this.#watched.has(session)) return;
    this.#watched.add(session);
    const owner = this.#ownerHere;
    navigator.locks
      .request(sessionLockName(session), () => owner?.abandon(session))
      .catch(() => {})
      .finally(() => this.#watched.delete(session));
  }

  #receive(message) {
    switch (message?.kind) {
      case "who":
        if (this.#serving) this.#channel.postMessage({ kind: "owner", owner: this.context });
        break;
      case "owner":
        if (!this.#serving && message.owner !== this.#owner) {
          this.#owner = message.owner;
          this.#ownerChanged();
        }
        break;
      case "call": {
        if (!this.#serving) break;
        const to = message.context;
        const accepted = { kind: "accepted", id: message.id, to, owner: this.context };
        const taken = this.#taken.get(message.id);
        if (taken) {
          this.#channel.postMessage(taken.answer ?? accepted);
          break;
        }
        if (Date.now() > message.deadline - 500) break;
        const record = { answer: null };
        this.#taken.set(message.id, record);
        if (this.#taken.size > 4096) this.#taken.delete(this.#taken.keys().next().value);
        this.#channel.postMessage(accepted);
        const origin = { context: to, session: message.session };
        const answer = (reply) => {
          record.answer = reply;
          this.#channel.postMessage(reply);
        };
        this.#runHere(message.session, message.verb, message.args, message.retry, origin).then(
          (result) => answer({ kind: "result", id: message.id, to, ok: true, result }),
          (error) => answer({ kind: "result", id: message.id, to, ok: false, error: errorToWire(error) }),
        );
        break;
      }
      case "accepted": {
        const entry = message.to === this.context && this.#pending.get(message.id);
        if (entry) {
          clearTimeout(entry.timer);
          entry.acceptedBy = message.owner;
        }
        break;
      }
      case "result": {
        const entry = message.to === this.context && this.#pending.get(message.id);
        if (entry) this.#settled(entry, message.ok, message.ok ? message.result : errorFromWire(message.error));
        break;
      }
      case "event":
        this.#deliver(message.event);
        break;
      default:
        break;
    }
  }
}
