// Type declarations for `idbsql/react` (js/react.js).
import type { ReactNode } from "react";
import type { Database, SqlParam, SqlValue } from "idbsql";

export interface LiveQueryState<Row> {
  /** The latest result's rows ([] until the first one). */
  rows: Row[];
  columns: string[];
  /** Why the live query could not start (bad SQL, no db), else null. */
  error: Error | null;
  /** True until the first result of the current sql and params. */
  loading: boolean;
}

export interface LiveQueryOptions {
  rowMode?: "object" | "array";
  /** A connection to use instead of the provider's. */
  db?: Database;
}

/** Makes `db` the connection `useDb` and `useLiveQuery` use below it. */
export declare function IdbsqlProvider(props: { db: Database; children?: ReactNode }): ReactNode;

/** The connection of the nearest <IdbsqlProvider>, or null outside one. */
export declare function useDb(): Database | null;

/** The query's result, re-rendered after every commit that changes a table it reads; stopped
 *  on unmount, restarted when `sql` or `params` (by value) change. */
export declare function useLiveQuery<Row = Record<string, SqlValue>>(
  sql: string,
  params?: SqlParam[],
  options?: LiveQueryOptions & { rowMode?: "object" },
): LiveQueryState<Row>;
export declare function useLiveQuery(
  sql: string,
  params: SqlParam[] | undefined,
  options: LiveQueryOptions & { rowMode: "array" },
): LiveQueryState<SqlValue[]>;
