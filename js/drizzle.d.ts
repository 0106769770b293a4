// Type declarations for `idbsql/drizzle` (js/drizzle.js).
import type { DrizzleConfig } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { Database, QueryResult } from "idbsql";

export interface IdbsqlQueryResultHKT extends PgQueryResultHKT {
  type: QueryResult<this["row"] extends Record<string, unknown> ? this["row"] : never>;
}

export type IdbsqlDrizzleDatabase<TSchema extends Record<string, unknown> = Record<string, never>> =
  PgDatabase<IdbsqlQueryResultHKT, TSchema> & { $client: Database };

/** A Drizzle database (PostgreSQL dialect) over a connected idbsql database. */
export declare function drizzle<TSchema extends Record<string, unknown> = Record<string, never>>(
  database: Database,
  config?: DrizzleConfig<TSchema>,
): IdbsqlDrizzleDatabase<TSchema>;

/** drizzle-kit's migrations as bundled: its journal and each migration's SQL by `m0000` key. */
export interface BundledMigrations {
  journal: { entries: { idx: number; when: number; tag: string; breakpoints?: boolean }[] };
  migrations: Record<string, string>;
}

/** Applies the migrations not applied yet, each in one transaction; resolves to their tags. */
export declare function migrate(db: IdbsqlDrizzleDatabase<any>, migrations: BundledMigrations): Promise<string[]>;
