//! Seeded random schemas, rows and queries over them. Expressions are built for a wanted type
//! from the columns in scope, so both reference engines run most of them; every query records
//! the shapes it holds, for the coverage report.

use {crate::ast::*, std::collections::BTreeSet};

/// SplitMix64: small, seeded, the same everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

/// The shapes the coverage report counts (each kept query lists those it holds).
pub const SHAPES: &[&str] = &[
    "AND/OR/NOT",
    "IN list",
    "BETWEEN",
    "LIKE",
    "IS NULL",
    "CASE",
    "simple CASE",
    "COALESCE",
    "NULLIF",
    "text function",
    "CONCAT",
    "math function",
    "remainder (%)",
    "LENGTH",
    "integer with float or decimal",
    "quoted output names",
    "columns named by their column",
    "join",
    "LEFT JOIN",
    "RIGHT JOIN",
    "RIGHT JOIN after a join",
    "FULL JOIN",
    "LATERAL",
    "USING",
    "parenthesised first join",
    "comma join",
    "many-table join",
    "GROUP BY",
    "HAVING",
    "aggregate",
    "DISTINCT",
    "scalar subquery",
    "IN subquery",
    "EXISTS",
    "correlated subquery",
    "derived table",
    "view",
    "set operation",
    "set operation in FROM",
    "set operation in a subquery",
    "set operation of mixed numeric types",
    "set operation with an empty arm",
    "ORDER BY + LIMIT",
    "parameters",
    "untyped literal",
    "written fraction literal",
    "exponent literal",
    "rounding",
    "integer cast",
    "computed DEFAULT",
    "SUBSTRING",
    "LEFT / RIGHT",
    "lazy evaluation",
    "GROUP BY position",
    "GROUP BY an expression",
    "aggregate FILTER",
    "string_agg",
    "names in another case",
    "one alias in sibling scopes",
    "constant HAVING",
    "WITH",
    "WITH RECURSIVE",
    "INSERT … SELECT",
    "write … RETURNING",
    "upsert",
    "UPDATE … FROM",
    "window function",
    "window frame",
    "window over groups",
    "NULLS FIRST / LAST",
    "IS [NOT] DISTINCT FROM",
    "IS [NOT] TRUE / FALSE",
    "bool_and / bool_or",
    "row value comparison",
    "BOOLEAN column",
    "GREATEST / LEAST",
    "date arithmetic",
    "month arithmetic",
    "EXTRACT",
];

#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<(String, Ty)>,
    pub rows: Vec<Vec<Lit>>,
}

#[derive(Debug, Clone)]
pub struct View {
    pub name: String,
    pub query: Query,
    pub columns: Vec<(String, Ty)>,
}

#[derive(Debug, Clone)]
pub struct Db {
    pub tables: Vec<Table>,
    pub views: Vec<View>,
}

const COLUMN_TYPES: &[Ty] = &[
    Ty::Int,
    Ty::Int,
    Ty::Float,
    Ty::Dec,
    Ty::Text,
    Ty::Text,
    Ty::Date,
    Ty::Stamp,
    Ty::Bool,
];
/// The types a selected value or a compared pair is drawn from (integers twice as often).
const VALUE_TYPES: &[Ty] = &[
    Ty::Int,
    Ty::Int,
    Ty::Float,
    Ty::Dec,
    Ty::Text,
    Ty::Date,
    Ty::Stamp,
];
/// The comparison operators a predicate draws from.
const COMPARISONS: &[BinOp] = &[
    BinOp::Eq,
    BinOp::NotEq,
    BinOp::Lt,
    BinOp::LtEq,
    BinOp::Gt,
    BinOp::GtEq,
];
const TEXTS: &[&str] = &["a", "ab", "abc", "b", "ba", "x y", "", "zz"];

fn literal(rng: &mut Rng, ty: Ty) -> Lit {
    match ty {
        Ty::Int => Lit::Int(rng.below(25) as i64 - 5),
        Ty::Float => {
            let quarters = rng.below(100) as i64 - 20;
            Lit::Float(format!("{}", quarters as f64 / 4.0))
        }
        Ty::Dec => {
            let cents = rng.below(3000) as i64 - 500;
            let sign = if cents < 0 { "-" } else { "" };
            Lit::Dec(format!(
                "{sign}{}.{:02}",
                cents.abs() / 100,
                cents.abs() % 100
            ))
        }
        Ty::Text => Lit::Text(rng.pick(TEXTS).to_owned()),
        Ty::Bool => Lit::Bool(rng.percent(50)),
        Ty::Date => Lit::Date(day(rng)),
        Ty::Stamp => Lit::Stamp(format!(
            "{} {:02}:{:02}:{:02}",
            day(rng),
            rng.below(24),
            rng.pick(&[0, 15, 30, 59]),
            rng.pick(&[0, 1, 30, 59])
        )),
    }
}

/// The same decimal written with another scale, chosen by its place in the table (drawing
/// nothing from the generator, so a seed keeps its queries): `12.50` as itself, `12.5`, `12.500`
/// or `12.5000`, a whole one also as `12`. The judge reads stored decimals back and compares the
/// scale each engine kept.
fn rescaled(text: &str, place: usize) -> String {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = fraction.trim_end_matches('0');
    let scale = match place % 5 {
        0 => digits.len(),
        1 => fraction.len(),
        2 => 3,
        3 => 4,
        _ => 1,
    }
    .max(digits.len());
    if scale == 0 {
        whole.to_owned()
    } else {
        format!("{whole}.{digits:0<scale$}")
    }
}

/// A day of 2023 or 2024, month ends (where month arithmetic clamps) as likely as any.
fn day(rng: &mut Rng) -> String {
    let year = 2023 + rng.below(2);
    let month = 1 + rng.below(12);
    let last = match month {
        2 if year.is_multiple_of(4) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let day = if rng.percent(30) {
        last - rng.below(3)
    } else {
        1 + rng.below(last)
    };
    format!("{year}-{month:02}-{day:02}")
}

/// Two or three tables of 3–5 columns (a quarter declared in upper case) and 0–12 rows each (a fifth of the values NULL), and a
/// view over one of them.
pub fn database(rng: &mut Rng) -> Db {
    let mut tables = Vec::new();
    for t in 0..2 + rng.below(2) {
        let mut columns = vec![("id".to_owned(), Ty::Int)];
        // Now and then a table declares its columns in upper case (`C0`): a query reading it
        // and another table under one alias must find each column in its own scope.
        let upper = rng.percent(25);
        for c in 0..2 + rng.below(3) {
            let name = if upper {
                format!("C{c}")
            } else {
                format!("c{c}")
            };
            columns.push((name, rng.pick(COLUMN_TYPES)));
        }
        let mut rows = Vec::new();
        let mut ids: Vec<i64> = (1..=14).collect();
        for r in 0..rng.below(13) {
            let id = ids.remove(rng.below(ids.len()));
            let mut row = vec![Lit::Int(id)];
            for (c, (_, ty)) in columns[1..].iter().enumerate() {
                row.push(if rng.percent(20) {
                    Lit::Null
                } else {
                    match literal(rng, *ty) {
                        Lit::Dec(text) => Lit::Dec(rescaled(&text, r * 8 + c)),
                        other => other,
                    }
                });
            }
            rows.push(row);
        }
        tables.push(Table {
            name: format!("t{t}"),
            columns,
            rows,
        });
    }
    let mut db = Db {
        tables,
        views: Vec::new(),
    };
    let base = rng.below(db.tables.len());
    let table = db.tables[base].clone();
    let mut shapes = BTreeSet::new();
    let mut gen = Gen {
        rng,
        db: &db,
        shapes: &mut shapes,
        depth: 0,
        derived: Vec::new(),
        given: Vec::new(),
    };
    let scope = vec![Rel::of_table(&table, "b")];
    let mut items = Vec::new();
    let mut columns = Vec::new();
    for (i, (_, ty)) in table.columns.iter().enumerate() {
        let expr = gen.expr(*ty, &scope, 1);
        items.push((expr, format!("v{i}")));
        columns.push((format!("v{i}"), *ty));
    }
    let filter = gen.rng.percent(50).then(|| gen.predicate(&scope, 1));
    let from = From::Table {
        name: table.name.clone(),
        alias: "b".into(),
    };
    let query = plain_select(false, items, from, filter);
    db.views.push(View {
        name: "v0".into(),
        query,
        columns,
    });
    db
}

/// A relation in scope: its alias and its columns.
#[derive(Debug, Clone)]
pub struct Rel {
    pub alias: String,
    pub columns: Vec<(String, Ty)>,
}

impl Rel {
    fn of_table(table: &Table, alias: &str) -> Self {
        Rel {
            alias: alias.into(),
            columns: table.columns.clone(),
        }
    }
}

pub struct Gen<'a> {
    pub rng: &'a mut Rng,
    pub db: &'a Db,
    pub shapes: &'a mut BTreeSet<&'static str>,
    depth: usize,
    /// The derived tables given so far in the statement: their alias, and whether their
    /// columns are named in upper case.
    derived: Vec<(String, bool)>,
    /// Every relation given an alias so far in the statement.
    given: Vec<Rel>,
}

/// A query and the shapes it holds.
pub struct Generated {
    pub query: Query,
    pub shapes: BTreeSet<&'static str>,
    /// Its rows are written to a table, then read back (see `Sink`).
    pub sink: Option<Sink>,
}

/// A table the query's rows are written to by `INSERT … SELECT`, then read back in the query's
/// column order: its columns are the query's, declared in another order, and with `listed`
/// the INSERT names them (in the query's order) and one more column, left out of the list,
/// must read NULL.
#[derive(Debug, Clone)]
pub struct Sink {
    pub declared: Vec<(String, Ty)>,
    pub listed: bool,
    /// The column left out: a constant it defaults to (`DEFAULT (expr)`, no subquery), which
    /// every engine computes and casts to the column's type.
    pub default: Option<Expr>,
}

/// The column of a listed sink that the INSERT leaves out.
pub const SINK_EXTRA: &str = "x_extra";

pub fn query(rng: &mut Rng, db: &Db) -> Generated {
    let mut shapes = BTreeSet::new();
    let mut gen = Gen {
        rng,
        db,
        shapes: &mut shapes,
        depth: 0,
        derived: Vec::new(),
        given: Vec::new(),
    };
    let query = if gen.rng.percent(12) {
        gen.set_query()
    } else if gen.rng.percent(10) {
        // Four to six relations in a random FROM order: a join must be planned by its
        // predicates, not run as the cross product of the order it is written in.
        let relations = 4 + gen.rng.below(3);
        gen.select_query(&[], relations, true)
    } else {
        let relations = 1 + gen.rng.below(3);
        gen.select_query(&[], relations, true)
    };
    // Output columns of type Bool become TEXT columns, which the references fill differently.
    let columns = output_types(&query);
    let sink = (gen.rng.percent(8) && columns.iter().all(|(_, ty)| *ty != Ty::Bool)).then(|| {
        gen.note("INSERT … SELECT");
        let listed = gen.rng.percent(70);
        let mut declared = columns;
        let mut default = None;
        if listed {
            for i in (1..declared.len()).rev() {
                declared.swap(i, gen.rng.below(i + 1));
            }
            let mut extra = Ty::Text;
            if gen.rng.percent(60) {
                // A DEFAULT computed from literals (GlueSQL evaluated one by its own rules).
                gen.note("computed DEFAULT");
                extra = gen
                    .rng
                    .pick(&[Ty::Int, Ty::Float, Ty::Dec, Ty::Dec, Ty::Text, Ty::Date]);
                let depth = std::mem::replace(&mut gen.depth, 2);
                default = Some(gen.expr(extra, &[], 3));
                gen.depth = depth;
            }
            let at = gen.rng.below(declared.len() + 1);
            declared.insert(at, (SINK_EXTRA.to_owned(), extra));
        }
        Sink {
            declared,
            listed,
            default,
        }
    });
    // The statement's own column names, as applications read them: quoted aliases keep their
    // case, a plain column item is named by its column (not under a sink, which names them).
    let mut query = query;
    if sink.is_none() {
        let labels = match gen.rng.below(10) {
            0 => Labels::Quoted,
            1 | 2 => Labels::Bare,
            _ => Labels::Aliased,
        };
        if labels != Labels::Aliased {
            gen.note(match labels {
                Labels::Quoted => "quoted output names",
                _ => "columns named by their column",
            });
            set_labels(&mut query, labels);
        }
    }
    Generated {
        query,
        shapes,
        sink,
    }
}

/// Names the query's output columns (its first arm's) so.
fn set_labels(query: &mut Query, labels: Labels) {
    match &mut query.body {
        Body::Select(select) => select.labels = labels,
        Body::Set(left, _, _) => set_labels(left, labels),
    }
}

/// Writes the query's output aliases (its first arm's) in upper case.
fn loud(query: &mut Query) {
    match &mut query.body {
        Body::Select(select) => select.loud = true,
        Body::Set(left, _, _) => loud(left),
    }
}

/// Whether a column of `a` and one of `b` are one name spelled in two cases.
fn spelled_otherwise(a: &[(String, Ty)], b: &[(String, Ty)]) -> bool {
    a.iter()
        .any(|(x, _)| b.iter().any(|(y, _)| x != y && x.eq_ignore_ascii_case(y)))
}

/// A query's output columns: their aliases, and the type each alias names.
pub fn output_types(query: &Query) -> Vec<(String, Ty)> {
    match &query.body {
        Body::Select(select) => select
            .items
            .iter()
            .map(|(_, alias)| (alias.clone(), type_of_alias(alias)))
            .collect(),
        Body::Set(left, _, _) => output_types(left),
    }
}

impl Gen<'_> {
    fn note(&mut self, shape: &'static str) {
        self.shapes.insert(shape);
    }

    /// A table, alias or column name as a person may type it: now and then in upper case
    /// (every engine matches unquoted names ignoring case).
    fn spell(&mut self, name: &str) -> String {
        if name.chars().any(|c| c.is_ascii_uppercase()) {
            if self.rng.percent(50) {
                self.note("names in another case");
                return name.to_lowercase();
            }
            return name.to_owned();
        }
        if self.rng.percent(6) {
            self.note("names in another case");
            name.to_uppercase()
        } else {
            name.to_owned()
        }
    }

    /// A column reference, its names spelled as a person may type them.
    fn col(&mut self, rel: &str, name: &str) -> Expr {
        Expr::Col {
            rel: self.spell(rel),
            name: self.spell(name),
        }
    }

    /// A table or the view, as a relation under `alias`; noted when a relation the statement
    /// gave the same alias before spells a column of the same name otherwise.
    fn relation(&mut self, alias: &str) -> (From, Rel) {
        let (from, rel) = self.relation_as(alias);
        let differs = self
            .given
            .iter()
            .any(|r| r.alias == alias && spelled_otherwise(&r.columns, &rel.columns));
        if differs {
            self.note("one alias in sibling scopes");
        }
        self.given.push(rel.clone());
        (from, rel)
    }

    fn relation_as(&mut self, alias: &str) -> (From, Rel) {
        if self.rng.percent(15) {
            if let Some(view) = self.db.views.first() {
                self.note("view");
                let rel = Rel {
                    alias: alias.into(),
                    columns: view.columns.clone(),
                };
                let from = From::Table {
                    name: view.name.clone(),
                    alias: alias.into(),
                };
                return (from, rel);
            }
        }
        if self.depth < 2 && self.rng.percent(4) {
            return self.recursive(alias);
        }
        // A subquery beside one that read a derived table under the same alias often reads
        // one too, its columns named the other way round: each name must be found in its own
        // scope, not in the sibling's (GlueSQL scopes are ours to resolve).
        let sibling = self
            .derived
            .iter()
            .rev()
            .find(|(name, _)| name == alias)
            .map(|&(_, loud)| loud);
        let beside = self.depth >= 1 && sibling.is_some() && self.rng.percent(50);
        if self.depth < 2 && (beside || self.rng.percent(10)) {
            self.note("derived table");
            self.depth += 1;
            let mut inner = if self.rng.percent(25) {
                // Its rows come from a set operation, which idbsql computes itself.
                self.note("set operation in FROM");
                self.set_query()
            } else {
                self.select_query(&[], 1, false)
            };
            // Its columns named in upper case, read in lower case: each reference must find
            // its own relation's column, even where another relation spells one as written.
            let upper = match sibling {
                Some(loud) if beside => !loud,
                _ => self.rng.percent(20),
            };
            if upper {
                self.note("names in another case");
                loud(&mut inner);
            }
            self.derived.push((alias.to_owned(), upper));
            self.depth -= 1;
            let columns = output_types(&inner);
            let rel = Rel {
                alias: alias.into(),
                columns,
            };
            let from = if self.rng.percent(40) {
                // The same rows through WITH, whose name is unique in the statement.
                self.note("WITH");
                From::Cte {
                    name: format!("w{}", self.rng.below(1_000_000)),
                    query: Box::new(inner),
                    alias: alias.into(),
                }
            } else {
                From::Derived {
                    query: Box::new(inner),
                    alias: alias.into(),
                }
            };
            return (from, rel);
        }
        // Under an alias given before, often a table spelling its columns the other way.
        let prior = self.given.iter().rev().find(|r| r.alias == alias);
        let otherwise: Vec<&Table> = prior.map_or_else(Vec::new, |prior| {
            let tables = self.db.tables.iter();
            tables
                .filter(|t| spelled_otherwise(&prior.columns, &t.columns))
                .collect()
        });
        let table = if !otherwise.is_empty() && self.rng.percent(50) {
            (*self.rng.pick(&otherwise)).clone()
        } else {
            self.rng.pick(&self.db.tables)
        };
        (
            From::Table {
                name: self.spell(&table.name),
                alias: alias.into(),
            },
            Rel::of_table(&table, alias),
        )
    }

    /// A recursive WITH query walking a table by its ids: the rows a filter picks, then in
    /// each round the rows whose id is a step past one found (ids only grow, so it ends),
    /// each column computed from the row found and the new one.
    fn recursive(&mut self, alias: &str) -> (From, Rel) {
        self.note("WITH RECURSIVE");
        self.depth += 1;
        let name = format!("w{}", self.rng.below(1_000_000));
        let table = self.rng.pick(&self.db.tables);
        let first = vec![Rel::of_table(&table, "a")];
        let mut anchor_items = vec![(self.col("a", "id"), "k".to_owned())];
        let mut columns = vec![("k".to_owned(), Ty::Int)];
        let width = 1 + self.rng.below(2);
        for i in 0..width {
            let (column, ty) = self.rng.pick(&table.columns[1..]);
            let label = self::alias(i + 1, ty);
            anchor_items.push((self.col("a", &column), label.clone()));
            columns.push((label, ty));
        }
        let anchor_filter = self.rng.percent(70).then(|| self.predicate(&first, 1));
        let anchor = plain_select(
            false,
            anchor_items,
            From::Table {
                name: self.spell(&table.name),
                alias: "a".into(),
            },
            anchor_filter,
        );
        let own = Rel {
            alias: "r".into(),
            columns: columns.clone(),
        };
        let next = Rel::of_table(&table, "b");
        let scope = vec![next, own];
        let mut step_items = vec![(self.col("b", "id"), "k".to_owned())];
        for (name, ty) in &columns[1..] {
            let expr = self.expr(*ty, &scope, 1);
            step_items.push((expr, name.clone()));
        }
        let step_by = 1 + self.rng.below(3) as i64;
        let on = Expr::Bin(
            Box::new(self.col("b", "id")),
            BinOp::Eq,
            Box::new(Expr::Bin(
                Box::new(self.col("r", "k")),
                BinOp::Add,
                Box::new(Expr::Lit(Lit::Int(step_by))),
            )),
        );
        let step_filter = self.rng.percent(40).then(|| self.predicate(&scope, 1));
        let step = Query {
            body: Body::Select(Box::new(Select {
                distinct: false,
                items: step_items,
                from: From::Table {
                    name: self.spell(&table.name),
                    alias: "b".into(),
                },
                joins: vec![Join {
                    kind: if self.rng.percent(30) {
                        JoinKind::Comma
                    } else {
                        JoinKind::Inner
                    },
                    item: From::Table {
                        name: name.clone(),
                        alias: "r".into(),
                    },
                    on,
                    using: None,
                }],
                filter: step_filter,
                group_by: Vec::new(),
                having: None,
                loud: false,
                labels: Labels::Aliased,
                nest_first: false,
            })),
            order_by: Vec::new(),
            nulls_first: None,
            limit: None,
        };
        self.depth -= 1;
        let from = From::Recursive {
            name,
            anchor: Box::new(anchor),
            step: Box::new(step),
            all: self.rng.percent(50),
            alias: alias.into(),
        };
        let rel = Rel {
            alias: alias.into(),
            columns,
        };
        (from, rel)
    }

    /// The type of each output column, as the generator built them (kept in the aliases).
    /// A SELECT over `relations` relations; `outer` is in scope for correlation. `order` allows
    /// an ORDER BY … LIMIT. From four relations on, every join is a comma join, written in a
    /// random order (each join's condition still names only relations generated before it, so
    /// the conditions form chains and stars over the shuffled list).
    pub fn select_query(&mut self, outer: &[Rel], relations: usize, order: bool) -> Query {
        let prefix = format!("r{}_", self.depth);
        let (from, first) = self.relation(&format!("{prefix}0"));
        let mut scope: Vec<Rel> = outer.to_vec();
        scope.push(first);
        let mut joins = Vec::new();
        let many = relations >= 4;
        if many {
            self.note("many-table join");
        }
        for i in 1..relations {
            let (item, rel) = self.relation(&format!("{prefix}{i}"));
            scope.push(rel);
            let plain_table = matches!(item, From::Table { .. });
            let kind = match self.rng.below(3) {
                _ if many => JoinKind::Comma,
                _ if plain_table && self.rng.percent(7) => {
                    if self.rng.percent(50) {
                        JoinKind::LateralLeft
                    } else {
                        JoinKind::LateralCross
                    }
                }
                _ if self.rng.percent(8) => JoinKind::Full,
                _ if self.rng.percent(if i == 1 { 15 } else { 25 }) => JoinKind::Right,
                0 => JoinKind::Inner,
                1 => JoinKind::Left,
                _ => JoinKind::Comma,
            };
            self.note("join");
            match kind {
                JoinKind::Left => self.note("LEFT JOIN"),
                JoinKind::Right if i > 1 => self.note("RIGHT JOIN after a join"),
                JoinKind::Right => self.note("RIGHT JOIN"),
                JoinKind::Full => self.note("FULL JOIN"),
                JoinKind::LateralCross | JoinKind::LateralLeft => self.note("LATERAL"),
                JoinKind::Comma => self.note("comma join"),
                JoinKind::Inner => {}
            }
            // Joined on a key where it can be, as applications do; now and then two tables
            // by their shared key column, USING it.
            let first = &scope[outer.len()];
            let shared = |rel: &Rel| rel.columns.iter().any(|(name, _)| name == "id");
            let using = i == 1
                && kind != JoinKind::Comma
                && !matches!(kind, JoinKind::LateralCross | JoinKind::LateralLeft)
                && shared(first)
                && shared(scope.last().expect("a relation"))
                && self.rng.percent(30);
            let on = if using {
                self.note("USING");
                let first = first.alias.clone();
                let last = scope.last().expect("a relation").alias.clone();
                Expr::Bin(
                    Box::new(self.col(&first, "id")),
                    BinOp::Eq,
                    Box::new(self.col(&last, "id")),
                )
            } else if matches!(
                kind,
                JoinKind::Right | JoinKind::Full | JoinKind::LateralCross | JoinKind::LateralLeft
            ) {
                // What a FULL or RIGHT JOIN keeps of a side, and a LATERAL subquery, are
                // computed apart from the outer query's rows (idbsql refuses one that reads
                // them), so its condition reads only this query's relations.
                self.join_condition(&scope[outer.len()..])
            } else {
                self.join_condition(&scope)
            };
            let using = using.then(|| self.spell("id"));
            joins.push(Join {
                kind,
                item,
                on,
                using,
            });
        }
        let mut from = from;
        if many {
            // Comma joins put every condition in WHERE, so any written order means the same.
            for i in (0..joins.len()).rev() {
                let j = self.rng.below(i + 2);
                if j == i + 1 {
                    continue;
                }
                if j == 0 {
                    std::mem::swap(&mut from, &mut joins[i].item);
                } else {
                    let (before, after) = joins.split_at_mut(i);
                    std::mem::swap(&mut before[j - 1].item, &mut after[0].item);
                }
            }
        }
        let local = &scope[outer.len()..];
        let grouped = self.rng.percent(20);
        let mut items = Vec::new();
        let mut group_by = Vec::new();
        if grouped {
            self.note("GROUP BY");
            let computed = self.rng.percent(25).then(|| {
                let ty = self.rng.pick(&[Ty::Int, Ty::Float, Ty::Dec]);
                (self.expr(ty, local, 1), ty)
            });
            // (A bare literal is no key: `GROUP BY 1` names a position.)
            let computed = computed.filter(|(key, _)| {
                !matches!(key, Expr::Lit(_) | Expr::Param(_) | Expr::Untyped(_))
            });
            let (key, key_ty) = if let Some(computed) = computed {
                // A computed key, a number of any kind (`COALESCE(f, i)` varies by row):
                // the groups are of values, 4 and 4.0 one group.
                self.note("GROUP BY an expression");
                computed
            } else {
                let key_type = self.rng.pick(&[Ty::Int, Ty::Text, Ty::Date, Ty::Stamp]);
                let key = self
                    .column_of(local, key_type)
                    .unwrap_or_else(|| self.column_any(local));
                let key_ty = self.type_in(&scope, &key);
                (key, key_ty)
            };
            if self.rng.percent(25) {
                // The key named by its place in the select list.
                self.note("GROUP BY position");
                group_by.push(Expr::Lit(Lit::Int(1)));
            } else {
                group_by.push(key.clone());
            }
            items.push((key, alias(0, key_ty)));
            for i in 1..1 + self.rng.below(3) {
                let (agg, ty) = self.aggregate(&scope);
                items.push((agg, alias(i, ty)));
            }
        } else {
            for i in 0..1 + self.rng.below(3) {
                let ty = self.rng.pick(VALUE_TYPES);
                let expr = self.expr(ty, &scope, 2);
                items.push((expr, alias(i, ty)));
            }
        }
        // Windows over this query's own rows (idbsql refuses one in a correlated subquery).
        if outer.is_empty() && self.rng.percent(if grouped { 20 } else { 14 }) {
            let over_groups = grouped.then(|| items.clone());
            for _ in 0..1 + self.rng.below(2) {
                let (window, ty) = self.window(local, over_groups.as_deref());
                let i = items.len();
                items.push((window, alias(i, ty)));
            }
        }
        let filter = self.rng.percent(70).then(|| self.predicate(&scope, 2));
        let having = (grouped && self.rng.percent(50)).then(|| {
            self.note("HAVING");
            if self.rng.percent(35) {
                // A HAVING that reads no row (`HAVING 1 > 2`): when it is not true, WHERE is
                // never evaluated, so a division by zero there must not fail.
                self.note("constant HAVING");
                return self.predicate(&[], 0);
            }
            if self.rng.percent(45) {
                // Whether every (any) row's predicate holds; NULLs skipped.
                self.note("bool_and / bool_or");
                let all = self.rng.percent(50);
                let test = Expr::BoolAgg(Box::new(self.predicate(&scope, 1)), all);
                return if self.rng.percent(25) {
                    Expr::Not(Box::new(test))
                } else {
                    test
                };
            }
            let (agg, ty) = self.aggregate(&scope);
            let bound = self.literal_expr(ty);
            let bound = self.untyped_beside(bound, &agg);
            Expr::Bin(
                Box::new(agg),
                self.rng.pick(&[BinOp::Gt, BinOp::LtEq, BinOp::Eq]),
                Box::new(bound),
            )
        });
        // Now and then the first join in parentheses (spliced in as joins read left to right).
        let nest_first = relations > 2
            && !many
            && !matches!(
                joins.first().map(|j| j.kind),
                Some(JoinKind::Comma | JoinKind::LateralCross | JoinKind::LateralLeft) | None
            )
            && self.rng.percent(20);
        if nest_first {
            self.note("parenthesised first join");
        }
        let distinct = !grouped && self.rng.percent(12);
        if distinct {
            self.note("DISTINCT");
        }
        let mut query = Query {
            body: Body::Select(Box::new(Select {
                distinct,
                items,
                from,
                joins,
                filter,
                group_by,
                having,
                loud: false,
                labels: Labels::Aliased,
                nest_first,
            })),
            order_by: Vec::new(),
            nulls_first: None,
            limit: None,
        };
        if order && self.rng.percent(30) {
            self.note("ORDER BY + LIMIT");
            query.order_by = (1..=query.columns().len()).collect();
            if self.rng.percent(50) {
                // Where NULLs go, written out: the references' defaults differ.
                self.note("NULLS FIRST / LAST");
                query.nulls_first = Some(self.rng.percent(50));
            }
            query.limit = Some(1 + self.rng.below(5) as u32);
        }
        query
    }

    fn set_query(&mut self) -> Query {
        self.note("set operation");
        let left = self.select_query(&[], 1, false);
        let types = output_types(&left);
        // The right arm: the same number of columns of the same types.
        let (from, rel) = self.relation("s0");
        let scope = vec![rel];
        // Now and then a FLOAT or DECIMAL column meets a narrower type in this arm (an
        // integer, or a DECIMAL beside a FLOAT): the column is of the arms' common type, and
        // the arm written first may be the narrower one.
        let mut mixed = false;
        let mut items = Vec::new();
        for (i, (_, ty)) in types.iter().enumerate() {
            let narrower = match ty {
                Ty::Dec => Some(Ty::Int),
                Ty::Float => Some(self.rng.pick(&[Ty::Int, Ty::Dec])),
                _ => None,
            };
            let drawn = match narrower {
                Some(narrower) if self.rng.percent(40) => {
                    mixed = true;
                    narrower
                }
                _ => *ty,
            };
            items.push((self.expr(drawn, &scope, 1), alias(i, *ty)));
        }
        let filter = self.rng.percent(60).then(|| self.predicate(&scope, 1));
        let right = plain_select(false, items, from, filter);
        let mut left = left;
        if mixed {
            self.note("set operation of mixed numeric types");
            // Now and then the wider arm gives no row: the column is of the common type all
            // the same (`SELECT i … UNION ALL SELECT f … WHERE false` is a FLOAT column).
            if self.rng.percent(70) {
                if let Body::Select(select) = &mut left.body {
                    self.note("set operation with an empty arm");
                    let never = Expr::Bin(
                        Box::new(Expr::Lit(Lit::Int(1))),
                        BinOp::Eq,
                        Box::new(Expr::Lit(Lit::Int(0))),
                    );
                    select.filter = Some(match select.filter.take() {
                        Some(filter) => Expr::Bin(Box::new(filter), BinOp::And, Box::new(never)),
                        None => never,
                    });
                }
            }
            if self.rng.percent(50) {
                return self.set_of(right, left);
            }
        }
        self.set_of(left, right)
    }

    /// `left` UNION / INTERSECT / EXCEPT [ALL] `right`, the operator drawn.
    fn set_of(&mut self, left: Query, right: Query) -> Query {
        let op = self.rng.pick(&[
            SetOp::Union,
            SetOp::UnionAll,
            SetOp::Intersect,
            SetOp::Except,
        ]);
        Query {
            body: Body::Set(Box::new(left), op, Box::new(right)),
            order_by: Vec::new(),
            nulls_first: None,
            limit: None,
        }
    }

    /// A window function over the rows of `local`, or over its groups (`groups`: the select
    /// list, its first item the group key), wrapped now and then in arithmetic.
    fn window(&mut self, local: &[Rel], groups: Option<&[(Expr, String)]>) -> (Expr, Ty) {
        self.note("window function");
        if groups.is_some() {
            self.note("window over groups");
        }
        let (window, ty) = self.window_call(local, groups);
        let expr = Expr::Window(Box::new(window));
        if ty.is_numeric() && groups.is_none() && self.rng.percent(20) {
            if let Some(other) = self.column_of(local, ty) {
                let op = self.rng.pick(&[BinOp::Add, BinOp::Sub]);
                return (Expr::Bin(Box::new(other), op, Box::new(expr)), ty);
            }
        }
        (expr, ty)
    }

    /// An operand of a window: a column (now and then an expression) of `local`, or an item
    /// of the select list over groups; of type `want` when given.
    fn window_operand(
        &mut self,
        local: &[Rel],
        groups: Option<&[(Expr, String)]>,
        want: Option<Ty>,
    ) -> Option<(Expr, Ty)> {
        if let Some(items) = groups {
            let fitting: Vec<(Expr, Ty)> = items
                .iter()
                .map(|(e, a)| (e.clone(), type_of_alias(a)))
                .filter(|(_, ty)| want.is_none_or(|w| w == *ty))
                .collect();
            return (!fitting.is_empty()).then(|| self.rng.pick(&fitting));
        }
        let ty = want.unwrap_or_else(|| {
            self.rng
                .pick(&[Ty::Int, Ty::Int, Ty::Float, Ty::Dec, Ty::Text, Ty::Date])
        });
        if self.rng.percent(15) {
            return Some((self.expr(ty, local, 1), ty));
        }
        self.column_of(local, ty).map(|e| (e, ty))
    }

    /// Keys that make a window's order total: every column of `local` (rows equal in all of
    /// them give equal output rows whichever comes first), or over groups the group key.
    fn tie_breakers(
        &mut self,
        local: &[Rel],
        groups: Option<&[(Expr, String)]>,
    ) -> Vec<(Expr, bool, Option<bool>)> {
        if let Some(items) = groups {
            return items
                .first()
                .map(|(key, _)| (key.clone(), false, None))
                .into_iter()
                .collect();
        }
        let columns: Vec<(String, String)> = local
            .iter()
            .flat_map(|rel| {
                rel.columns
                    .iter()
                    .map(|(name, _)| (rel.alias.clone(), name.clone()))
            })
            .collect();
        columns
            .into_iter()
            .map(|(rel, name)| (self.col(&rel, &name), false, None))
            .collect()
    }

    fn window_call(&mut self, local: &[Rel], groups: Option<&[(Expr, String)]>) -> (Window, Ty) {
        const ROWS_FRAMES: &[&str] = &[
            "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
            "ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING",
            "ROWS 2 PRECEDING",
            "ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING",
            "ROWS BETWEEN 1 FOLLOWING AND 3 FOLLOWING",
            "ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING",
            "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING",
        ];
        const RANGE_FRAMES: &[&str] = &[
            "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
            "RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING",
            "RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING",
            "RANGE CURRENT ROW",
        ];
        const RANGE_OFFSETS: &[&str] = &[
            "RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING",
            "RANGE BETWEEN 2 PRECEDING AND CURRENT ROW",
            "RANGE BETWEEN CURRENT ROW AND 3 FOLLOWING",
            "RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING",
            "RANGE BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING",
        ];
        let mut window = Window {
            name: "ROW_NUMBER",
            star: false,
            args: Vec::new(),
            partition: Vec::new(),
            order: Vec::new(),
            frame: None,
        };
        if groups.is_none() && self.rng.percent(45) {
            if let Some((key, _)) = self.window_operand(local, groups, None) {
                window.partition.push(key);
            }
        }
        // Whether the value depends on the order of rows the ORDER BY leaves tied.
        let mut tie_sensitive = true;
        let mut ty = Ty::Int;
        let any = |gen: &mut Self| gen.window_operand(local, groups, None);
        match self.rng.below(10) {
            0 => window.name = "ROW_NUMBER",
            1..=2 => {
                window.name = self
                    .rng
                    .pick(&["RANK", "DENSE_RANK", "PERCENT_RANK", "CUME_DIST"]);
                if matches!(window.name, "PERCENT_RANK" | "CUME_DIST") {
                    ty = Ty::Float;
                }
                tie_sensitive = false;
            }
            3 => {
                window.name = "NTILE";
                window
                    .args
                    .push(Expr::Lit(Lit::Int(1 + self.rng.below(4) as i64)));
            }
            4..=5 => {
                if let Some((value, value_ty)) = any(self) {
                    window.name = self.rng.pick(&["LAG", "LEAD"]);
                    ty = value_ty;
                    window.args.push(value);
                    if self.rng.percent(50) {
                        window
                            .args
                            .push(Expr::Lit(Lit::Int(self.rng.below(3) as i64)));
                        if self.rng.percent(50) {
                            window.args.push(Expr::Lit(literal(self.rng, ty)));
                        }
                    }
                }
            }
            6 => {
                if let Some((value, value_ty)) = any(self) {
                    window.name = self.rng.pick(&["FIRST_VALUE", "LAST_VALUE", "NTH_VALUE"]);
                    ty = value_ty;
                    window.args.push(value);
                    if window.name == "NTH_VALUE" {
                        window
                            .args
                            .push(Expr::Lit(Lit::Int(1 + self.rng.below(3) as i64)));
                    }
                    if self.rng.percent(50) {
                        self.note("window frame");
                        window.frame = Some(self.rng.pick(ROWS_FRAMES));
                    }
                }
            }
            _ => {
                let numeric_ty = self.rng.pick(&[Ty::Int, Ty::Float, Ty::Dec]);
                let numeric = self.window_operand(local, groups, Some(numeric_ty));
                let (name, arg) = match (self.rng.below(6), numeric) {
                    (0, _) => ("COUNT", None),
                    (2, Some((value, value_ty))) => ("SUM", Some((value, value_ty))),
                    (3, Some((value, _))) => ("AVG", Some((value, Ty::Float))),
                    (4, _) => match any(self) {
                        Some((value, value_ty)) => ("MIN", Some((value, value_ty))),
                        None => ("COUNT", None),
                    },
                    (5, _) => match any(self) {
                        Some((value, value_ty)) => ("MAX", Some((value, value_ty))),
                        None => ("COUNT", None),
                    },
                    _ => match any(self) {
                        Some((value, _)) => ("COUNT", Some((value, Ty::Int))),
                        None => ("COUNT", None),
                    },
                };
                window.name = name;
                match arg {
                    Some((value, value_ty)) => {
                        window.args.push(value);
                        ty = value_ty;
                    }
                    None => window.star = true,
                }
                tie_sensitive = false;
                match self.rng.below(4) {
                    0 => {}
                    1 => {
                        self.note("window frame");
                        window.frame = Some(self.rng.pick(ROWS_FRAMES));
                        tie_sensitive = true;
                    }
                    2 => {
                        self.note("window frame");
                        window.frame = Some(self.rng.pick(RANGE_FRAMES));
                    }
                    _ => {
                        // An offset compares the one ORDER BY key's value.
                        if let Some((key, _)) = self.window_operand(local, groups, Some(Ty::Int)) {
                            self.note("window frame");
                            let desc = self.rng.percent(30);
                            let nulls = self.rng.percent(30).then(|| self.rng.percent(50));
                            window.order.push((key, desc, nulls));
                            window.frame = Some(self.rng.pick(RANGE_OFFSETS));
                            return (window, ty);
                        }
                    }
                }
            }
        }
        for _ in 0..self.rng.below(3) {
            if let Some((key, _)) = any(self) {
                let desc = self.rng.percent(30);
                let nulls = self.rng.percent(30).then(|| self.rng.percent(50));
                window.order.push((key, desc, nulls));
            }
        }
        if tie_sensitive {
            let ties = self.tie_breakers(local, groups);
            window.order.extend(ties);
        }
        (window, ty)
    }

    fn join_condition(&mut self, scope: &[Rel]) -> Expr {
        let last = scope.last().expect("a relation");
        let others = &scope[..scope.len() - 1];
        let other = self.rng.pick(others);
        if self.rng.percent(75) {
            // Key to a column of the same type, or key to key.
            let right = Expr::Col {
                rel: last.alias.clone(),
                name: last.columns[0].0.clone(),
            };
            let candidates: Vec<&(String, Ty)> = other
                .columns
                .iter()
                .filter(|(_, ty)| *ty == Ty::Int)
                .collect();
            if candidates.is_empty() {
                return self.predicate(scope, 1);
            }
            let (name, _) = candidates[self.rng.below(candidates.len())];
            let left = Expr::Col {
                rel: other.alias.clone(),
                name: name.clone(),
            };
            Expr::Bin(Box::new(left), BinOp::Eq, Box::new(right))
        } else {
            self.predicate(scope, 1)
        }
    }

    fn column_of(&mut self, scope: &[Rel], ty: Ty) -> Option<Expr> {
        let all: Vec<(String, String)> = scope
            .iter()
            .flat_map(|rel| {
                rel.columns
                    .iter()
                    .filter(|(_, t)| *t == ty)
                    .map(|(name, _)| (rel.alias.clone(), name.clone()))
            })
            .collect();
        (!all.is_empty()).then(|| {
            let (rel, name) = self.rng.pick(&all);
            self.col(&rel, &name)
        })
    }

    fn column_any(&mut self, scope: &[Rel]) -> Expr {
        let rel = self.rng.pick(scope);
        let (name, _) = self.rng.pick(&rel.columns);
        self.col(&rel.alias, &name)
    }

    fn type_in(&self, scope: &[Rel], expr: &Expr) -> Ty {
        if let Expr::Col { rel, name } = expr {
            for r in scope {
                if r.alias.eq_ignore_ascii_case(rel) {
                    if let Some((_, ty)) =
                        r.columns.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))
                    {
                        return *ty;
                    }
                }
            }
        }
        Ty::Int
    }

    /// A logarithm of a positive value (`ABS(x) + 1`): `LOG(b, x)` (base first, as both
    /// references read it; PostgreSQL's takes NUMERICs, so `x` is an integer or a DECIMAL),
    /// `LOG(x)` (base 10) or `LN(x)`. Of a FLOAT for a FLOAT, else a NUMERIC to PostgreSQL.
    fn logarithm(&mut self, ty: Ty, scope: &[Rel], d: usize) -> Expr {
        let positive = |gen: &mut Self, of: Ty| {
            let abs = Expr::Func("ABS", vec![gen.expr(of, scope, d)]);
            Expr::Bin(Box::new(abs), BinOp::Add, Box::new(Expr::Lit(Lit::Int(1))))
        };
        match self.rng.below(3) {
            0 => {
                let base = Expr::Lit(Lit::Int(self.rng.pick(&[2, 3, 10])));
                let of = self.rng.pick(&[Ty::Int, Ty::Dec]);
                Expr::Func("LOG", vec![base, positive(self, of)])
            }
            1 => {
                let of = if ty == Ty::Float {
                    Ty::Float
                } else {
                    self.rng.pick(&[Ty::Int, Ty::Dec])
                };
                Expr::Func("LOG", vec![positive(self, of)])
            }
            _ => {
                let of = if ty == Ty::Float {
                    Ty::Float
                } else {
                    self.rng.pick(&[Ty::Int, Ty::Dec])
                };
                Expr::Func("LN", vec![positive(self, of)])
            }
        }
    }

    /// ROUND, CEIL, FLOOR and TRUNC as both references define them: of a DECIMAL (a
    /// NUMERIC to PostgreSQL, rounded half away from zero), of an integer to n places (a
    /// NUMERIC), of a FLOAT or an integer (a DOUBLE PRECISION). Not an integer's CEIL (SQLite
    /// keeps an integer) nor TRUNC to n places (SQLite has none).
    fn rounding(&mut self, ty: Ty, scope: &[Rel], d: usize) -> Expr {
        if ty == Ty::Dec && self.rng.percent(45) {
            let of = self.rng.pick(&[Ty::Dec, Ty::Dec, Ty::Int]);
            let places = Lit::Int(self.rng.below(4) as i64);
            let places = if self.rng.percent(30) {
                Expr::Param(places)
            } else {
                Expr::Lit(places)
            };
            return Expr::Func("ROUND", vec![self.expr(of, scope, d), places]);
        }
        let name = self
            .rng
            .pick(&["ROUND", "CEIL", "CEILING", "FLOOR", "TRUNC"]);
        let of = if ty == Ty::Float && name == "ROUND" && self.rng.percent(30) {
            Ty::Int
        } else {
            ty
        };
        Expr::Func(name, vec![self.expr(of, scope, d)])
    }

    fn literal_expr(&mut self, ty: Ty) -> Expr {
        let lit = match literal(self.rng, ty) {
            Lit::Dec(text) if self.rng.percent(40) => {
                self.note("written fraction literal");
                if self.rng.percent(25) {
                    self.note("exponent literal");
                    Lit::Numeric(self.exponent_form(&text))
                } else {
                    Lit::Numeric(text)
                }
            }
            other => other,
        };
        if matches!(lit, Lit::Int(_) | Lit::Float(_) | Lit::Text(_)) && self.rng.percent(35) {
            self.note("parameters");
            Expr::Param(lit)
        } else {
            Expr::Lit(lit)
        }
    }

    /// A NUMERIC written with an exponent, as `1e3` is (every engine reads one as a fraction
    /// type: PostgreSQL a NUMERIC, SQLite a REAL): the same value (`2.50` as `250e-2`), or now
    /// and then a whole one written with a positive exponent (`-7e1`, -70; `1.7e1`, 17).
    fn exponent_form(&mut self, text: &str) -> String {
        let (sign, digits) = text
            .strip_prefix('-')
            .map_or(("", text), |rest| ("-", rest));
        if self.rng.percent(40) {
            let whole = digits.split('.').next().unwrap_or("0");
            let whole = whole.trim_start_matches('0');
            if whole.len() >= 2 && self.rng.percent(50) {
                // The whole part with its point moved (`1.7e1`, 17): no fraction digits are
                // left, and the text reads like an integer's once parsed.
                let (first, rest) = whole.split_at(1);
                return format!("{sign}{first}.{rest}e{}", rest.len());
            }
            return format!("{sign}{}e1", if whole.is_empty() { "1" } else { whole });
        }
        match digits.split_once('.') {
            Some((whole, fraction)) => format!("{sign}{whole}{fraction}e-{}", fraction.len()),
            None => format!("{sign}{digits}e0"),
        }
    }

    /// A literal of a number or a date beside a typed value, now and then handed to idbsql
    /// untyped (`'12.5'`, or a text parameter), as users write and send them: the value it
    /// stands beside types it. Not beside another literal, which types nothing.
    fn untyped_beside(&mut self, value: Expr, beside: &Expr) -> Expr {
        let typed_beside = !matches!(beside, Expr::Lit(_) | Expr::Param(_) | Expr::Untyped(_));
        match value {
            Expr::Lit(
                lit @ (Lit::Int(_) | Lit::Float(_) | Lit::Dec(_) | Lit::Numeric(_) | Lit::Date(_)),
            ) if typed_beside && self.rng.percent(30) => {
                self.note("untyped literal");
                Expr::Untyped(lit)
            }
            other => other,
        }
    }

    fn aggregate(&mut self, scope: &[Rel]) -> (Expr, Ty) {
        self.note("aggregate");
        let ty = self.rng.pick(&[Ty::Int, Ty::Float, Ty::Dec, Ty::Text]);
        let arg = self.expr(ty, scope, 1);
        let distinct = self.rng.percent(15);
        let (aggregate, ty) = if matches!(ty, Ty::Int | Ty::Text) && self.rng.percent(30) {
            self.note("string_agg");
            let aggregate = Expr::StringAgg {
                value: Box::new(arg),
                cast: ty == Ty::Int,
                separator: self.rng.pick(&[",", "", " | "]),
                desc: self.rng.percent(40),
                distinct,
            };
            (aggregate, Ty::Text)
        } else {
            self.plain_aggregate(ty, arg, distinct)
        };
        if self.rng.percent(15) {
            self.note("aggregate FILTER");
            let predicate = self.predicate(scope, 1);
            return (Expr::Filtered(Box::new(aggregate), Box::new(predicate)), ty);
        }
        (aggregate, ty)
    }

    fn plain_aggregate(&mut self, ty: Ty, arg: Expr, distinct: bool) -> (Expr, Ty) {
        match self.rng.below(6) {
            0 => (Expr::Agg(Agg::CountStar, None, false), Ty::Int),
            1 => (
                Expr::Agg(Agg::Count, Some(Box::new(arg)), distinct),
                Ty::Int,
            ),
            2 if ty.is_numeric() => (Expr::Agg(Agg::Sum, Some(Box::new(arg)), distinct), ty),
            3 if ty.is_numeric() => {
                let average = Expr::Agg(Agg::Avg, Some(Box::new(arg)), false);
                // An average of integers is a NUMERIC to PostgreSQL: ROUND of it goes half
                // away from zero, where a FLOAT's goes to the even neighbour.
                if ty != Ty::Float && self.rng.percent(25) {
                    self.note("rounding");
                    return (Expr::Func("ROUND", vec![average]), Ty::Float);
                }
                (average, Ty::Float)
            }
            4 => (Expr::Agg(Agg::Min, Some(Box::new(arg)), false), ty),
            _ => (Expr::Agg(Agg::Max, Some(Box::new(arg)), false), ty),
        }
    }

    /// An expression of type `ty` over `scope`, nested at most `depth` more levels.
    pub fn expr(&mut self, ty: Ty, scope: &[Rel], depth: usize) -> Expr {
        if ty == Ty::Bool {
            return self.predicate(scope, depth);
        }
        if depth == 0 || self.rng.percent(35) {
            if self.rng.percent(75) {
                if let Some(column) = self.column_of(scope, ty) {
                    return column;
                }
            }
            return self.literal_expr(ty);
        }
        let d = depth - 1;
        match (ty, self.rng.below(10)) {
            (Ty::Int, 0..=2) => {
                let op = self.rng.pick(&[BinOp::Add, BinOp::Sub, BinOp::Mul]);
                Expr::Bin(
                    Box::new(self.expr(Ty::Int, scope, d)),
                    op,
                    Box::new(self.expr(Ty::Int, scope, d)),
                )
            }
            (Ty::Int, 3) if self.rng.percent(40) => {
                // A division by a column that may be zero, where SQL never evaluates it when
                // the column is zero: COALESCE's later argument, CASE's guarded branch.
                self.lazy_division(scope, d)
                    .unwrap_or_else(|| self.expr(Ty::Int, scope, 0))
            }
            (Ty::Int, 3) => {
                // Integer division or remainder by a non-zero literal of either sign: both
                // truncate toward zero, the remainder taking the dividend's sign.
                let magnitude = 1 + self.rng.below(4) as i64;
                let divisor = if self.rng.percent(25) {
                    -magnitude
                } else {
                    magnitude
                };
                let op = if self.rng.percent(50) {
                    self.note("remainder (%)");
                    BinOp::Mod
                } else {
                    BinOp::Div
                };
                Expr::Bin(
                    Box::new(self.expr(Ty::Int, scope, d)),
                    op,
                    Box::new(Expr::Lit(Lit::Int(divisor))),
                )
            }
            (Ty::Int, 4) if self.rng.percent(40) => {
                // A field of a date that may be NULL (GlueSQL failed on a NULL one).
                self.note("EXTRACT");
                let mut fields = vec!["YEAR", "MONTH", "DAY", "DOW", "ISODOW", "DOY", "QUARTER"];
                let of = self.rng.pick(&[Ty::Date, Ty::Stamp]);
                if of == Ty::Stamp {
                    fields.extend(["HOUR", "MINUTE"]);
                }
                let field = self.rng.pick(&fields);
                Expr::Extract(field, Box::new(self.expr(of, scope, d)))
            }
            (Ty::Int, 4) => {
                self.note("LENGTH");
                Expr::Func("LENGTH", vec![self.expr(Ty::Text, scope, d)])
            }
            (Ty::Int, 5) if self.rng.percent(40) => {
                // Days between two dates: an integer in SQL (GlueSQL gave an INTERVAL).
                self.note("date arithmetic");
                Expr::DateDiff(
                    Box::new(self.expr(Ty::Date, scope, d)),
                    Box::new(self.expr(Ty::Date, scope, d)),
                )
            }
            (Ty::Date, 0..=3) => {
                self.note("date arithmetic");
                // Mostly a constant; now and then any integer (a column, an expression).
                let days = if self.rng.percent(35) {
                    self.expr(Ty::Int, scope, d)
                } else {
                    Expr::Lit(Lit::Int(self.rng.below(80) as i64 - 40))
                };
                Expr::DateAdd(Box::new(self.expr(Ty::Date, scope, d)), Box::new(days))
            }
            (Ty::Stamp, 0..=3) => {
                // Months added to a DATE or a TIMESTAMP (GlueSQL failed past a month's end).
                self.note("month arithmetic");
                let of = self.rng.pick(&[Ty::Date, Ty::Stamp]);
                let months = self.rng.below(29) as i64 - 14;
                Expr::AddMonths(Box::new(self.expr(of, scope, d)), months)
            }
            (Ty::Int, 5) if self.rng.percent(50) => {
                // A fraction cast to an integer: rounded, not truncated (GlueSQL truncated).
                self.note("integer cast");
                let of = self.rng.pick(&[Ty::Float, Ty::Dec]);
                Expr::IntCast(Box::new(self.expr(of, scope, d)))
            }
            (Ty::Int, 5) => {
                self.note("math function");
                Expr::Func("ABS", vec![self.expr(Ty::Int, scope, d)])
            }
            (Ty::Float | Ty::Dec, 0..=3) => {
                // An integer meeting a float or a decimal.
                self.note("integer with float or decimal");
                let op = self.rng.pick(&[BinOp::Add, BinOp::Sub, BinOp::Mul]);
                let (left, right) = if self.rng.percent(50) {
                    (self.expr(ty, scope, d), self.expr(Ty::Int, scope, d))
                } else {
                    (self.expr(Ty::Int, scope, d), self.expr(ty, scope, d))
                };
                Expr::Bin(Box::new(left), op, Box::new(right))
            }
            (Ty::Dec, 4) if self.rng.percent(20) => {
                // SECOND of a TIMESTAMP: a fraction in SQL (GlueSQL gave an integer).
                self.note("EXTRACT");
                Expr::Extract("SECOND", Box::new(self.expr(Ty::Stamp, scope, d)))
            }
            (Ty::Dec, 4..=5) | (Ty::Float, 4..=5) if self.rng.percent(40) => {
                self.note("rounding");
                self.rounding(ty, scope, d)
            }
            (Ty::Float | Ty::Dec, 4) => {
                self.note("math function");
                if ty == Ty::Float && self.rng.percent(40) {
                    // A function whose result is a FLOAT whatever its argument's type.
                    let of = if self.rng.percent(50) {
                        Ty::Int
                    } else {
                        Ty::Float
                    };
                    let inner = Expr::Func("ABS", vec![self.expr(of, scope, d)]);
                    Expr::Func("SQRT", vec![inner])
                } else if self.rng.percent(35) {
                    self.logarithm(ty, scope, d)
                } else if self.rng.percent(30) {
                    // Division of a fraction by a non-zero integer literal.
                    let divisor = Expr::Lit(Lit::Int(1 + self.rng.below(4) as i64));
                    Expr::Bin(
                        Box::new(self.expr(ty, scope, d)),
                        BinOp::Div,
                        Box::new(divisor),
                    )
                } else {
                    Expr::Func("ABS", vec![self.expr(ty, scope, d)])
                }
            }
            (Ty::Float | Ty::Dec, 5) => Expr::Neg(Box::new(self.expr(ty, scope, d))),
            (Ty::Text, 0..=1) if self.rng.percent(40) => {
                // LEFT / RIGHT of any count: negative, zero, past the end, NULL, computed.
                self.note("text function");
                self.note("LEFT / RIGHT");
                let text = self.expr(Ty::Text, scope, d);
                let count = if self.rng.percent(70) {
                    Expr::Lit(Lit::Int(self.rng.below(11) as i64 - 5))
                } else {
                    self.expr(Ty::Int, scope, d)
                };
                Expr::EndChars(Box::new(text), Box::new(count), self.rng.percent(50))
            }
            (Ty::Text, 0..=1) => {
                self.note("text function");
                let f = self.rng.pick(&["UPPER", "LOWER"]);
                Expr::Func(f, vec![self.expr(Ty::Text, scope, d)])
            }
            (Ty::Text, 2) => Expr::Bin(
                Box::new(self.expr(Ty::Text, scope, d)),
                BinOp::Concat,
                Box::new(self.expr(Ty::Text, scope, d)),
            ),
            (Ty::Text, 3) if self.rng.percent(50) => {
                // CONCAT skips a NULL argument and makes text of a number (GlueSQL's answered
                // NULL for a NULL argument).
                self.note("CONCAT");
                let args = (0..2 + self.rng.below(2))
                    .map(|_| {
                        let ty = if self.rng.percent(30) {
                            Ty::Int
                        } else {
                            Ty::Text
                        };
                        self.expr(ty, scope, d)
                    })
                    .collect();
                Expr::Func("CONCAT", args)
            }
            (Ty::Text, 3) => {
                // From the first character or before it (0: the references agree there, not
                // on a negative start), a count or none, spelled either way.
                self.note("text function");
                let text = self.expr(Ty::Text, scope, d);
                let start = self.rng.below(4) as i64;
                let count = (!self.rng.percent(45)).then(|| self.rng.below(3) as i64);
                if self.rng.percent(60) {
                    self.note("SUBSTRING");
                    Expr::Substring(Box::new(text), start, count)
                } else {
                    if count.is_none() || start == 0 {
                        self.note("SUBSTRING");
                    }
                    let mut args = vec![text, Expr::Lit(Lit::Int(start))];
                    args.extend(count.map(|n| Expr::Lit(Lit::Int(n))));
                    Expr::Func("SUBSTR", args)
                }
            }
            (_, 6) if self.rng.percent(30) => {
                // `CASE operand WHEN v …`: each value compared with the operand, numbers of
                // any kind meeting each other (an integer operand, a fraction WHEN).
                self.note("CASE");
                self.note("simple CASE");
                let operand_ty = self
                    .rng
                    .pick(&[Ty::Int, Ty::Float, Ty::Dec, Ty::Text, Ty::Date]);
                let operand = self.expr(operand_ty, scope, d);
                let mut arms = Vec::new();
                for _ in 0..1 + self.rng.below(3) {
                    let when_ty = if operand_ty.is_numeric() {
                        self.rng.pick(&[Ty::Int, Ty::Float, Ty::Dec])
                    } else {
                        operand_ty
                    };
                    let when = self.expr(when_ty, scope, d);
                    arms.push((when, self.expr(ty, scope, d)));
                }
                let otherwise = self
                    .rng
                    .percent(70)
                    .then(|| Box::new(self.expr(ty, scope, d)));
                Expr::SimpleCase(Box::new(operand), arms, otherwise)
            }
            (_, 6) => {
                self.note("CASE");
                let when = self.predicate(scope, d);
                // The issue's shape: an integer branch beside a float or decimal one.
                let then_ty = if ty.is_numeric() && self.rng.percent(50) {
                    Ty::Int
                } else {
                    ty
                };
                let then = self.expr(then_ty, scope, d);
                // An integer branch alone would make the CASE an integer (a quoted fraction
                // beside it is then refused by PostgreSQL too): it always has its ELSE.
                let otherwise = (then_ty != ty || self.rng.percent(70))
                    .then(|| Box::new(self.expr(ty, scope, d)));
                Expr::Case(vec![(when, then)], otherwise)
            }
            (_, 7) => {
                self.note("COALESCE");
                let second_ty = if ty.is_numeric() && self.rng.percent(40) {
                    Ty::Int
                } else {
                    ty
                };
                Expr::Func(
                    "COALESCE",
                    vec![self.expr(ty, scope, d), self.expr(second_ty, scope, d)],
                )
            }
            (_, 8) => {
                self.note("NULLIF");
                Expr::Func(
                    "NULLIF",
                    vec![self.expr(ty, scope, d), self.expr(ty, scope, d)],
                )
            }
            (_, 9) if self.rng.percent(35) => {
                // GREATEST / LEAST ignore NULL arguments; numbers of any kind meet.
                self.note("GREATEST / LEAST");
                let name = self.rng.pick(&["GREATEST", "LEAST"]);
                let args = (0..2 + self.rng.below(2))
                    .map(|_| {
                        let arg_ty = if ty.is_numeric() && self.rng.percent(30) {
                            Ty::Int
                        } else {
                            ty
                        };
                        self.expr(arg_ty, scope, d)
                    })
                    .collect();
                Expr::Func(name, args)
            }
            (_, 9) if self.depth < 2 && !matches!(ty, Ty::Date | Ty::Stamp) => {
                self.scalar_subquery(ty, scope)
            }
            _ => self.expr(ty, scope, 0),
        }
    }

    /// `COALESCE(x, a / b)` or `CASE WHEN b <> 0 THEN a / b END` over an INTEGER column `b`.
    fn lazy_division(&mut self, scope: &[Rel], d: usize) -> Option<Expr> {
        let divisor = self.column_of(scope, Ty::Int)?;
        self.note("lazy evaluation");
        let quotient = Expr::Bin(
            Box::new(self.expr(Ty::Int, scope, d)),
            BinOp::Div,
            Box::new(divisor.clone()),
        );
        Some(if self.rng.percent(50) {
            Expr::Func("COALESCE", vec![self.expr(Ty::Int, scope, d), quotient])
        } else {
            let guard = Expr::Bin(
                Box::new(divisor),
                BinOp::NotEq,
                Box::new(Expr::Lit(Lit::Int(0))),
            );
            Expr::Case(vec![(guard, quotient)], None)
        })
    }

    fn scalar_subquery(&mut self, ty: Ty, outer: &[Rel]) -> Expr {
        self.note("scalar subquery");
        if self.depth < 2 && self.rng.percent(12) {
            return self.scalar_over_set(ty, outer);
        }
        self.depth += 1;
        let (from, rel) = self.relation(&format!("q{}", self.depth));
        let scope: Vec<Rel> = outer
            .iter()
            .cloned()
            .chain(std::iter::once(rel.clone()))
            .collect();
        // One value: an aggregate (maybe over a correlated filter).
        let agg = if ty == Ty::Int && self.rng.percent(30) {
            Expr::Agg(Agg::CountStar, None, false)
        } else {
            let arg = self.expr(ty, std::slice::from_ref(&rel), 1);
            Expr::Agg(
                self.rng.pick(&[Agg::Min, Agg::Max]),
                Some(Box::new(arg)),
                false,
            )
        };
        let filter = self.rng.percent(60).then(|| {
            if !outer.is_empty() && self.rng.percent(50) {
                self.note("correlated subquery");
                let inner = self.column_any(std::slice::from_ref(&rel));
                let inner_ty = self.type_in(std::slice::from_ref(&rel), &inner);
                let outer_col = self
                    .column_of(outer, inner_ty)
                    .unwrap_or_else(|| self.literal_expr(inner_ty));
                Expr::Bin(Box::new(inner), BinOp::Eq, Box::new(outer_col))
            } else {
                self.predicate(&scope, 1)
            }
        });
        self.depth -= 1;
        Expr::Subquery(Box::new(plain_select(
            false,
            vec![(agg, alias(0, ty))],
            from,
            filter,
        )))
    }

    /// `(SELECT MIN / MAX (c) | COUNT(*) FROM (a set operation whose arms may read the outer
    /// row) AS q [WHERE …])`.
    fn scalar_over_set(&mut self, ty: Ty, outer: &[Rel]) -> Expr {
        self.depth += 1;
        let alias_name = format!("q{}", self.depth);
        let first = self.column_select(ty, outer);
        let inner = self.column_set(first, ty, outer);
        let rel = Rel {
            alias: alias_name.clone(),
            columns: output_types(&inner),
        };
        let agg = if ty == Ty::Int && self.rng.percent(30) {
            Expr::Agg(Agg::CountStar, None, false)
        } else {
            let column = inner.columns().remove(0);
            let arg = self.col(&alias_name, &column);
            Expr::Agg(
                self.rng.pick(&[Agg::Min, Agg::Max]),
                Some(Box::new(arg)),
                false,
            )
        };
        let filter = self
            .rng
            .percent(40)
            .then(|| self.predicate(std::slice::from_ref(&rel), 1));
        self.depth -= 1;
        Expr::Subquery(Box::new(plain_select(
            false,
            vec![(agg, alias(0, ty))],
            From::Derived {
                query: Box::new(inner),
                alias: alias_name,
            },
            filter,
        )))
    }

    /// A one-column query of type `ty` for IN / EXISTS, correlated with `outer` sometimes;
    /// now and then a set operation of two such (its arms may read the outer row).
    fn column_query(&mut self, ty: Ty, outer: &[Rel]) -> Query {
        let first = self.column_select(ty, outer);
        if self.depth < 2 && self.rng.percent(15) {
            return self.column_set(first, ty, outer);
        }
        first
    }

    /// `first` UNION / INTERSECT / EXCEPT [ALL] another one-column SELECT of type `ty`.
    fn column_set(&mut self, first: Query, ty: Ty, outer: &[Rel]) -> Query {
        self.note("set operation in a subquery");
        let right = self.column_select(ty, outer);
        self.set_of(first, right)
    }

    /// A one-column SELECT of type `ty` over one relation, filtered over it and `outer`.
    fn column_select(&mut self, ty: Ty, outer: &[Rel]) -> Query {
        self.depth += 1;
        let (from, rel) = self.relation(&format!("q{}", self.depth));
        let value = self
            .column_of(std::slice::from_ref(&rel), ty)
            .unwrap_or_else(|| self.expr(ty, std::slice::from_ref(&rel), 1));
        let scope: Vec<Rel> = outer
            .iter()
            .cloned()
            .chain(std::iter::once(rel.clone()))
            .collect();
        let filter = self.rng.percent(60).then(|| {
            if self.rng.percent(50) {
                self.note("correlated subquery");
            }
            self.predicate(&scope, 1)
        });
        let distinct = self.rng.percent(20);
        self.depth -= 1;
        plain_select(distinct, vec![(value, alias(0, ty))], from, filter)
    }

    /// A predicate over `scope`.
    pub fn predicate(&mut self, scope: &[Rel], depth: usize) -> Expr {
        let d = depth.saturating_sub(1);
        if self.rng.percent(12) {
            // A BOOLEAN column stands as a predicate, tested or compared as users write it.
            if let Some(flag) = self.column_of(scope, Ty::Bool) {
                self.note("BOOLEAN column");
                return match self.rng.below(5) {
                    0 | 1 => flag,
                    2 => Expr::Not(Box::new(flag)),
                    3 => {
                        let test = self.rng.pick(&["TRUE", "NOT TRUE", "FALSE", "NOT FALSE"]);
                        Expr::Truth(Box::new(flag), test)
                    }
                    _ => {
                        let value = self.literal_expr(Ty::Bool);
                        let value = self.untyped_beside(value, &flag);
                        let op = self.rng.pick(&[BinOp::Eq, BinOp::NotEq]);
                        Expr::Bin(Box::new(flag), op, Box::new(value))
                    }
                };
            }
        }
        let choice = if depth == 0 {
            self.rng.below(6)
        } else {
            self.rng.below(13)
        };
        match choice {
            0..=2 => {
                let ty = self.rng.pick(VALUE_TYPES);
                let mut left = self.expr(ty, scope, d);
                if ty.is_numeric() && self.rng.percent(10) {
                    // SIGN of any numeric kind, compared (as a value its kind differs: SQLite's
                    // is an integer, PostgreSQL's a float or a numeric).
                    self.note("math function");
                    left = Expr::Func("SIGN", vec![left]);
                }
                // Numbers meet numbers of any kind: an INT column against a FLOAT, a DECIMAL.
                let right_ty = if ty.is_numeric() {
                    self.rng.pick(&[ty, ty, Ty::Int, Ty::Float, Ty::Dec])
                } else {
                    ty
                };
                if right_ty != ty {
                    self.note("integer with float or decimal");
                }
                let mut right = self.expr(right_ty, scope, d);
                if right_ty == ty {
                    right = self.untyped_beside(right, &left);
                }
                if self.rng.percent(12) {
                    self.note("IS [NOT] DISTINCT FROM");
                    return Expr::Distinct(Box::new(left), Box::new(right), self.rng.percent(40));
                }
                let op = self.rng.pick(COMPARISONS);
                Expr::Bin(Box::new(left), op, Box::new(right))
            }
            3 => {
                self.note("IS NULL");
                let ty = self.rng.pick(COLUMN_TYPES);
                Expr::IsNull(Box::new(self.expr(ty, scope, d)), self.rng.percent(50))
            }
            4 => {
                self.note("IN list");
                let ty = self.rng.pick(&[Ty::Int, Ty::Text, Ty::Dec]);
                let tested = self.expr(ty, scope, d);
                let list = (0..1 + self.rng.below(3))
                    .map(|_| {
                        let item = self.literal_expr(ty);
                        self.untyped_beside(item, &tested)
                    })
                    .collect();
                Expr::InList(Box::new(tested), list, self.rng.percent(30))
            }
            5 => {
                self.note("BETWEEN");
                let ty = self.rng.pick(&[Ty::Int, Ty::Float, Ty::Date, Ty::Stamp]);
                let tested = self.expr(ty, scope, d);
                let low = self.literal_expr(ty);
                let low = self.untyped_beside(low, &tested);
                let high = self.literal_expr(ty);
                let high = self.untyped_beside(high, &tested);
                Expr::Between(
                    Box::new(tested),
                    Box::new(low),
                    Box::new(high),
                    self.rng.percent(25),
                )
            }
            6 if self.rng.percent(30) => {
                // `b <> 0 AND a / b > x`, either way round: the division runs only where b is
                // not zero.
                let Some(divisor) = self.column_of(scope, Ty::Int) else {
                    return self.predicate(scope, 0);
                };
                self.note("lazy evaluation");
                let guard = Expr::Bin(
                    Box::new(divisor.clone()),
                    BinOp::NotEq,
                    Box::new(Expr::Lit(Lit::Int(0))),
                );
                let quotient = Expr::Bin(
                    Box::new(self.expr(Ty::Int, scope, d)),
                    BinOp::Div,
                    Box::new(divisor),
                );
                let test = Expr::Bin(
                    Box::new(quotient),
                    self.rng.pick(&[BinOp::Gt, BinOp::LtEq, BinOp::Eq]),
                    Box::new(self.literal_expr(Ty::Int)),
                );
                if self.rng.percent(25) {
                    // Unguarded: both references refuse it where a zero divisor is reached,
                    // and answer it where nothing reaches one (a constant HAVING that says no).
                    return test;
                }
                let (first, second) = if self.rng.percent(50) {
                    (guard, test)
                } else {
                    (test, guard)
                };
                Expr::Bin(Box::new(first), BinOp::And, Box::new(second))
            }
            6 | 7 => {
                self.note("AND/OR/NOT");
                let op = self.rng.pick(&[BinOp::And, BinOp::Or]);
                Expr::Bin(
                    Box::new(self.predicate(scope, d)),
                    op,
                    Box::new(self.predicate(scope, d)),
                )
            }
            8 if self.rng.percent(40) => {
                self.note("IS [NOT] TRUE / FALSE");
                let test = self.rng.pick(&["TRUE", "NOT TRUE", "FALSE", "NOT FALSE"]);
                Expr::Truth(Box::new(self.predicate(scope, d)), test)
            }
            8 => {
                self.note("AND/OR/NOT");
                Expr::Not(Box::new(self.predicate(scope, d)))
            }
            9 => {
                self.note("LIKE");
                let pattern = self.rng.pick(&["a%", "%b", "%a%", "_", "a_", "%"]);
                Expr::Like(
                    Box::new(self.expr(Ty::Text, scope, d)),
                    pattern.into(),
                    self.rng.percent(25),
                )
            }
            10 if self.depth < 2 => {
                self.note("IN subquery");
                let ty = self.rng.pick(&[Ty::Int, Ty::Text]);
                let left = self.expr(ty, scope, d);
                let query = self.column_query(ty, scope);
                Expr::InSub(Box::new(left), Box::new(query), self.rng.percent(35))
            }
            11 if self.depth < 2 => {
                self.note("EXISTS");
                let query = self.column_query(Ty::Int, scope);
                Expr::Exists(Box::new(query), self.rng.percent(35))
            }
            12 => {
                // Keyset pagination's `(at, id) < ($1, $2)`, a composite key's `(a, b) IN
                // ((1, 'x'), …)`: fields of any kind, NULLs among them.
                self.note("row value comparison");
                let types: Vec<Ty> = (0..2 + self.rng.below(2))
                    .map(|_| {
                        self.rng
                            .pick(&[Ty::Int, Ty::Int, Ty::Text, Ty::Date, Ty::Dec, Ty::Float])
                    })
                    .collect();
                let left: Vec<Expr> = types.iter().map(|ty| self.expr(*ty, scope, 0)).collect();
                let row = |gen: &mut Self| -> Vec<Expr> {
                    types
                        .iter()
                        .zip(&left)
                        .map(|(ty, beside)| {
                            let value = gen.literal_expr(*ty);
                            gen.untyped_beside(value, beside)
                        })
                        .collect()
                };
                if self.rng.percent(30) {
                    let rows = (0..1 + self.rng.below(3)).map(|_| row(self)).collect();
                    return Expr::RowIn(left, rows, self.rng.percent(30));
                }
                let right = row(self);
                let op = self.rng.pick(COMPARISONS);
                Expr::Row(left, op, right)
            }
            _ => self.predicate(scope, 0),
        }
    }
}

/// `SELECT [DISTINCT] items FROM from [WHERE filter]`: no join, grouping or order.
fn plain_select(
    distinct: bool,
    items: Vec<(Expr, String)>,
    from: From,
    filter: Option<Expr>,
) -> Query {
    Query {
        body: Body::Select(Box::new(Select {
            distinct,
            items,
            from,
            joins: Vec::new(),
            filter,
            group_by: Vec::new(),
            having: None,
            loud: false,
            labels: Labels::Aliased,
            nest_first: false,
        })),
        order_by: Vec::new(),
        nulls_first: None,
        limit: None,
    }
}

/// Output columns are named for their type (`i0`, `f1`, …) so a derived table's columns keep
/// their types without a type checker.
fn alias(i: usize, ty: Ty) -> String {
    let prefix = match ty {
        Ty::Int => "i",
        Ty::Float => "f",
        Ty::Dec => "d",
        Ty::Text => "t",
        Ty::Date => "a",
        Ty::Stamp => "s",
        Ty::Bool => "b",
    };
    format!("{prefix}{i}")
}

fn type_of_alias(alias: &str) -> Ty {
    match alias.chars().next() {
        Some('f') => Ty::Float,
        Some('d') => Ty::Dec,
        Some('t') => Ty::Text,
        Some('a') => Ty::Date,
        Some('s') => Ty::Stamp,
        Some('b') => Ty::Bool,
        _ => Ty::Int,
    }
}

/// A write and the shapes it holds.
pub struct GeneratedWrite {
    pub write: Write,
    pub shapes: BTreeSet<&'static str>,
}

/// A write with RETURNING on `w`, a keyed copy of one table: an UPDATE (now and then with
/// FROM another table joined on the key), a DELETE, or an upsert of rows some of whose keys
/// are stored. The judge compares the rows returned and the table after.
pub fn write(rng: &mut Rng, db: &Db) -> GeneratedWrite {
    let mut shapes = BTreeSet::new();
    let mut gen = Gen {
        rng,
        db,
        shapes: &mut shapes,
        depth: 0,
        derived: Vec::new(),
        given: Vec::new(),
    };
    gen.note("write … RETURNING");
    let source = gen.rng.pick(&db.tables);
    let columns = source.columns.clone();
    let target = Rel {
        alias: "w".into(),
        columns: columns.clone(),
    };
    let settable: Vec<(String, Ty)> = columns[1..].to_vec();
    let sets_over = |gen: &mut Gen, scope: &[Rel]| {
        let mut chosen = settable.clone();
        for i in (1..chosen.len()).rev() {
            chosen.swap(i, gen.rng.below(i + 1));
        }
        chosen.truncate(1 + gen.rng.below(2.min(chosen.len())));
        chosen
            .into_iter()
            .map(|(name, ty)| {
                let value = gen.expr(ty, scope, 2);
                // Stored in its column, which types it when it is handed over untyped.
                let column = Expr::Col {
                    rel: "w".into(),
                    name: name.clone(),
                };
                let value = gen.untyped_beside(value, &column);
                (name, value)
            })
            .collect::<Vec<_>>()
    };
    let kind = match gen.rng.below(10) {
        0..=2 => {
            let filter = gen
                .rng
                .percent(80)
                .then(|| gen.predicate(std::slice::from_ref(&target), 1));
            WriteKind::Update {
                sets: sets_over(&mut gen, std::slice::from_ref(&target)),
                from: None,
                filter,
            }
        }
        3..=4 => {
            gen.note("UPDATE … FROM");
            let other = gen.rng.pick(&db.tables);
            let scope = vec![
                target.clone(),
                Rel {
                    alias: "o".into(),
                    columns: other.columns.clone(),
                },
            ];
            // Joined on the key, so each row of w meets at most one row of o (with several,
            // which one sets the row is unspecified in both references).
            let on = Expr::Bin(
                Box::new(Expr::Col {
                    rel: "o".into(),
                    name: "id".into(),
                }),
                BinOp::Eq,
                Box::new(Expr::Col {
                    rel: "w".into(),
                    name: "id".into(),
                }),
            );
            let filter = if gen.rng.percent(60) {
                Expr::Bin(Box::new(on), BinOp::And, Box::new(gen.predicate(&scope, 1)))
            } else {
                on
            };
            WriteKind::Update {
                sets: sets_over(&mut gen, &scope),
                from: Some(other.name.clone()),
                filter: Some(filter),
            }
        }
        5..=6 => {
            let filter = gen
                .rng
                .percent(85)
                .then(|| gen.predicate(std::slice::from_ref(&target), 1));
            WriteKind::Delete { filter }
        }
        _ => {
            gen.note("upsert");
            let mut ids: Vec<i64> = (1..=16).collect();
            let rows = (0..1 + gen.rng.below(4))
                .map(|_| {
                    let id = ids.remove(gen.rng.below(ids.len()));
                    let mut row = vec![Lit::Int(id)];
                    for (_, ty) in &columns[1..] {
                        row.push(if gen.rng.percent(15) {
                            Lit::Null
                        } else {
                            literal(gen.rng, *ty)
                        });
                    }
                    row
                })
                .collect();
            let excluded = Rel {
                alias: "excluded".into(),
                columns: columns.clone(),
            };
            let scope = vec![target.clone(), excluded];
            let (sets, filter) = if gen.rng.percent(25) {
                (Vec::new(), None)
            } else {
                let sets = sets_over(&mut gen, &scope);
                let filter = gen.rng.percent(40).then(|| gen.predicate(&scope, 1));
                (sets, filter)
            };
            WriteKind::Upsert { rows, sets, filter }
        }
    };
    let returning = if matches!(kind, WriteKind::Delete { .. }) && gen.rng.percent(30) {
        Vec::new()
    } else {
        let mut items = vec![(
            Expr::Col {
                rel: "w".into(),
                name: "id".into(),
            },
            "r0".to_owned(),
        )];
        for i in 1..1 + gen.rng.below(3) {
            let ty = gen.rng.pick(&[Ty::Int, Ty::Float, Ty::Dec, Ty::Text]);
            items.push((
                gen.expr(ty, std::slice::from_ref(&target), 1),
                format!("r{i}"),
            ));
        }
        items
    };
    GeneratedWrite {
        write: Write {
            source: source.name.clone(),
            columns,
            kind,
            returning,
        },
        shapes,
    }
}

#[cfg(test)]
mod tests {
    use super::rescaled;

    #[test]
    fn a_rescaled_decimal_keeps_its_value_and_changes_only_its_scale() {
        let written: Vec<String> = (0..5).map(|place| rescaled("12.50", place)).collect();
        assert_eq!(written, ["12.5", "12.50", "12.500", "12.5000", "12.5"]);
        assert_eq!(rescaled("3.00", 0), "3");
        assert_eq!(rescaled("3.00", 4), "3.0");
        assert_eq!(rescaled("-0.05", 4), "-0.05");
        assert_eq!(rescaled("-4.13", 3), "-4.1300");
    }
}
