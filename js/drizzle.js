// `idbsql/drizzle`: a Drizzle driver over an idbsql database — Drizzle's PostgreSQL dialect
// writes the SQL, this module runs it with db.query / db.transaction and applies migrations
// drizzle-kit generated (bundled, not read from a folder). It holds no SQL of its own beyond
// the migrations table.
import {
  createTableRelationsHelpers,
  DefaultLogger,
  entityKind,
  extractTablesRelationalConfig,
  fillPlaceholders,
  mapResultRow,
  NoopLogger,
} from "drizzle-orm";
import { NoopCache } from "drizzle-orm/cache/core";
import { PgDatabase, PgDialect, PgPreparedQuery, PgSession, PgTransaction } from "drizzle-orm/pg-core";

/** Drizzle wraps a driver's error in its DrizzleQueryError: the idbsql error is its cause, and
 *  its `code` is copied up so `error.code` reads the same through Drizzle. */
function withCode(error) {
  if (error && typeof error === "object" && error.code === undefined && error.cause?.code !== undefined) {
    error.code = error.cause.code;
  }
  return error;
}

class IdbsqlPreparedQuery extends PgPreparedQuery {
  static [entityKind] = "IdbsqlPreparedQuery";

  constructor(client, query, logger, cache, queryMetadata, cacheConfig, fields, arrayMode, customResultMapper) {
    super(query, cache, queryMetadata, cacheConfig);
    this.client = client;
    this.logger = logger;
    this.fields = fields;
    this.arrayMode = arrayMode;
    this.customResultMapper = customResultMapper;
  }

  async #run(params, rowMode) {
    const { sql } = this.getQuery();
    this.logger.logQuery(sql, params);
    try {
      return await this.queryWithCache(sql, params, () => this.client.query(sql, params, { rowMode }));
    } catch (error) {
      throw withCode(error);
    }
  }

  async execute(placeholderValues = {}) {
    const params = fillPlaceholders(this.getQuery().params, placeholderValues);
    const { fields, customResultMapper } = this;
    if (!fields && !customResultMapper) return this.#run(params, "object");
    const { rows } = await this.#run(params, "array");
    if (customResultMapper) return customResultMapper(rows);
    return rows.map((row) => mapResultRow(fields, row, this.joinsNotNullableMap));
  }

  async all(placeholderValues = {}) {
    const params = fillPlaceholders(this.getQuery().params, placeholderValues);
    return (await this.#run(params, "object")).rows;
  }

  /** @internal */
  isResponseInArrayMode() {
    return this.arrayMode;
  }
}

class IdbsqlSession extends PgSession {
  static [entityKind] = "IdbsqlSession";

  constructor(client, dialect, schema, options) {
    super(dialect);
    this.client = client;
    this.schema = schema;
    this.options = options;
    this.logger = options.logger ?? new NoopLogger();
    this.cache = options.cache ?? new NoopCache();
  }

  prepareQuery(query, fields, _name, arrayMode, customResultMapper, queryMetadata, cacheConfig) {
    return new IdbsqlPreparedQuery(
      this.client,
      query,
      this.logger,
      this.cache,
      queryMetadata,
      cacheConfig,
      fields,
      arrayMode,
      customResultMapper,
    );
  }

  /** `db.transaction(fn)` is idbsql's: `tx.rollback()` throws out of it, which rolls back. */
  async transaction(fn, config) {
    return this.client.transaction(async (tx) => {
      const session = new IdbsqlSession(tx, this.dialect, this.schema, this.options);
      const transaction = new IdbsqlTransaction(this.dialect, session, this.schema);
      if (config) await transaction.setTransaction(config);
      return fn(transaction);
    });
  }

  async count(query) {
    const result = await this.execute(query);
    return Number(result.rows[0].count);
  }
}

class IdbsqlTransaction extends PgTransaction {
  static [entityKind] = "IdbsqlTransaction";

  /** A nested transaction: idbsql's own, a savepoint rolled back to if `fn` throws. */
  async transaction(fn) {
    return this.session.client.transaction(async (tx) => {
      const session = new IdbsqlSession(tx, this.dialect, this.schema, this.session.options);
      return fn(new IdbsqlTransaction(this.dialect, session, this.schema, this.nestedIndex + 1));
    });
  }

  /** idbsql's transactions are serializable and read-write: a level asked for is met or
   *  exceeded, so the SET TRANSACTION PostgreSQL would get is not sent. */
  async setTransaction() {}
}

/** `drizzle(database, { schema, logger, casing })`: a Drizzle database over an idbsql database. */
export function drizzle(database, config = {}) {
  if (!database || typeof database.query !== "function" || typeof database.transaction !== "function") {
    throw new TypeError("idbsql/drizzle: drizzle(database) takes a connected idbsql database");
  }
  const dialect = new PgDialect({ casing: config.casing });
  const logger = config.logger === true ? new DefaultLogger() : config.logger || undefined;
  let schema;
  if (config.schema) {
    const tables = extractTablesRelationalConfig(config.schema, createTableRelationsHelpers);
    schema = { fullSchema: config.schema, schema: tables.tables, tableNamesMap: tables.tableNamesMap };
  }
  const session = new IdbsqlSession(database, dialect, schema, { logger, cache: config.cache });
  const db = new PgDatabase(dialect, session, schema);
  db.$client = database;
  return db;
}

/** The table recording which migrations ran (Drizzle's own lives in a `drizzle` schema, which
 *  idbsql does not have). */
const MIGRATIONS_TABLE = "__drizzle_migrations";

async function sha256(text) {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Applies drizzle-kit's migrations not applied yet, each in one transaction with its record.
 *  `migrations` as drizzle-kit bundles them: `{ journal: { entries: [{ idx, when, tag }] },
 *  migrations: { m0000: sqlText, … } }` (its `migrations.js` for bundlers). Returns the tags run. */
export async function migrate(db, { journal, migrations } = {}) {
  if (!journal || !Array.isArray(journal.entries) || !migrations) {
    throw new TypeError("idbsql/drizzle: migrate(db, { journal, migrations }) as drizzle-kit bundles them");
  }
  const client = db.$client;
  await client.query(
    `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (id SERIAL PRIMARY KEY, hash TEXT NOT NULL, tag TEXT, created_at BIGINT NOT NULL)`,
  );
  const last = (await client.query(`SELECT MAX(created_at) AS at FROM "${MIGRATIONS_TABLE}"`)).rows[0].at;
  const ran = [];
  for (const entry of [...journal.entries].sort((a, b) => a.idx - b.idx)) {
    if (last != null && Number(entry.when) <= Number(last)) continue;
    const key = `m${String(entry.idx).padStart(4, "0")}`;
    const text = migrations[key];
    if (typeof text !== "string") throw new Error(`idbsql/drizzle: migration ${key} (${entry.tag}) is missing`);
    const statements = text
      .split("--> statement-breakpoint")
      .map((s) => s.trim())
      .filter(Boolean);
    const hash = await sha256(text);
    await client.transaction(async (tx) => {
      for (const statement of statements) await tx.query(statement);
      await tx.query(`INSERT INTO "${MIGRATIONS_TABLE}" (hash, tag, created_at) VALUES ($1, $2, $3)`, [hash, entry.tag, entry.when]);
    });
    ran.push(entry.tag);
  }
  return ran;
}
