// React bindings: <IdbsqlProvider db>, useDb() and useLiveQuery(), a live query (db.live) held
// for as long as the component is mounted. Opens no connection and imports nothing of the engine,
// so a server-side render imports it without touching IndexedDB.
import { createContext, createElement, useContext, useEffect, useState } from "react";
import { paramsKey } from "./live_key.js";

const DbContext = createContext(null);

/** Makes `db` (a connection from `connect`) the one `useDb` and `useLiveQuery` use below it. */
export function IdbsqlProvider({ db, children }) {
  return createElement(DbContext.Provider, { value: db }, children);
}

/** The connection of the nearest <IdbsqlProvider>, or null outside one. */
export function useDb() {
  return useContext(DbContext);
}

const START = { rows: [], columns: [], error: null, loading: true };

/**
 * The result of `sql` with `params`, kept current: re-rendered after every commit that changes
 * a table the query reads (this tab, another, sync). `{ rows, columns, error, loading }`.
 * Unmounting stops the live query; new `sql` or `params` (compared by value) restart it.
 * @param {string} sql
 * @param {unknown[]} [params]
 * @param {{ rowMode?: "object" | "array", db?: object }} [options]
 */
export function useLiveQuery(sql, params = [], options = {}) {
  const provided = useContext(DbContext);
  const db = options.db ?? provided;
  const rowMode = options.rowMode;
  const key = paramsKey(params);
  const [state, setState] = useState(START);
  useEffect(() => {
    if (!db) {
      setState({ ...START, loading: false, error: new Error("useLiveQuery needs a db: an <IdbsqlProvider db> above it, or options.db") });
      return undefined;
    }
    // Each run of the effect owns one subscription; its cleanup stops it, also when it is
    // still starting (StrictMode mounts, unmounts and mounts again at once).
    let active = true;
    let subscription = null;
    setState((previous) => (previous.loading ? previous : { ...previous, loading: true }));
    db.live(
      sql,
      params,
      (result) => {
        if (active) setState({ rows: result.rows, columns: result.columns, error: null, loading: false });
      },
      rowMode ? { rowMode } : undefined,
    ).then(
      (started) => {
        if (active) subscription = started;
        else started.stop().catch(() => {});
      },
      (error) => {
        if (active) setState({ rows: [], columns: [], error, loading: false });
      },
    );
    return () => {
      active = false;
      subscription?.stop().catch(() => {});
    };
    // `params` is read through `key`: a new array with the same values keeps the query.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [db, sql, key, rowMode]);
  return state;
}
