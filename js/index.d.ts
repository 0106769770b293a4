// Type declarations for the public idbsql API (js/index.js).

/** A SQL value as idbsql returns it; see the README's type table. */
export type SqlValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | SqlValue[]
  | { [key: string]: SqlValue };

/** A value accepted as a `$n` parameter. */
export type SqlParam = SqlValue | Date | undefined;

export interface QueryResult<Row = Record<string, SqlValue>> {
  /** "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP TABLE", "BEGIN", … */
  command: string;
  columns: string[];
  /** Each column's type ("INT", "TEXT", …) from its first non-NULL value; null if none. */
  types: (string | null)[];
  rows: Row[];
  /** Rows returned, or rows affected by INSERT / UPDATE / DELETE. */
  rowCount: number;
}

export interface ColumnInfo {
  name: string;
  /** "INT", "TEXT", "FLOAT", … ("" for a view's columns, whose types are not declared) */
  type: string;
  nullable: boolean;
  primaryKey: boolean;
  /** True for UNIQUE and PRIMARY KEY columns. */
  unique: boolean;
  /** The DEFAULT expression as SQL, if any. */
  default: string | null;
}

export type ForeignKeyAction = "NO ACTION" | "RESTRICT" | "CASCADE" | "SET NULL" | "SET DEFAULT";

export interface TableInfo {
  name: string;
  kind: "table" | "view";
  /** A view's CREATE VIEW statement. */
  definition?: string;
  /** Empty for a schemaless table, whose rows are maps. */
  columns: ColumnInfo[];
  /** `expr` is the indexed expression, or the columns of a multi-column index. */
  indexes: { name: string; expr: string; unique: boolean }[];
  /** `column` / `referencesColumn` are the first of `columns` / `referencesColumns`. */
  foreignKeys: {
    name: string;
    column: string;
    referencesTable: string;
    referencesColumn: string;
    columns: string[];
    referencesColumns: string[];
    onDelete: ForeignKeyAction;
    onUpdate: ForeignKeyAction;
  }[];
  /** CHECK constraints, each expression as SQL. */
  checks: { name: string; expr: string }[];
  rowCount: number;
}

export type ErrorCode =
  | "parse"
  | "plan"
  | "execute"
  | "constraint"
  | "params"
  | "storage"
  | "closed"
  | "locked"
  | "multiple_statements"
  | "format"
  | "too_large"
  | "unsupported"
  | "internal"
  | "leader_changed"
  | "unavailable";

export class IdbsqlError extends Error {
  readonly code: ErrorCode;
}

export interface ConnectOptions {
  /** "indexeddb" (default): persisted; "memory": gone when disconnected. */
  storage?: "indexeddb" | "memory";
  /** "relaxed" (default): survives a tab or browser crash; "strict": also power loss. */
  durability?: "relaxed" | "strict";
  /** Share the database through idbsql-server (`ws://host:port/sync`). `url` may list
   *  several servers, tried in order on every (re)connect; `token` may be a function, called
   *  (in this tab) on every (re)connect, so the app hands out fresh tokens. */
  sync?: { url: string | string[]; token?: string | (() => string | Promise<string>) };
  /** Run the database in a dedicated Worker, so queries never block the page. */
  worker?: boolean;
}

/** A change to the database: the tables a commit changed and where it came from — this tab
 *  or worker ("local"), another ("tab"), or the sync server ("remote"). */
export interface ChangeEvent {
  tables: string[];
  origin: "local" | "tab" | "remote";
}

export interface LiveQuery {
  /** Ends the subscription; no callback runs after it resolves. */
  stop(): Promise<void>;
}

export type SyncStatus = "offline" | "connecting" | "syncing" | "synced" | "unauthorized";

/** Events: "status" ({ status }), "change" ({ tables }), "reject" ({ clientSeq, reason, code: "quota" | "rejected" }),
 *  "conflict" ({ table, key, local, remote }: a remote change replaced or deleted a row this
 *  client wrote, and its writer had not seen that write; rows as objects, null when absent),
 *  "error" ({ message, code? }: code "unauthorized" when the server refused the token), "reset" ({ serverSeq, hadSeen }: the server's log was behind this
 *  client's — restored from a backup — so the confirmed state was dropped and caught up again;
 *  unconfirmed writes were kept and pushed again); each a CustomEvent with that `detail`. */
export interface SyncController extends EventTarget {
  readonly status: SyncStatus;
  /** Local change sets not yet confirmed by the server. */
  readonly pending: number;
  /** Resolves when everything local is confirmed by the server. */
  flush(): Promise<void>;
  /** Connects (again, after `stop()`); reconnects by itself with backoff until stopped. */
  start(): Promise<void>;
  /** Goes offline until `start()`; local writes continue and count as `pending`. */
  stop(): void;
  /** Uses this token from the next (re)connect on; after "unauthorized", connects again. */
  setToken(token: string): Promise<void>;
}

export interface QueryOptions {
  /** "object" (default): rows keyed by column name, a later duplicate name winning;
   *  "array": rows as arrays in column order, duplicates kept. */
  rowMode?: "object" | "array";
}

export interface Transaction {
  query<Row = Record<string, SqlValue>>(sql: string, params?: SqlParam[]): Promise<QueryResult<Row>>;
  query(sql: string, params: SqlParam[] | undefined, options: { rowMode: "array" }): Promise<QueryResult<SqlValue[]>>;
  query<Row = Record<string, SqlValue>>(sql: string, params?: SqlParam[], options?: QueryOptions): Promise<QueryResult<Row>>;
  exec(sql: string): Promise<QueryResult[]>;
  /** A nested transaction: `fn` runs in a savepoint, rolled back to if it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
}

export interface Database {
  readonly name: string;
  readonly closed: boolean;
  /** Present when connected with a `sync` option. */
  readonly sync: SyncController | null;
  query<Row = Record<string, SqlValue>>(sql: string, params?: SqlParam[]): Promise<QueryResult<Row>>;
  query(sql: string, params: SqlParam[] | undefined, options: { rowMode: "array" }): Promise<QueryResult<SqlValue[]>>;
  query<Row = Record<string, SqlValue>>(sql: string, params?: SqlParam[], options?: QueryOptions): Promise<QueryResult<Row>>;
  exec(sql: string): Promise<QueryResult[]>;
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Calls `callback` with the query's result now and after every change to a table it reads. */
  live<Row = Record<string, SqlValue>>(
    sql: string,
    params: SqlParam[] | undefined,
    callback: (result: QueryResult<Row>) => void,
    options?: QueryOptions,
  ): Promise<LiveQuery>;
  /** `fn` after every commit here, in another tab, or from sync; returns the unsubscribe. */
  on(type: "change", fn: (event: ChangeEvent) => void): () => void;
  /** The database as a SQL script that recreates it exactly (schema, indexes, rows). */
  export(): Promise<string>;
  /** Runs a SQL script (e.g. from `export()`) as one transaction: all of it or none. */
  import(sql: string): Promise<{ statements: number; rows: number }>;
  /** The tables with their columns, indexes, foreign keys and row counts. */
  tables(): Promise<TableInfo[]>;
  checkpoint(): Promise<void>;
  disconnect(): Promise<void>;
}

export function connect(name: string, options?: ConnectOptions): Promise<Database>;
export function deleteDatabase(name: string): Promise<void>;

/** Bytes of WebAssembly memory idbsql holds on this page (all open databases together). */
export function wasmMemoryBytes(): number;
