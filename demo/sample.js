// The demo's sample shop: four related tables filled with a few thousand deterministic rows,
// and the example queries that show joins, GROUP BY, subqueries and index lookups on them.

const FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken",
  "Frances", "Dennis", "Radia", "Tim", "Sophie", "Linus", "Hedy", "Niklaus", "Anita", "John"];
const LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton",
  "Thompson", "Allen", "Ritchie", "Perlman", "Berners-Lee", "Wilson", "Torvalds", "Lamarr", "Wirth"];
const CITIES = ["Oslo", "Lyon", "Porto", "Kraków", "Ghent", "Turin", "Malmö", "Bilbao", "Leeds", "Graz"];
const CATEGORIES = {
  Books: ["SQL Pocket Guide", "Designing Data Apps", "The Rust Book", "Compilers", "Dune",
    "Snow Crash", "Clean Code", "Refactoring", "Hyperion", "Neuromancer"],
  Coffee: ["Espresso beans", "Filter blend", "Decaf", "Cold brew pack", "Single origin"],
  Desk: ["Desk lamp", "Monitor arm", "Notebook", "Fountain pen", "Cable tray", "Desk mat"],
  Audio: ["Headphones", "USB microphone", "Speakers", "Earbuds"],
  Keyboards: ["Mechanical keyboard", "Keycap set", "Wrist rest", "Split keyboard"],
};

/** A small seeded PRNG (mulberry32): the same sample every time, on every machine. */
function seeded(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const quote = (text) => `'${text.replaceAll("'", "''")}'`;

/** Multi-row INSERTs of at most `perStatement` rows, so each commit stays small for sync. */
function inserts(table, rows, perStatement = 400) {
  const statements = [];
  for (let i = 0; i < rows.length; i += perStatement) {
    const values = rows.slice(i, i + perStatement).map((row) => `(${row.join(", ")})`);
    statements.push(`INSERT INTO ${table} VALUES ${values.join(", ")};`);
  }
  return statements;
}

export const SAMPLE_TABLES = ["order_item", "orders", "product", "customer"];

/** The SQL that (re)creates the sample tables and fills them; one script per step. */
export function sampleScripts() {
  const random = seeded(20261122);
  const pick = (list) => list[Math.floor(random() * list.length)];

  const customers = [];
  for (let id = 1; id <= 400; id++) {
    const first = pick(FIRST_NAMES);
    const last = pick(LAST_NAMES);
    const email = `${first}.${last}${id}@example.com`.toLowerCase().replaceAll("-", "");
    const day = 1 + Math.floor(random() * 28);
    const month = 1 + Math.floor(random() * 12);
    const since = `2024-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
    customers.push([id, quote(`${first} ${last}`), quote(email), quote(pick(CITIES)), `'${since}'`]);
  }

  const products = [];
  for (const [category, names] of Object.entries(CATEGORIES)) {
    for (const name of names) {
      const price = (5 + random() * 195).toFixed(2);
      products.push([products.length + 1, quote(name), quote(category), price]);
    }
  }

  const orders = [];
  const items = [];
  const statuses = ["paid", "paid", "paid", "shipped", "shipped", "delivered", "delivered", "refunded"];
  for (let id = 1; id <= 1800; id++) {
    // Customers above 360 never order: the "customers without orders" example finds them.
    const customer = 1 + Math.floor(random() * 360);
    const month = 1 + Math.floor(random() * 12);
    const day = 1 + Math.floor(random() * 28);
    const hour = Math.floor(random() * 24);
    const placed = `2025-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")} ${String(hour).padStart(2, "0")}:15:00`;
    orders.push([id, customer, `'${placed}'`, quote(pick(statuses))]);
    const lines = 1 + Math.floor(random() * 4);
    for (let line = 0; line < lines; line++) {
      const product = products[Math.floor(random() * products.length)];
      items.push([items.length + 1, id, product[0], 1 + Math.floor(random() * 3), product[3]]);
    }
  }

  const schema = [
    ...SAMPLE_TABLES.map((table) => `DROP TABLE IF EXISTS ${table};`),
    `CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE,
       city TEXT, since DATE);`,
    `CREATE TABLE product (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT,
       price DECIMAL);`,
    `CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL,
       placed_at TIMESTAMP, status TEXT,
       FOREIGN KEY (customer_id) REFERENCES customer (id));`,
    `CREATE TABLE order_item (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL,
       product_id INTEGER NOT NULL, quantity INTEGER, unit_price DECIMAL,
       FOREIGN KEY (order_id) REFERENCES orders (id),
       FOREIGN KEY (product_id) REFERENCES product (id));`,
    "CREATE INDEX orders_customer ON orders (customer_id);",
    "CREATE INDEX order_item_order ON order_item (order_id);",
  ].join("\n");

  return [
    schema,
    ...inserts("customer", customers),
    ...inserts("product", products),
    ...inserts("orders", orders),
    ...inserts("order_item", items),
  ];
}

/**
 * Example queries over the sample tables, each with a title saying what it shows.
 * GlueSQL gives `INT * DECIMAL` the left operand's type (truncating) and never finds a
 * DECIMAL greater than a FLOAT, so money is multiplied DECIMAL-first and cast for AVG.
 */
export const EXAMPLES = [
  {
    title: "Best customers (join + GROUP BY)",
    sql: `SELECT c.name, c.city, COUNT(*) AS items, SUM(i.unit_price * i.quantity) AS spent
FROM customer c
JOIN orders o ON o.customer_id = c.id
JOIN order_item i ON i.order_id = o.id
GROUP BY c.id, c.name, c.city
ORDER BY spent DESC
LIMIT 10;`,
  },
  {
    title: "Revenue by category",
    sql: `SELECT p.category, COUNT(*) AS lines, SUM(i.unit_price * i.quantity) AS revenue
FROM order_item i
JOIN product p ON p.id = i.product_id
GROUP BY p.category
ORDER BY revenue DESC;`,
  },
  {
    title: "Customers who never ordered (subquery)",
    sql: `SELECT id, name, email, city
FROM customer
WHERE id NOT IN (SELECT customer_id FROM orders)
ORDER BY id;`,
  },
  {
    title: "Products priced above the average (subquery)",
    sql: `SELECT name, category, price
FROM product
WHERE CAST(price AS FLOAT) > (SELECT AVG(price) FROM product)
ORDER BY price DESC;`,
  },
  {
    title: "One customer's orders (index lookup)",
    sql: `SELECT o.id, o.placed_at, o.status
FROM orders o
WHERE o.customer_id = 42
ORDER BY o.placed_at;`,
  },
  {
    title: "Orders per status",
    sql: `SELECT status, COUNT(*) AS orders
FROM orders
GROUP BY status
ORDER BY orders DESC;`,
  },
];
