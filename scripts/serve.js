// Serves the repository (the demo page and the package it imports) on 127.0.0.1 and prints
// the demo's URL. PORT picks the port (default 8787; a busy port falls back to a free one).
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sirv from "sirv";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const handler = sirv(root, { dev: true });
const server = http.createServer((req, res) => {
  if (req.url === "/" || req.url === "") {
    res.writeHead(302, { location: "/demo/" });
    res.end();
    return;
  }
  handler(req, res, () => {
    res.statusCode = 404;
    res.end("not found");
  });
});

function listen(port) {
  server.once("error", (error) => {
    if (error.code === "EADDRINUSE" && port !== 0) {
      console.error(`port ${port} is busy; using a free one`);
      listen(0);
    } else {
      throw error;
    }
  });
  server.listen(port, "127.0.0.1", () => {
    console.log(`idbsql demo: http://127.0.0.1:${server.address().port}/demo/`);
  });
}

listen(Number(process.env.PORT ?? 8787));
