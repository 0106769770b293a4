// The package in Node as a user installs it: `npm pack` into a fresh app, `import { connect }
// from "idbsql"` resolved through the "node" export condition, and README's "Node" snippets run
// as written — one with `node --test`, one with Vitest.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT, packIntoApp, pinned, readmeSnippets, run, typecheckApp } from "../browser/harness.js";


let workDir;
let appDir;

before(() => {
  ({ workDir, appDir } = packIntoApp("idbsql-node-package-", "idbsql-node-app", [pinned("vitest")]));
  const [nodeTest, vitestTest] = readmeSnippets("Node");
  assert.ok(nodeTest && vitestTest, 'README has the node --test and the Vitest snippets under "Node"');
  fs.writeFileSync(path.join(appDir, "notes.test.js"), nodeTest);
  fs.writeFileSync(path.join(appDir, "notes.spec.js"), vitestTest);
});

after(() => {
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

test("README's node --test example passes against the installed package", () => {
  // Without the runner's own context, so the nested run reports as a user's run does.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const out = execFileSync(process.execPath, ["--test", "notes.test.js"], { cwd: appDir, env, encoding: "utf8" });
  assert.match(out, /# pass 1/);
  assert.match(out, /# fail 0/);
});

test("README's Vitest example passes against the installed package", () => {
  const out = run(path.join(appDir, "node_modules/.bin/vitest"), ["run", "notes.spec.js", "--reporter=verbose"], appDir);
  assert.match(out, /a file database keeps its rows/);
  assert.match(out, /1 passed/);
});

test("Node resolves the package to its Node entry; browsers' bundlers do not", () => {
  const resolved = run(process.execPath, ["--input-type=module", "-e", 'console.log(import.meta.resolve("idbsql"))'], appDir);
  assert.match(resolved.trim(), /node_modules\/idbsql\/dist\/node\.js$/);
  const manifest = JSON.parse(fs.readFileSync(path.join(appDir, "node_modules/idbsql/package.json"), "utf8"));
  assert.equal(manifest.exports["."].default, "./dist/idbsql.js");
});

test("Node's declarations type an app over the Node entry (tsc --strict, nodenext)", () => {
  const source = `import { connect, deleteDatabase, IdbsqlError, type Database, type ConnectOptions } from "idbsql";
const options: ConnectOptions = { storage: "file", directory: "/tmp/x", durability: "strict" };
export async function main(): Promise<number | null> {
  const db: Database = await connect("notes", options);
  const { rows } = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM note");
  const usage = (await db.storage()).usage;
  await db.disconnect();
  await deleteDatabase("notes", { directory: "/tmp/x" });
  const error = new Error() as IdbsqlError;
  return error.code === "evicted" ? null : (rows[0]?.n ?? usage);
}
`;
  assert.deepEqual(typecheckApp(path.join(workDir, "typed"), path.join(appDir, "node_modules"), source), []);
});
