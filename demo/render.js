// Turns idbsql results, errors and table descriptions into DOM for the demo console.
// Pure functions from data to elements; no database calls here.

/** `h("td", { className: "x" }, "text", child)`: a tiny element builder. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith("data-")) element.setAttribute(key, value);
    else element[key] = value;
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

/** How one value reads in a cell: NULL, hex bytes, JSON for maps and lists. */
export function formatValue(value) {
  if (value === null || value === undefined) return "NULL";
  if (value instanceof Uint8Array) {
    return `0x${Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  }
  if (typeof value === "object") {
    return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v));
  }
  return String(value);
}

const plural = (n, word) => `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;

/** Right-aligned columns; DECIMAL arrives as a string, so the type decides, not the value. */
const NUMERIC_TYPE = /^(U?INT\d*|INTEGER|FLOAT\d*|DECIMAL)$/;

/** Rows shown per result; the count above the table says how many there were. */
export const MAX_ROWS_SHOWN = 500;

export function renderResult(result, index) {
  const summary =
    result.command === "SELECT" || result.command.startsWith("SHOW")
      ? plural(result.rowCount, "row")
      : ["INSERT", "UPDATE", "DELETE"].includes(result.command)
        ? `${plural(result.rowCount, "row")} affected`
        : "done";
  const section = h(
    "section",
    { className: "result", "data-index": String(index) },
    h("header", {}, h("span", { className: "command" }, result.command), h("span", { className: "summary" }, summary)),
  );
  if (result.columns.length === 0) return section;

  const table = h("table", { className: "grid" });
  const headRow = table.createTHead().insertRow();
  result.columns.forEach((column, i) => {
    headRow.append(
      h("th", { scope: "col" }, h("span", { className: "column-name" }, column),
        h("span", { className: "column-type" }, result.types?.[i] ?? "")),
    );
  });
  const numeric = result.columns.map((_, i) => NUMERIC_TYPE.test(result.types?.[i] ?? ""));
  const body = table.createTBody();
  for (const row of result.rows.slice(0, MAX_ROWS_SHOWN)) {
    const tr = body.insertRow();
    result.columns.forEach((column, i) => {
      const value = row[column];
      tr.append(h("td", { className: value === null ? "null" : numeric[i] ? "number" : "" }, formatValue(value)));
    });
  }
  section.append(h("div", { className: "grid-scroll" }, table));
  if (result.rows.length > MAX_ROWS_SHOWN) {
    section.append(h("p", { className: "muted" }, `Showing the first ${MAX_ROWS_SHOWN} of ${plural(result.rows.length, "row")}.`));
  }
  return section;
}

export function renderError(error) {
  return h(
    "div",
    { className: "error", role: "alert" },
    h("code", { className: "error-code" }, error?.code ?? "error"),
    h("span", { className: "error-message" }, error?.message ?? String(error)),
  );
}

/** The sidebar's table list: name, row count, and (open) columns, indexes and references. */
export function renderTables(tables, { onPick }) {
  if (tables.length === 0) {
    return [h("p", { className: "muted" }, "No tables yet. Create one, or load the sample data.")];
  }
  return tables.map((table) => {
    const columns = h("ul", { className: "columns" });
    for (const column of table.columns) {
      const marks = [
        column.primaryKey ? "PK" : column.unique ? "UNIQUE" : null,
        column.nullable ? null : column.primaryKey ? null : "NOT NULL",
      ].filter(Boolean);
      columns.append(
        h("li", {}, h("span", { className: "column-name" }, column.name),
          h("span", { className: "column-type" }, [column.type, ...marks].join(" "))),
      );
    }
    if (table.columns.length === 0) columns.append(h("li", { className: "muted" }, "schemaless (rows are maps)"));
    for (const fk of table.foreignKeys) {
      columns.append(h("li", { className: "reference" }, `${fk.column} → ${fk.referencesTable}.${fk.referencesColumn}`));
    }
    for (const index of table.indexes) {
      const kind = index.unique ? "unique index" : "index";
      columns.append(h("li", { className: "index" }, `${kind} ${index.name} (${index.expr.replaceAll('"', "")})`));
    }
    if (table.kind === "view") columns.append(h("li", { className: "muted" }, table.definition));
    const pick = h("button", { type: "button", className: "link", title: `SELECT * FROM ${table.name}` }, table.name);
    pick.addEventListener("click", () => onPick(table));
    return h(
      "details",
      { className: "table-entry", "data-table": table.name },
      h("summary", {}, pick, h("span", { className: "count" },
        table.kind === "view" ? "view" : table.rowCount.toLocaleString("en"))),
      columns,
    );
  });
}
