// `npm run demo` after the build: starts idbsql-server (sync + the demo's static files) on
// 127.0.0.1 and prints the demo's URL. PORT picks the port (default 8787; busy → a free one).
import net from "node:net";
import path from "node:path";
import { buildDemoSite, ROOT } from "./demo-site.js";
import { startSyncServer } from "./sync-server.js";

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
const dataDir = process.env.IDBSQL_DEMO_DATA ?? path.join(ROOT, "target/demo-data");
const server = await startSyncServer({ dataDir, port, staticDir: site, showLogs: true });
const base = `http://${server.address}`;
console.log(`idbsql demo: ${base}/demo/`);
console.log(`(sync endpoint ${server.url}; data in ${path.relative(ROOT, dataDir)}; Ctrl+C stops)`);
server.child.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.child.kill(signal));
