// Type declarations for `idbsql/vue` (js/vue.js).
import type { InjectionKey, MaybeRefOrGetter, Plugin, Ref, ShallowRef } from "vue";
import type { Database, SqlParam, SqlValue } from "idbsql";

/** The key the connection is provided under. */
export declare const IdbsqlKey: InjectionKey<Database>;

/** `app.use(idbsqlPlugin(db))`: every component can `useDb()` / `useLiveQuery()`. */
export declare function idbsqlPlugin(db: Database): Plugin;

/** Provides `db` to the calling component's descendants (inside `setup`). */
export declare function provideDb(db: Database): void;

/** The provided connection, or null. */
export declare function useDb(): Database | null;

export interface LiveQueryRefs<Row> {
  rows: ShallowRef<Row[]>;
  columns: ShallowRef<string[]>;
  error: ShallowRef<Error | null>;
  loading: Ref<boolean>;
}

export interface LiveQueryOptions {
  rowMode?: "object" | "array";
  /** A connection to use instead of the provided one. */
  db?: Database;
}

/** The query's result as refs, kept current after every commit that changes a table it reads;
 *  `sql` and `params` may be refs or getters (a change restarts it); stopped with the scope. */
export declare function useLiveQuery<Row = Record<string, SqlValue>>(
  sql: MaybeRefOrGetter<string>,
  params?: MaybeRefOrGetter<SqlParam[]>,
  options?: LiveQueryOptions & { rowMode?: "object" },
): LiveQueryRefs<Row>;
export declare function useLiveQuery(
  sql: MaybeRefOrGetter<string>,
  params: MaybeRefOrGetter<SqlParam[]> | undefined,
  options: LiveQueryOptions & { rowMode: "array" },
): LiveQueryRefs<SqlValue[]>;
