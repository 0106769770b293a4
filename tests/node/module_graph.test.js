// The package's modules as a graph (issue 32): no module imports one that imports it back, and
// the sync client depends on nothing of the owner — it gets events and answers with commands.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const JS = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "js");

/** Each module of js/ with the js/ modules it imports (static or dynamic). */
async function graph() {
  const files = (await readdir(JS)).filter((f) => f.endsWith(".js"));
  const edges = new Map();
  for (const file of files) {
    const text = await readFile(path.join(JS, file), "utf8");
    const imported = [...text.matchAll(/(?:from|import)\s*\(?\s*["']\.\/([\w.]+\.js)["']/g)].map((m) => m[1]);
    edges.set(file, imported);
  }
  return edges;
}

test("no module of the package imports one that imports it back", async () => {
  const edges = await graph();
  assert.ok(edges.size > 10 && edges.get("index.js").includes("shared.js"), "the graph was read");
  const state = new Map();
  const visit = (file, trail) => {
    if (state.get(file) === "done") return;
    assert.notEqual(state.get(file), "open", `import cycle: ${[...trail, file].join(" → ")}`);
    state.set(file, "open");
    for (const next of edges.get(file) ?? []) visit(next, [...trail, file]);
    state.set(file, "done");
  };
  for (const file of edges.keys()) visit(file, []);
});

test("the sync client holds no owner, call queue or wasm handle: it is given `perform`", async () => {
  const edges = await graph();
  assert.deepEqual(edges.get("sync.js"), []);
  const text = await readFile(path.join(JS, "sync.js"), "utf8");
  for (const word of ["RawDatabase", "raw.", "engine", "Owner", ".system("]) {
    assert.ok(!text.includes(word), `sync.js names ${word}`);
  }
  assert.ok(text.includes("this.#perform({ type: \"receive\", frame })"), "frames go out as commands");
});
