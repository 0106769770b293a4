// The browser's storage as the app should see it: persistent storage asked for, what is used of
// the quota, and a database the browser evicted told apart from a new one (a marker in
// localStorage, which neither storage-pressure eviction nor clearing IndexedDB alone removes).
// Never opens or writes the database itself.
import { IdbsqlError } from "./errors.js";

const markerKey = (name) => `idbsql:database:${name}`;

/** localStorage where this context has one (pages, not workers; not in some private modes). */
function local() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/** Whether the IndexedDB database behind `name` exists; null where the browser cannot say. */
async function exists(name) {
  if (typeof indexedDB?.databases !== "function") return null;
  try {
    const databases = await indexedDB.databases();
    return databases.some((db) => db.name === `idbsql/${name}`);
  } catch {
    return null;
  }
}

/**
 * Refuses with `evicted` when this origin had database `name` (its marker is here) and the
 * browser no longer has it: opening would give an empty database as if nothing had been lost.
 */
export async function checkNotEvicted(name) {
  const storage = local();
  if (!storage || storage.getItem(markerKey(name)) === null) return;
  if ((await exists(name)) !== false) return;
  throw new IdbsqlError(
    "evicted",
    `database "${name}" was here and the browser has removed it (storage pressure, or site data cleared); call deleteDatabase("${name}") to accept the loss, then connect again — a synced database fetches everything from the server`,
  );
}

/** Notes that this origin has database `name` (after it opened). */
export function markPresent(name) {
  try {
    local()?.setItem(markerKey(name), String(Date.now()));
  } catch {
    // A full or refused localStorage only costs the eviction check.
  }
}

/** Forgets the marker (deleteDatabase: the app removed it, nothing was lost to the browser). */
export function forget(name) {
  try {
    local()?.removeItem(markerKey(name));
  } catch {
    // Nothing to forget.
  }
}

/** Asks the browser to keep this origin's storage under pressure; whether it agreed. Never
 *  rejects: connect does not wait for the answer. */
export async function askPersist() {
  const manager = globalThis.navigator?.storage;
  if (typeof manager?.persist !== "function") return false;
  try {
    return (await manager.persisted?.()) || (await manager.persist());
  } catch {
    return false;
  }
}

/** `{ persisted, usage, quota }` of this origin (null where the browser has no StorageManager). */
export async function originStorage() {
  const manager = globalThis.navigator?.storage;
  const persisted = typeof manager?.persisted === "function" ? await manager.persisted().catch(() => null) : null;
  const estimate = typeof manager?.estimate === "function" ? await manager.estimate().catch(() => null) : null;
  return { persisted, usage: estimate?.usage ?? null, quota: estimate?.quota ?? null };
}
