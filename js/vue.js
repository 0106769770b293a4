// Vue bindings: a plugin / provideDb() carrying a connection, useDb() and the useLiveQuery()
// composable, a live query (db.live) held for the life of the component's scope. Opens no
// connection and imports nothing of the engine, so server-side rendering never touches IndexedDB.
import { inject, onScopeDispose, provide, ref, shallowRef, toValue, watch } from "vue";
import { paramsKey } from "./live_key.js";

/** The injection key the connection is provided under. */
export const IdbsqlKey = Symbol("idbsql");

/** `app.use(idbsqlPlugin(db))`: every component of the app can `useDb()` / `useLiveQuery()`. */
export function idbsqlPlugin(db) {
  return {
    install(app) {
      app.provide(IdbsqlKey, db);
    },
  };
}

/** Provides `db` to the calling component's descendants (inside `setup`). */
export function provideDb(db) {
  provide(IdbsqlKey, db);
}

/** The provided connection, or null. */
export function useDb() {
  return inject(IdbsqlKey, null);
}

/**
 * The result of `sql` with `params` as refs `{ rows, columns, error, loading }`, kept current
 * after every commit that changes a table the query reads (this tab, another, sync). `sql` and
 * `params` may be refs or getters: a change (compared by value) restarts the live query. The
 * live query stops when the calling component (or effect scope) is disposed.
 * @param {string | (() => string) | { value: string }} sql
 * @param {unknown[] | (() => unknown[]) | { value: unknown[] }} [params]
 * @param {{ rowMode?: "object" | "array", db?: object }} [options]
 */
export function useLiveQuery(sql, params = [], options = {}) {
  const db = options.db ?? inject(IdbsqlKey, null);
  const rows = shallowRef([]);
  const columns = shallowRef([]);
  const error = shallowRef(null);
  const loading = ref(true);
  let generation = 0;
  let subscription = null;
  const stop = () => {
    generation += 1;
    const running = subscription;
    subscription = null;
    running?.stop().catch(() => {});
  };
  const start = () => {
    stop();
    const mine = generation;
    if (!db) {
      error.value = new Error("useLiveQuery needs a db: app.use(idbsqlPlugin(db)), provideDb(db) or options.db");
      loading.value = false;
      return;
    }
    loading.value = true;
    const current = toValue(params) ?? [];
    db.live(
      toValue(sql),
      current,
      (result) => {
        if (mine !== generation) return;
        rows.value = result.rows;
        columns.value = result.columns;
        error.value = null;
        loading.value = false;
      },
      options.rowMode ? { rowMode: options.rowMode } : undefined,
    ).then(
      (started) => {
        if (mine === generation) subscription = started;
        else started.stop().catch(() => {});
      },
      (failure) => {
        if (mine !== generation) return;
        rows.value = [];
        columns.value = [];
        error.value = failure;
        loading.value = false;
      },
    );
  };
  // Server-side rendering runs no watcher callbacks and no lifecycle: nothing starts there.
  if (typeof window !== "undefined") {
    watch(() => [toValue(sql), paramsKey(toValue(params))], start, { immediate: true });
    onScopeDispose(stop);
  }
  return { rows, columns, error, loading };
}
