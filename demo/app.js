// The demo console: runs what is typed against a persisted database and shows the results.
import { connect } from "idbsql";

const sql = document.querySelector("#sql");
const run = document.querySelector("#run");
const status = document.querySelector("#status");
const output = document.querySelector("#output");

function cell(value) {
  const td = document.createElement("td");
  if (value === null) {
    td.textContent = "NULL";
    td.className = "null";
  } else if (value instanceof Uint8Array) {
    td.textContent = `0x${Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  } else if (typeof value === "object") {
    td.textContent = JSON.stringify(value);
  } else {
    td.textContent = String(value);
  }
  return td;
}

function renderResult(result) {
  const section = document.createElement("section");
  section.className = "result";
  const title = document.createElement("h2");
  title.textContent = `${result.command} — ${result.rowCount} row${result.rowCount === 1 ? "" : "s"}`;
  section.append(title);
  if (result.columns.length > 0) {
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const column of result.columns) {
      const th = document.createElement("th");
      th.textContent = column;
      head.append(th);
    }
    const body = table.createTBody();
    for (const row of result.rows) {
      const tr = body.insertRow();
      for (const column of result.columns) tr.append(cell(row[column]));
    }
    section.append(table);
  }
  return section;
}

function renderError(error) {
  const box = document.createElement("div");
  box.className = "error";
  const code = document.createElement("code");
  code.textContent = error.code ?? "error";
  box.append(code, `: ${error.message}`);
  return box;
}

const db = await connect("demo");
status.textContent = "ready";

async function runSql() {
  run.disabled = true;
  const started = performance.now();
  output.replaceChildren();
  try {
    const results = await db.exec(sql.value);
    output.append(...results.map(renderResult));
    status.textContent = `${results.length} statement(s) in ${(performance.now() - started).toFixed(1)} ms`;
  } catch (error) {
    output.append(renderError(error));
    status.textContent = "failed";
  } finally {
    run.disabled = false;
  }
}

run.addEventListener("click", runSql);
sql.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    runSql();
  }
});
window.demoReady = true;
