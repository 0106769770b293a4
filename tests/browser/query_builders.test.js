// idbsql behind the query builders web developers use, as a user installs them: the packed
// package and the real `kysely` from npm, in an app bundled by Vite, run in headless Chromium.
// Every statement the builder writes for the app runs unchanged.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ROOT, launchBrowser, packIntoApp, readmeSnippets, run, runApp, typecheckApp } from "./harness.js";

// The README's "With Kysely" snippet, then an app's calls: migrations by Kysely's Migrator,
// CRUD with returning, an upsert, a join with an aggregate, a rolled-back transaction, a
// savepoint, introspection, streaming, errors and a live query of a builder query.
/** The README's "With Kysely" snippet, as written there. */
function readmeSnippet(heading) {
  const [snippet] = readmeSnippets(heading);
  assert.ok(snippet, `README has a js snippet under "${heading}"`);
  return snippet;
}

// The app after the snippet, which gives it \`database\` and \`db\`.
const KYSELY_APP = `import { sql } from "kysely";
import { Migrator } from "kysely/migration";

const migrations = {
  "001_users_and_posts": {
    async up(db) {
      await db.schema
        .createTable("users")
        .addColumn("id", "serial", (c) => c.primaryKey())
        .addColumn("email", "text", (c) => c.notNull().unique())
        .addColumn("name", "text")
        .addColumn("created_at", "timestamp", (c) => c.notNull().defaultTo(sql\`now()\`))
        .execute();
      await db.schema
        .createTable("posts")
        .addColumn("id", "serial", (c) => c.primaryKey())
        .addColumn("author_id", "integer", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("title", "text", (c) => c.notNull())
        .addColumn("meta", "jsonb")
        .execute();
      await db.schema.createIndex("posts_author").on("posts").column("author_id").execute();
      await db.schema
        .createTable("comments")
        .addColumn("id", "serial", (c) => c.primaryKey())
        .addColumn("post_id", "integer", (c) => c.notNull().references("posts.id").onDelete("cascade"))
        .addColumn("author_id", "integer", (c) => c.references("users.id").onDelete("set null"))
        .addColumn("body", "text", (c) => c.notNull())
        .addCheckConstraint("body_not_empty", sql\`length(body) > 0\`)
        .execute();
    },
    async down(db) {
      await db.schema.dropTable("comments").execute();
      await db.schema.dropTable("posts").execute();
      await db.schema.dropTable("users").execute();
    },
  },
  "002_user_age": {
    async up(db) {
      await db.schema.alterTable("users").addColumn("age", "integer").execute();
    },
  },
};

async function main() {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const migrated = await migrator.migrateToLatest();
  const again = await migrator.migrateToLatest();

  const ann = await db
    .insertInto("users")
    .values({ email: "ann@x", name: "Ann", age: 31 })
    .returning(["id", "email"])
    .executeTakeFirstOrThrow();
  const bo = await db.insertInto("users").values({ email: "bo@x", name: "Bo" }).returning("id").executeTakeFirstOrThrow();
  const inserted = await db
    .insertInto("posts")
    .values([
      { author_id: ann.id, title: "first", meta: JSON.stringify({ tags: ["a"] }) },
      { author_id: ann.id, title: "second", meta: null },
      { author_id: bo.id, title: "third", meta: null },
    ])
    .executeTakeFirst();
  const third = await db.selectFrom("posts").select("id").where("title", "=", "third").executeTakeFirstOrThrow();
  await db.insertInto("comments").values({ post_id: third.id, author_id: ann.id, body: "nice" }).execute();
  const emptyBody = await db
    .insertInto("comments")
    .values({ post_id: third.id, body: "" })
    .execute()
    .catch((error) => error.code);
  const upserted = await db
    .insertInto("users")
    .values({ email: "ann@x", name: "Annie" })
    .onConflict((oc) => oc.column("email").doUpdateSet((eb) => ({ name: eb.ref("excluded.name") })))
    .returning(["id", "name"])
    .executeTakeFirstOrThrow();
  const counts = await db
    .selectFrom("users")
    .leftJoin("posts", "posts.author_id", "users.id")
    .select(["users.name", (eb) => eb.fn.count("posts.id").as("posts")])
    .groupBy("users.name")
    .orderBy("users.name")
    .execute();
  const updated = await db.updateTable("users").set({ age: 40 }).where("email", "=", "bo@x").executeTakeFirst();

  const rolledBack = await db
    .transaction()
    .execute(async (trx) => {
      await trx.insertInto("users").values({ email: "ghost@x" }).execute();
      throw new Error("changed my mind");
    })
    .catch((error) => error.message);
  const trx = await db.startTransaction().execute();
  await trx.insertInto("users").values({ email: "kept@x" }).execute();
  const sp = await trx.savepoint("sp1").execute();
  await sp.insertInto("users").values({ email: "dropped@x" }).execute();
  const back = await sp.rollbackToSavepoint("sp1").execute();
  await back.commit().execute();
  const emails = (await db.selectFrom("users").select("email").orderBy("email").execute()).map((r) => r.email);

  const duplicate = await db
    .insertInto("users")
    .values({ email: "ann@x" })
    .execute()
    .catch((error) => error.code);
  const tables = (await db.introspection.getTables()).map((t) => ({
    name: t.name,
    columns: t.columns.map(
      (c) => c.name + ":" + c.dataType + (c.isNullable ? "?" : "") + (c.isAutoIncrementing ? "+" : "") + (c.hasDefaultValue ? "=" : ""),
    ),
  }));
  const streamed = [];
  for await (const row of db.selectFrom("posts").select("title").orderBy("id").stream(2)) streamed.push(row.title);

  const live = [];
  const query = db.selectFrom("posts").select(({ fn }) => fn.countAll().as("n")).where("author_id", "=", ann.id);
  const { sql: text, parameters } = query.compile();
  const subscription = await database.live(text, parameters, (result) => live.push(result.rows[0].n));
  await db.deleteFrom("posts").where("title", "=", "second").execute();
  for (let waited = 0; live.at(-1) !== 1 && waited < 5000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await subscription.stop();

  await db.deleteFrom("users").where("id", "=", ann.id).execute();
  const left = (await db.selectFrom("posts").select("title").execute()).map((r) => r.title);
  const orphaned = await db.selectFrom("comments").select(["body", "author_id"]).execute();
  const noted = (await db.selectFrom("notes").selectAll().execute()).length;
  await notes.stop();
  await db.destroy();
  await database.disconnect();
  return {
    note,
    noted,
    migrated: migrated.error ? String(migrated.error) : migrated.results.map((r) => r.migrationName + ":" + r.status),
    again: again.error ? String(again.error) : again.results.length,
    ann,
    inserted: Number(inserted.numInsertedOrUpdatedRows),
    upserted,
    counts: counts.map((r) => r.name + "=" + Number(r.posts)),
    updated: Number(updated.numUpdatedRows),
    rolledBack,
    emails,
    duplicate,
    tables,
    streamed,
    live,
    left,
    emptyBody,
    orphaned,
  };
}

main().then(
  (result) => { window.appResult = result; },
  (error) => { window.appResult = { error: String(error?.stack ?? error) }; },
);
`;

// The app after the "With Drizzle" snippet, which gives it `database`, `db`, `schema`, `ann`
// and `users`: CRUD with returning, an upsert, a join with an aggregate, transactions (rolled
// back, nested), constraint errors, relational queries, dates and a live builder query.
const DRIZZLE_APP = `import { count, eq } from "drizzle-orm";

async function main() {
  const again = await migrate(db, migrations);
  const [bo] = await db
    .insert(schema.users)
    .values({ email: "bo@x", settings: { theme: "dark" } })
    .returning({ id: schema.users.id, settings: schema.users.settings });
  const [second] = await db.insert(schema.posts).values({ authorId: bo.id, title: "second" }).returning();
  await db.insert(schema.comments).values([{ postId: second.id, authorId: ann.id, body: "nice" }]);
  await db.insert(schema.postTags).values([{ postId: second.id, tag: "news" }]);
  const upserted = await db
    .insert(schema.users)
    .values({ email: "ann@x", name: "Annie" })
    .onConflictDoUpdate({ target: schema.users.email, set: { name: "Annie" } })
    .returning({ id: schema.users.id, name: schema.users.name });
  const perUser = await db
    .select({ email: schema.users.email, posts: count(schema.posts.id) })
    .from(schema.users)
    .leftJoin(schema.posts, eq(schema.posts.authorId, schema.users.id))
    .groupBy(schema.users.email)
    .orderBy(schema.users.email);
  const published = await db.update(schema.posts).set({ published: true }).where(eq(schema.posts.id, second.id)).returning({ id: schema.posts.id });

  const rolledBack = await db
    .transaction(async (tx) => {
      await tx.insert(schema.users).values({ email: "ghost@x" });
      tx.rollback();
    })
    .catch((error) => error.constructor.name);
  await db.transaction(async (tx) => {
    await tx.insert(schema.users).values({ email: "kept@x" });
    await tx
      .transaction(async (inner) => {
        await inner.insert(schema.users).values({ email: "dropped@x" });
        throw new Error("inner");
      })
      .catch(() => {});
  });
  const emails = (await db.select({ email: schema.users.email }).from(schema.users).orderBy(schema.users.email)).map((r) => r.email);
  const duplicate = await db.insert(schema.users).values({ email: "ann@x" }).catch((error) => error.code);
  const empty = await db.insert(schema.comments).values({ postId: second.id, body: "" }).catch((error) => error.code);
  const orphan = await db.insert(schema.posts).values({ authorId: 99, title: "x" }).catch((error) => error.code);

  const relational = await db.query.users.findMany({
    columns: { email: true },
    with: {
      posts: { columns: { title: true }, with: { comments: { columns: { body: true } } } },
      comments: { columns: { body: true } },
    },
    orderBy: (u, { asc }) => [asc(u.id)],
  });
  const first = await db.query.posts.findFirst({
    where: eq(schema.posts.id, second.id),
    columns: { title: true, published: true },
    with: { author: { columns: { email: true } }, tags: { columns: { tag: true } } },
  });
  const created = (await db.select({ at: schema.users.createdAt }).from(schema.users).limit(1))[0].at;

  const live = [];
  const { sql: text, params } = db.select({ n: count() }).from(schema.posts).toSQL();
  // Drizzle reads a select's columns by position: the rows as arrays.
  const subscription = await database.live(text, params, (result) => live.push(result.rows[0][0]), { rowMode: "array" });
  await db.delete(schema.users).where(eq(schema.users.id, ann.id));
  for (let waited = 0; live.at(-1) !== 1 && waited < 5000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await subscription.stop();
  const left = (await db.select({ title: schema.posts.title }).from(schema.posts)).map((r) => r.title);
  await database.disconnect();
  return {
    snippetUsers: users.map((u) => ({ email: u.email, posts: u.posts.map((p) => p.title) })),
    again,
    bo,
    upserted,
    perUser: perUser.map((r) => r.email + "=" + r.posts),
    published: published.length,
    rolledBack,
    emails,
    duplicate,
    empty,
    orphan,
    relational,
    first,
    createdIsDate: created instanceof Date && !Number.isNaN(created.getTime()),
    live,
    left,
  };
}

main().then(
  (result) => { window.appResult = result; },
  (error) => { window.appResult = { error: String(error?.stack ?? error) + " cause: " + String(error?.cause?.message) }; },
);
`;

// A TypeScript app over both adapters: their declarations type what it does (strict).
const TYPED_APP = `import { connect } from "idbsql";
import { IdbsqlDialect } from "idbsql/kysely";
import { drizzle, migrate } from "idbsql/drizzle";
import { Kysely, type Generated } from "kysely";
import { pgTable, serial, text } from "drizzle-orm/pg-core";
import { eq } from "drizzle-orm";

interface DB { notes: { id: Generated<number>; body: string } }
const users = pgTable("users", { id: serial("id").primaryKey(), email: text("email").notNull() });

export async function main(): Promise<[string, number]> {
  const database = await connect("typed");
  const k = new Kysely<DB>({ dialect: new IdbsqlDialect({ database }) });
  const note = await k.insertInto("notes").values({ body: "a" }).returning("id").executeTakeFirstOrThrow();
  const db = drizzle(database, { schema: { users } });
  const ran: string[] = await migrate(db, { journal: { entries: [] }, migrations: {} });
  const rows = await db.select().from(users).where(eq(users.id, note.id));
  const email: string = rows[0].email;
  return [email, ran.length];
}
`;

let workDir;
let appDir;
let browser;


before(async () => {
  // The builders as pinned in our devDependencies (installed from the copy npm already has).
  const pinned = (name) => path.join(ROOT, "node_modules", name);
  ({ workDir, appDir } = packIntoApp("idbsql-builders-", "idbsql-builders-app", [pinned("kysely"), pinned("drizzle-orm")]));
  // Drizzle: drizzle-kit generates the migrations of the fixture schema into the app, and the
  // app bundles them as README says (the journal and each migration's SQL, imported raw).
  fs.copyFileSync(path.join(ROOT, "tests/fixtures/drizzle/schema.js"), path.join(appDir, "schema.js"));
  fs.writeFileSync(
    path.join(appDir, "drizzle.config.js"),
    'export default { dialect: "postgresql", schema: "./schema.js", out: "./drizzle" };\n',
  );
  fs.symlinkSync(pinned("drizzle-kit"), path.join(appDir, "node_modules/drizzle-kit"));
  run(process.execPath, [pinned("drizzle-kit/bin.cjs"), "generate", "--config", "drizzle.config.js"], appDir);
  const journal = JSON.parse(fs.readFileSync(path.join(appDir, "drizzle/meta/_journal.json"), "utf8"));
  const imports = journal.entries.map((e) => `import m${String(e.idx).padStart(4, "0")} from "./drizzle/${e.tag}.sql?raw";`);
  const keys = journal.entries.map((e) => `m${String(e.idx).padStart(4, "0")}`);
  fs.writeFileSync(
    path.join(appDir, "migrations.js"),
    `import journal from "./drizzle/meta/_journal.json";\n${imports.join("\n")}\nexport default { journal, migrations: { ${keys.join(", ")} } };\n`,
  );
  fs.writeFileSync(path.join(appDir, "drizzle.js"), readmeSnippet("With Drizzle") + DRIZZLE_APP);
  fs.writeFileSync(
    path.join(appDir, "drizzle.html"),
    `<!doctype html><meta charset="utf-8"><title>drizzle</title>\n<script type="module" src="./drizzle.js"></script>\n`,
  );
  fs.writeFileSync(path.join(appDir, "kysely.js"), readmeSnippet("With Kysely") + KYSELY_APP);
  fs.writeFileSync(
    path.join(appDir, "kysely.html"),
    `<!doctype html><meta charset="utf-8"><title>kysely</title>\n<script type="module" src="./kysely.js"></script>\n`,
  );
  fs.writeFileSync(
    path.join(appDir, "vite.config.js"),
    `export default { build: { target: "es2022", minify: false, rollupOptions: { input: { kysely: "kysely.html", drizzle: "drizzle.html" } } } };\n`,
  );
  run(process.execPath, [path.join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "error"], appDir);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});


test("Kysely: migrations, CRUD, upsert, joins, transactions, savepoints, introspection, streaming, live", async () => {
  const { result, errors } = await runApp(browser, path.join(appDir, "dist"), "kysely.html");
  assert.deepEqual(errors, []);
  assert.equal(result.error, undefined, result.error);
  assert.deepEqual(result.note, { id: 1, body: "hello" }, "the README snippet ran");
  assert.equal(result.noted, 1);
  assert.deepEqual(result.migrated, ["001_users_and_posts:Success", "002_user_age:Success"]);
  assert.equal(result.again, 0, "a second migrateToLatest has nothing to run");
  assert.deepEqual(result.ann, { id: 1, email: "ann@x" });
  assert.equal(result.inserted, 3);
  assert.deepEqual(result.upserted, { id: 1, name: "Annie" });
  assert.deepEqual(result.counts, ["Annie=2", "Bo=1"]);
  assert.equal(result.updated, 1);
  assert.equal(result.rolledBack, "changed my mind");
  assert.deepEqual(result.emails, ["ann@x", "bo@x", "kept@x"], "the rollback and the savepoint undid their rows");
  assert.equal(result.duplicate, "constraint", "idbsql's error code reaches the caller through Kysely");
  assert.deepEqual(result.tables, [
    // idbsql's INT holds 64-bit integers: PostgreSQL's int8.
    { name: "comments", columns: ["id:int8+=", "post_id:int8", "author_id:int8?", "body:text"] },
    { name: "notes", columns: ["id:int8+=", "body:text"] },
    { name: "posts", columns: ["id:int8+=", "author_id:int8", "title:text", "meta:jsonb?"] },
    { name: "users", columns: ["id:int8+=", "email:text", "name:text?", "created_at:timestamp=", "age:int8?"] },
  ]);
  assert.deepEqual(result.streamed, ["first", "second", "third"]);
  assert.deepEqual(result.live, [2, 1], "the live builder query answered, then saw the delete");
  assert.deepEqual(result.left, ["third"], "the cascade removed Ann's posts");
  assert.equal(result.emptyBody, "constraint", "the CHECK holds");
  assert.deepEqual(result.orphaned, [{ body: "nice", author_id: null }], "ON DELETE SET NULL");
});

test("Drizzle: drizzle-kit's migrations, CRUD, upsert, joins, transactions, relational queries, live", async () => {
  const { result, errors } = await runApp(browser, path.join(appDir, "dist"), "drizzle.html");
  assert.deepEqual(errors, []);
  assert.equal(result.error, undefined, result.error);
  assert.deepEqual(result.snippetUsers, [{ email: "ann@x", posts: ["hello"] }], "the README snippet ran");
  assert.deepEqual(result.again, [], "a second migrate has nothing to run");
  assert.deepEqual(result.bo, { id: 2, settings: { theme: "dark" } });
  assert.deepEqual(result.upserted, [{ id: 1, name: "Annie" }]);
  assert.deepEqual(result.perUser, ["ann@x=1", "bo@x=1"]);
  assert.equal(result.published, 1);
  assert.equal(result.rolledBack, "TransactionRollbackError");
  assert.deepEqual(result.emails, ["ann@x", "bo@x", "kept@x"], "the rollback and the failed inner transaction undid their rows");
  assert.deepEqual([result.duplicate, result.empty, result.orphan], ["constraint", "constraint", "constraint"]);
  assert.deepEqual(result.relational, [
    { email: "ann@x", posts: [{ title: "hello", comments: [] }], comments: [{ body: "nice" }] },
    { email: "bo@x", posts: [{ title: "second", comments: [{ body: "nice" }] }], comments: [] },
    { email: "kept@x", posts: [], comments: [] },
  ]);
  assert.deepEqual(result.first, { title: "second", published: true, author: { email: "bo@x" }, tags: [{ tag: "news" }] });
  assert.equal(result.createdIsDate, true, "a timestamp column reads as a Date");
  assert.deepEqual(result.live, [2, 1], "the live builder query answered, then saw the cascade");
  assert.deepEqual(result.left, ["second"]);
});

test("the adapters' TypeScript declarations type an app over both (tsc --strict)", () => {
  const errors = typecheckApp(path.join(workDir, "typed"), path.join(appDir, "node_modules"), TYPED_APP);
  // Only our declarations are judged: the builders' own may carry errors of their own.
  assert.deepEqual(errors.filter((line) => /idbsql|app\.ts/.test(line)), []);
});
