// Schemas as migration tools write them: the pinned drizzle-kit generates the migration of a
// small app's schema (tests/fixtures/drizzle/schema.js: generated keys, a unique email,
// timestamps with defaults, JSONB, foreign keys with actions, a CHECK, a composite key, an
// index USING btree), and every statement it emits runs unchanged in the browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFile, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openPage } from "./harness.js";
import { useBrowser } from "./suite.js";

const env = useBrowser();
const root = fileURLToPath(new URL("../..", import.meta.url));

/** The statements `drizzle-kit generate` writes for the fixture schema, in order. */
async function drizzleKitStatements() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "idbsql-drizzle-kit-"));
  try {
    await copyFile(path.join(root, "tests/fixtures/drizzle/schema.js"), path.join(dir, "schema.js"));
    await writeFile(path.join(dir, "package.json"), '{ "type": "module" }\n');
    await writeFile(
      path.join(dir, "drizzle.config.js"),
      'export default { dialect: "postgresql", schema: "./schema.js", out: "./migrations" };\n',
    );
    await symlink(path.join(root, "node_modules"), path.join(dir, "node_modules"));
    execFileSync(process.execPath, [path.join(root, "node_modules/drizzle-kit/bin.cjs"), "generate", "--config", "drizzle.config.js"], {
      cwd: dir,
      stdio: "pipe",
    });
    const files = (await readdir(path.join(dir, "migrations"))).filter((f) => f.endsWith(".sql"));
    assert.equal(files.length, 1, files.join(", "));
    const text = await readFile(path.join(dir, "migrations", files[0]), "utf8");
    return text
      .split("--> statement-breakpoint")
      .map((s) => s.trim())
      .filter(Boolean);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("every statement drizzle-kit generates for an app schema runs unchanged, and its constraints hold", async () => {
  const statements = await drizzleKitStatements();
  // What the migration holds, so a drizzle-kit that wrote less would not pass unseen.
  const all = statements.join("\n");
  for (const part of ["serial PRIMARY KEY", "UNIQUE(\"email\")", "DEFAULT now()", "jsonb", "ON DELETE cascade", "ON DELETE set null", "CHECK (", "PRIMARY KEY(\"post_id\",\"tag\")", "USING btree"]) {
    assert.ok(all.includes(part), `the migration has ${part}:\n${all}`);
  }
  const page = await openPage(env.context, env.server.url);
  try {
    const out = await page.evaluate(async (statements) => {
      const { connect, deleteDatabase } = window.idbsql;
      await deleteDatabase("drizzle-kit-app");
      let db = await connect("drizzle-kit-app");
      for (const statement of statements) await db.query(statement);
      await db.query("INSERT INTO users (email, name, settings) VALUES ('a@x', 'Ann', '{\"theme\":\"dark\"}'), ('b@x', 'Bo', NULL)");
      await db.query("INSERT INTO posts (author_id, title) VALUES (1, 'first'), (2, 'second')");
      await db.query("INSERT INTO comments (post_id, author_id, body) VALUES (1, 2, 'nice'), (2, 1, 'thanks')");
      await db.query("INSERT INTO post_tags VALUES (1, 'news'), (1, 'rust'), (2, 'news')");
      const code = (sql) => db.query(sql).then(() => null, (e) => e.code);
      const refused = {
        email: await code("INSERT INTO users (email) VALUES ('a@x')"),
        orphan: await code("INSERT INTO posts (author_id, title) VALUES (9, 'x')"),
        empty: await code("INSERT INTO comments (post_id, body) VALUES (1, '')"),
        tag: await code("INSERT INTO post_tags VALUES (1, 'news')"),
      };
      // Reopened: the constraints were kept with the tables.
      await db.disconnect();
      db = await connect("drizzle-kit-app");
      await db.query("DELETE FROM users WHERE id = 1");
      const left = {
        posts: (await db.query("SELECT id FROM posts ORDER BY id")).rows,
        comments: (await db.query("SELECT id, author_id FROM comments ORDER BY id")).rows,
        tags: (await db.query("SELECT post_id, tag FROM post_tags ORDER BY post_id, tag")).rows,
      };
      const posts = (await db.tables()).find((t) => t.name === "posts");
      await db.disconnect();
      await deleteDatabase("drizzle-kit-app");
      return { refused, left, foreignKeys: posts.foreignKeys, createdAt: posts.columns.find((c) => c.name === "created_at") };
    }, statements);
    assert.deepEqual(out.refused, { email: "constraint", orphan: "constraint", empty: "constraint", tag: "constraint" });
    // Ann's post went with her (CASCADE), and its comment and tags with it; her comment on
    // Bo's post stays with no author (SET NULL).
    assert.deepEqual(out.left, {
      posts: [{ id: 2 }],
      comments: [{ id: 2, author_id: null }],
      tags: [{ post_id: 2, tag: "news" }],
    });
    assert.deepEqual(
      out.foreignKeys.map((k) => [k.name, k.referencesTable, k.onDelete]),
      [["posts_author_id_users_id_fk", "users", "CASCADE"]],
    );
    assert.equal(out.createdAt.default, "NOW()");
  } finally {
    await page.close();
  }
});
