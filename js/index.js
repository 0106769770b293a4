// The public JS API of idbsql: connect / deleteDatabase / wasmMemoryBytes and the error type.
// A database is shared by every tab and worker of the origin: one of them runs it (elected with
// a Web Lock, see shared.js), the others forward their calls. Verbs are in database.js.
import { Database } from "./database.js";
import { IdbsqlError } from "./errors.js";
import { randomId } from "./ids.js";
import { LocalLink, WorkerLocalLink } from "./local.js";
import { Owner } from "./owner.js";
import { checkOptions } from "./options.js";
import { SharedLink, ownerLockName, sessionLockName } from "./shared.js";
import { askPersist, checkNotEvicted, forget, markPresent } from "./storage.js";
import { internalError, isBroken, setWasmSource, wasmMemoryBytes } from "./wasm.js";

export { IdbsqlError, wasmMemoryBytes };

function locks() {
  const locks = globalThis.navigator?.locks;
  if (!locks) {
    // Without Web Locks tabs could not agree on one owner: refuse rather than let two write
    // the same log positions. Plain-http origins and old browsers lack them.
    throw new IdbsqlError(
      "unsupported",
      "this browser context has no Web Locks (navigator.locks: it needs https or localhost and a current browser), which persistent storage needs to keep tabs from overwriting each other; use storage: \"memory\" or serve the page over https",
    );
  }
  return locks;
}

/** Holds lock `name` until the returned function is called. */
function hold(name) {
  return new Promise((resolve, reject) => {
    locks()
      .request(name, () => new Promise((release) => resolve(release)))
      .catch(reject);
  });
}

const workers = new Map();

/** What `connect` takes in a browser. */
const BROWSER = { storages: ["indexeddb", "memory"], defaultStorage: "indexeddb" };

function startWorker(name, durability, { workerUrl, wasm }) {
  let entry = workers.get(name);
  if (!entry) {
    // Written out whole: Vite recognises only `new Worker(new URL("…", import.meta.url))`.
    const worker = workerUrl
      ? new Worker(workerUrl, { type: "module" })
      : new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    worker.postMessage({ kind: "shared", name, durability, wasm });
    entry = { worker, count: 0 };
    workers.set(name, entry);
  }
  entry.count += 1;
}

/** Resolves once the worker has let go of the database (bounded: a stuck worker is ended). */
function stopWorker(name) {
  const entry = workers.get(name);
  if (!entry) return Promise.resolve();
  entry.count -= 1;
  if (entry.count > 0) return Promise.resolve();
  workers.delete(name);
  return new Promise((resolve) => {
    const end = () => {
      clearTimeout(timer);
      entry.worker.terminate();
      resolve();
    };
    const timer = setTimeout(end, 2000);
    entry.worker.addEventListener("message", (event) => {
      if (event.data?.kind === "left") end();
    });
    entry.worker.postMessage({ kind: "leave", name });
  });
}

/**
 * Opens (creating if needed) the database `name`. Any number of connections, in any number of
 * tabs and workers, share one database.
 * @param {string} name
 * @param {{ storage?: "indexeddb" | "memory", durability?: "relaxed" | "strict",
 *   sync?: { url: string | string[], token?: string | (() => string | Promise<string>) },
 *   worker?: boolean, wasm?: string | URL | Response | Promise<Response> | BufferSource | WebAssembly.Module,
 *   workerUrl?: string | URL }} [options]
 * @returns {Promise<Database>}
 */
export async function connect(name, options = {}) {
  const { storage, durability, sync, worker, persist, tokenFn, load } = checkOptions(name, options, BROWSER);
  if (!worker) setWasmSource(load.wasm);
  // Asked, not awaited: Firefox answers only when the user clicks its prompt, which may be never.
  if (persist) askPersist();
  if (storage === "memory") {
    let link;
    if (worker) {
      link = new WorkerLocalLink(name, durability, load);
    } else {
      if (isBroken()) throw internalError();
      link = new LocalLink(await Owner.open(name, { storage, durability }));
    }
    const db = new Database(name, link, () => link.close(), Boolean(sync), undefined, tokenFn);
    try {
      await db._open(sync);
    } catch (error) {
      link.close();
      throw error;
    }
    return db;
  }
  locks();
  if (!worker && isBroken()) throw internalError();
  await checkNotEvicted(name);
  const shared = SharedLink.get(name);
  const session = randomId();
  const releaseSession = await hold(sessionLockName(session));
  if (worker) startWorker(name, durability, load);
  else shared.join({ durability });
  const release = async () => {
    releaseSession();
    await (worker ? stopWorker(name) : shared.leave());
  };
  const db = new Database(name, shared, release, Boolean(sync), session, tokenFn);
  try {
    await db._open(sync);
  } catch (error) {
    release();
    throw error;
  }
  markPresent(name);
  return db;
}

/**
 * Deletes the stored database `name`. Refused with `locked` while a connection to it is open
 * in any tab or worker.
 * @param {string} name
 */
export async function deleteDatabase(name) {
  const lockName = ownerLockName(name);
  const state = await locks().query();
  const busy = [...(state.held ?? []), ...(state.pending ?? [])].some((lock) => lock.name === lockName);
  const refused = () =>
    new IdbsqlError("locked", `database "${name}" is open in a connection (this tab or another); disconnect it first`);
  if (busy) throw refused();
  await locks().request(lockName, { ifAvailable: true }, async (lock) => {
    if (!lock) throw refused();
    // IndexedDB directly: deleting needs no WebAssembly (a worker-mode page never loads it).
    await new Promise((resolve, reject) => {
      const request = indexedDB.deleteDatabase(`idbsql/${name}`);
      request.onsuccess = () => resolve();
      request.onerror = () =>
        reject(new IdbsqlError("storage", `IndexedDB delete failed: ${request.error?.message ?? request.error}`));
      request.onblocked = () => {};
    });
  });
  forget(name);
}
