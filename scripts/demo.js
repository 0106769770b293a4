// `npm run demo` after the build: starts idbsql-server (sync + the demo's static files) on
// 127.0.0.1 and prints the demo's URL. PORT picks the port (default 8787; busy → a free one).
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { buildDemoSite, ROOT } from "./demo-site.js";

function portIsFree(port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

const site = buildDemoSite();
const wanted = Number(process.env.PORT ?? 8787);
let port = wanted;
if (!(await portIsFree(wanted))) {
  console.error(`port ${wanted} is busy; using a free one`);
  port = 0;
}
const binary = process.env.IDBSQL_SERVER_BIN ?? path.join(ROOT, "target/debug/idbsql-server");
const dataDir = process.env.IDBSQL_DEMO_DATA ?? path.join(ROOT, "target/demo-data");
const server = spawn(
  binary,
  ["serve", "--listen", `127.0.0.1:${port}`, "--data", dataDir, "--static", site],
  { stdio: ["ignore", "pipe", "inherit"] },
);

let announced = false;
let buffered = "";
server.stdout.on("data", (chunk) => {
  if (announced) return;
  buffered += chunk;
  const match = buffered.match(/listening on (http:\/\/\S+)/);
  if (match) {
    announced = true;
    console.log(`idbsql demo: ${match[1]}/demo/`);
    console.log(`(sync endpoint ${match[1].replace("http", "ws")}/sync; data in ${path.relative(ROOT, dataDir)}; Ctrl+C stops)`);
  }
});
server.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.kill(signal));
