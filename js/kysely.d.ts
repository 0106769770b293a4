// Type declarations for `idbsql/kysely` (js/kysely.js).
import type { DatabaseIntrospector, Dialect, DialectAdapter, Driver, Kysely, PostgresAdapter, QueryCompiler } from "kysely";
import type { Database } from "idbsql";

export interface IdbsqlDialectConfig {
  /** A connected database, or a function resolving to one (then destroy() disconnects it). */
  database: Database | (() => Promise<Database>);
}

/** A Kysely dialect over an idbsql database: PostgreSQL's SQL, one connection, transactions as
 *  `db.transaction`, savepoints for Kysely's `savepoint()`. */
export declare class IdbsqlDialect implements Dialect {
  constructor(config: IdbsqlDialectConfig);
  createAdapter(): DialectAdapter;
  createDriver(): Driver;
  createQueryCompiler(): QueryCompiler;
  createIntrospector(db: Kysely<any>): DatabaseIntrospector;
}

export declare class IdbsqlAdapter extends PostgresAdapter {}
