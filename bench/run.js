// `npm run bench`: runs the workloads in headless Chromium (or the engine BENCH_BROWSER names:
// firefox, webkit) against the built package and prints a table of medians (also written to
// bench-results/latest.json, or latest-<engine>.json). Numbers, not asserts.
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import path from "node:path";
import { ROOT, serveStatic, launchBrowser } from "../tests/browser/harness.js";

const REPEAT = Number(process.env.BENCH_REPEAT || 5);
const ENGINE = process.env.BENCH_BROWSER || "chromium";
// `BENCH_ONLY=W1,W3` runs only the workloads whose names start so (for iterating on one).
const ONLY = process.env.BENCH_ONLY?.split(",");
const wanted = (name) => !ONLY || ONLY.some((prefix) => name.startsWith(prefix));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function openBenchPage(context, url) {
  const page = await context.newPage();
  await page.goto(`${url}/bench/page.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
  return page;
}

const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

/** Cost against size: the same edits and the cold open at 100k, 300k and 1M rows (issue 13).
 * `BENCH_SCALE=0` skips it; `BENCH_SCALE_SIZES=100000,300000` picks sizes. */
async function scale(context, url) {
  const sizes = (process.env.BENCH_SCALE_SIZES || "100000,300000,1000000").split(",").map(Number);
  const table = [];
  for (const rows of sizes) {
    const loader = await openBenchPage(context, url);
    const loaded = await loader.evaluate((n) => window.workloads.scaleLoadAndUpdate(n), rows);
    await loader.close();
    const opener = await openBenchPage(context, url);
    const opened = await opener.evaluate((n) => window.workloads.scaleOpen(n), rows);
    await opener.close();
    const mib = (bytes) => (bytes / 2 ** 20).toFixed(0);
    const u = loaded.updates;
    table.push(
      `| ${rows.toLocaleString("en")} | ${percentile(u, 50).toFixed(1)} / ${percentile(u, 99).toFixed(1)} / ${Math.max(...u).toFixed(1)} ms | ${(loaded.loadMs / 1000).toFixed(1)} s | ${opened.ms.toFixed(0)} ms | ${mib(loaded.memoryAfterLoad)} / ${mib(opened.memory)} MiB |`,
    );
    console.error(table.at(-1));
  }
  scaleTable = table;
}

let scaleTable = [];

async function main() {
  const server = await serveStatic();
  const browser = await launchBrowser(ENGINE);
  console.error(`browser engine: ${ENGINE}`);
  const context = await browser.newContext();
  const results = {};
  try {
    const page = await openBenchPage(context, server.url);
    const run = async (name, fn, arg) => {
      if (!wanted(name)) return;
      const samples = [];
      for (let i = 0; i < REPEAT; i += 1) samples.push(await page.evaluate(([f, a]) => window.workloads[f](a), [fn, arg]));
      results[name] = { median: median(samples), samples };
      console.error(`${name}: ${median(samples).toFixed(3)}`);
    };
    await run("W1 ms (20 parameterised 500-row INSERTs in transaction(fn))", "w1Batched");
    await run("W1a ms (one 10k-row INSERT)", "w1Statement");
    await run("W1b ms (10k parameterised INSERTs)", "w1Params");
    await run("W2 ms (relaxed)", "w2", "relaxed");
    await run("W2 ms (strict)", "w2", "strict");
    await run("W3 µs", "w3", "memory");
    await run("W3 µs, IndexedDB storage (default options)", "w3", "indexeddb");
    if (wanted("W3 forwarded")) {
      // The same point queries from a page that is not the owner: each call crosses to the
      // owner page by BroadcastChannel and back.
      const owner = await openBenchPage(context, server.url);
      await owner.evaluate(() => window.workloads.w3OwnerOpen());
      const other = await openBenchPage(context, server.url);
      const samples = [];
      for (let i = 0; i < REPEAT; i += 1) samples.push(await other.evaluate(() => window.workloads.w3Forwarded()));
      results["W3 µs, forwarded from a non-owner tab"] = { median: median(samples), samples };
      console.error(`W3 forwarded: ${median(samples).toFixed(3)}`);
      await other.close();
      await owner.close();
    }
    if (wanted("W4")) {
      const w4 = await page.evaluate(() => window.workloads.w4());
      results["W4 ms"] = { median: median(w4.samples), samples: w4.samples };
      results["wasm memory after inserting 100k rows, high-water (MiB)"] = { median: w4.memoryAfter / 2 ** 20 };
      console.error(`W4: ${median(w4.samples).toFixed(3)}`);
    }
    if (wanted("J")) {
      // Joins of 10,000-row tables written both ways (issue 25): the comma form lists the
      // tables in an order where neighbours share no predicate.
      await page.evaluate(() => window.workloads.joinPrepare());
      await run("J3 ms (3 tables, JOIN … ON)", "join", [3, "on"]);
      await run("J3 ms (3 tables, commas in another order)", "join", [3, "comma"]);
      await run("J6 ms (6 tables, JOIN … ON)", "join", [6, "on"]);
      await run("J6 ms (6 tables, commas in another order)", "join", [6, "comma"]);
    }
    if (wanted("WF")) {
      // Window functions over 100,000 rows (issue 27: each ≤ 500 ms).
      await page.evaluate(() => window.workloads.windowPrepare());
      await run("WF ms (ROW_NUMBER() OVER (PARTITION BY g ORDER BY x), 100k rows)", "windowQuery", "rowNumber");
      await run("WF ms (running SUM(x) OVER (ORDER BY id), 100k rows)", "windowQuery", "runningSum");
    }
    // Issue 28's target: ≤ 1,000 ms, IndexedDB storage (the commit included).
    await run("FK ms (DELETE of 1,000 parents cascading to 10,000 children, no child index)", "cascadeDelete");
    await run("FK1 ms (DELETE of 1 parent of 100 among 100,000 children, child column indexed)", "cascadeDeleteOne", true);
    await run("FK1 ms (the same, no child index)", "cascadeDeleteOne", false);
    if (wanted("R")) {
      // Interleaved, so a slow stretch of the machine does not land on one kind only.
      await page.evaluate(() => window.workloads.returningPrepare());
      const kinds = ["none", "select", "columns", "expressions"];
      const samples = Object.fromEntries(kinds.map((k) => [k, []]));
      for (let i = 0; i < Math.max(REPEAT, 9); i += 1) {
        for (const kind of kinds) samples[kind].push(await page.evaluate((k) => window.workloads.returning(k), kind));
      }
      for (const kind of kinds) {
        const name = kind === "select" ? "R ms (10k-row SELECT id, score: reading the rows alone)" : `R ms (10k-row UPDATE, RETURNING ${kind})`;
        results[name] = { median: median(samples[kind]), samples: samples[kind] };
        console.error(`${name}: ${median(samples[kind]).toFixed(3)}`);
      }
    }
    if (wanted("W5")) await page.evaluate(() => window.workloads.w5Prepare());
    await page.close();
    const w5 = [];
    const w5WithLoad = [];
    const w5Memory = [];
    for (let i = 0; i < (wanted("W5") ? REPEAT : 0); i += 1) {
      // A new page each time: module load, wasm compile and IndexedDB read are all cold.
      const cold = await openBenchPage(context, server.url);
      const { ms, memoryBytes } = await cold.evaluate(() => window.workloads.w5Open());
      w5.push(ms);
      w5Memory.push(memoryBytes / 2 ** 20);
      w5WithLoad.push(ms + (await cold.evaluate(() => window.loadMs)));
      await cold.close();
    }
    if (w5.length) {
      results["W5 ms (connect → first COUNT)"] = { median: median(w5), samples: w5 };
      results["W5 ms incl. module load + wasm init"] = { median: median(w5WithLoad), samples: w5WithLoad };
      results["wasm memory with the 100k-row database open (MiB)"] = { median: median(w5Memory), samples: w5Memory };
    }
    // The page's longest main-thread task (long tasks are those over 50 ms; 0 = none) while W4
    // (load 100k rows + aggregate) and W5 (cold open + COUNT) run, main thread vs worker mode.
    for (const worker of wanted("long") ? [false, true] : []) {
      const mode = worker ? "worker mode" : "main thread";
      for (const [label, fn] of [["W4", "w4Watched"], ["W5", "w5Watched"]]) {
        const longest = [];
        for (let i = 0; i < REPEAT; i += 1) {
          const fresh = await openBenchPage(context, server.url);
          longest.push((await fresh.evaluate(([f, w]) => window.workloads[f](w), [fn, worker])).longestTaskMs);
          await fresh.close();
        }
        results[`${label} longest main-thread task, ${mode} (ms)`] = { median: median(longest), samples: longest };
        console.error(`${label} longest task (${mode}): ${median(longest).toFixed(1)}`);
      }
    }
    if (process.env.BENCH_SCALE !== "0") await scale(context, server.url);
  } finally {
    await browser.close();
    await server.close();
  }
  // What the raw package ships to run: the wasm and its two bundles (the page's and the
  // Worker's, though a page without worker mode never loads the second). The query builders'
  // adapters and the framework bindings (dist/kysely.js, drizzle.js, react.js, vue.js) load only for
  // their users: counted apart.
  const RAW = ["idbsql.js", "worker.js"];
  const jsFiles = (await readdir(path.join(ROOT, "dist"))).filter((f) => f.endsWith(".js"));
  const sizes = async (files) => {
    let raw = 0;
    let gz = 0;
    for (const file of files) {
      const bytes = await readFile(path.join(ROOT, file));
      raw += bytes.length;
      gz += gzipSync(bytes, { level: 9 }).length;
    }
    return { raw, gz };
  };
  const { raw, gz } = await sizes(["pkg/idbsql_bg.wasm", ...RAW.map((f) => `dist/${f}`)]);
  results["W6 MB raw (wasm + JS)"] = { median: raw / 1e6 };
  results["W6 MB gzipped"] = { median: gz / 1e6 };
  const adapters = await sizes(jsFiles.filter((f) => !RAW.includes(f)).map((f) => `dist/${f}`));
  results["adapters KB gzipped (idbsql/kysely, /drizzle, /react, /vue, Node's entry; not in W6)"] = { median: adapters.gz / 1e3 };

  if (scaleTable.length) {
    console.log("\n| rows | UPDATE by primary key p50 / p99 / max | load (10k-row INSERTs) | cold open (connect + COUNT) | wasm memory after load / after reopen |");
    console.log("|---:|---:|---:|---:|---:|");
    for (const line of scaleTable) console.log(line);
  }
  console.log(`\n| workload (${ENGINE}) | median |\n|---|---:|`);
  for (const [name, { median: m }] of Object.entries(results)) console.log(`| ${name} | ${m.toFixed(3)} |`);
  await mkdir(path.join(ROOT, "bench-results"), { recursive: true });
  const out = ENGINE === "chromium" ? "latest.json" : `latest-${ENGINE}.json`;
  await writeFile(path.join(ROOT, "bench-results", out), JSON.stringify(results, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
