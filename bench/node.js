// `npm run bench`, Node part: W1–W5 (bench/workloads.js) through the package's Node entry, with
// storage "memory" and "file" (a temporary directory), medians of BENCH_REPEAT runs. Numbers,
// not asserts; written to bench-results/node.json. W2 and W5 need a database that persists:
// file storage only.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as workloads from "./workloads.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const REPEAT = Number(process.env.BENCH_REPEAT || 5);
const ONLY = process.env.BENCH_ONLY?.split(",");
const wanted = (name) => !ONLY || ONLY.some((prefix) => name.startsWith(prefix));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const WORKLOADS = [
  ["W1 ms (20 parameterised 500-row INSERTs in transaction(fn))", () => workloads.w1Batched()],
  ["W1a ms (one 10k-row INSERT)", () => workloads.w1Statement()],
  ["W1b ms (10k parameterised INSERTs)", () => workloads.w1Params()],
  ["W2 ms (relaxed)", () => workloads.w2("relaxed"), "file"],
  ["W2 ms (strict)", () => workloads.w2("strict"), "file"],
  ["W3 µs", () => workloads.w3("default")],
  ["W4 ms", async () => median((await workloads.w4()).samples)],
  ["W5 ms (connect → first COUNT)", async () => (await workloads.w5Open()).ms, "file", () => workloads.w5Prepare()],
];

const results = {};
for (const storage of ["memory", "file"]) {
  const directory = await mkdtemp(path.join(os.tmpdir(), "idbsql-bench-"));
  workloads.useTarget({ storage, directory });
  try {
    for (const [name, run, only, prepare] of WORKLOADS) {
      if (!wanted(name) || (only && only !== storage)) continue;
      if (prepare) await prepare();
      const samples = [];
      for (let i = 0; i < REPEAT; i += 1) samples.push(await run());
      const label = `${name}, Node ${storage}`;
      results[label] = { median: median(samples), samples };
      console.error(`${label}: ${median(samples).toFixed(3)}`);
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

await mkdir(path.join(ROOT, "bench-results"), { recursive: true });
await writeFile(path.join(ROOT, "bench-results/node.json"), `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nNode ${process.versions.node}, medians of ${REPEAT} runs\n`);
console.log("| workload | memory | file |");
console.log("|---|---:|---:|");
for (const [name] of WORKLOADS) {
  const cell = (storage) => results[`${name}, Node ${storage}`]?.median.toFixed(2) ?? "n/a";
  if (wanted(name)) console.log(`| ${name} | ${cell("memory")} | ${cell("file")} |`);
}
