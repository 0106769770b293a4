//! The queries the judge makes, as a small syntax tree of its own, and their SQL text in each
//! engine's dialect. Nothing here runs anything; `gen` builds these, `engines` runs the text.

use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ty {
    Int,
    Float,
    Dec,
    Text,
    Date,
    /// A TIMESTAMP (whole seconds).
    Stamp,
    Bool,
}

impl Ty {
    pub fn is_numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Float | Ty::Dec)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    Idbsql,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Int(i64),
    /// Written as its text, exact in every engine (quarters: 1.25, -0.5).
    Float(String),
    Dec(String),
    /// A fraction written as it is (`2.50`), as users write one: a NUMERIC to PostgreSQL, a
    /// REAL to SQLite, and to idbsql a DECIMAL by the binder's typing (GlueSQL reads a FLOAT).
    Numeric(String),
    Text(String),
    Date(String),
    Stamp(String),
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    /// `%`, over integers only (PostgreSQL has none for a FLOAT).
    Mod,
    Concat,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
}

impl BinOp {
    fn sql(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Concat => "||",
            BinOp::Eq => "=",
            BinOp::NotEq => "<>",
            BinOp::Lt => "<",
            BinOp::LtEq => "<=",
            BinOp::Gt => ">",
            BinOp::GtEq => ">=",
            BinOp::And => "AND",
            BinOp::Or => "OR",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    CountStar,
    Count,
    Sum,
    Min,
    Max,
    Avg,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Col {
        rel: String,
        name: String,
    },
    Lit(Lit),
    /// A literal idbsql receives as a `$n` parameter (the references see the literal).
    Param(Lit),
    /// A literal idbsql receives untyped, as users write or send one: quoted text (`'12.5'`),
    /// or a text parameter where parameters are on. It stands where its context types it;
    /// the references see the typed literal.
    Untyped(Lit),
    Bin(Box<Expr>, BinOp, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    IsNull(Box<Expr>, bool),
    InList(Box<Expr>, Vec<Expr>, bool),
    Between(Box<Expr>, Box<Expr>, Box<Expr>, bool),
    Like(Box<Expr>, String, bool),
    Case(Vec<(Expr, Expr)>, Option<Box<Expr>>),
    /// `CASE operand WHEN value THEN … [ELSE …] END`: each value compared with the operand.
    SimpleCase(Box<Expr>, Vec<(Expr, Expr)>, Option<Box<Expr>>),
    Func(&'static str, Vec<Expr>),
    Agg(Agg, Option<Box<Expr>>, bool),
    /// `aggregate FILTER (WHERE predicate)`.
    Filtered(Box<Expr>, Box<Expr>),
    /// `string_agg([DISTINCT] value, 'separator' ORDER BY value [DESC])`, the value an integer
    /// cast to text (`cast`) or a text; ordered by the value itself, so every engine's string
    /// is the one answer.
    StringAgg {
        value: Box<Expr>,
        cast: bool,
        separator: &'static str,
        desc: bool,
        distinct: bool,
    },
    Subquery(Box<Query>),
    InSub(Box<Expr>, Box<Query>, bool),
    Exists(Box<Query>, bool),
    Window(Box<Window>),
    /// `a IS [NOT] DISTINCT FROM b` (negated: `IS NOT`), written without parentheses of its
    /// own: it stands where AND / OR / NOT / WHERE take a predicate, and IS binds more tightly.
    Distinct(Box<Expr>, Box<Expr>, bool),
    /// `(a, b) op (c, d)`: rows compared field by field.
    Row(Vec<Expr>, BinOp, Vec<Expr>),
    /// `(a, b) [NOT] IN ((c, d), …)` (SQLite, which takes no list of rows, gets `IN (VALUES
    /// …)`).
    RowIn(Vec<Expr>, Vec<Vec<Expr>>, bool),
    /// `(p) IS [NOT] TRUE | FALSE` (the test written after IS): never NULL.
    Truth(Box<Expr>, &'static str),
    /// `bool_and(p)` (all: true) or `bool_or(p)`; SQLite, which has neither, is asked whether
    /// the least (greatest) of p as 1 or 0 is 1.
    BoolAgg(Box<Expr>, bool),
    /// `a - b` of two DATEs: the whole days between them (SQLite: by julianday).
    DateDiff(Box<Expr>, Box<Expr>),
    /// `date + n` for an integer `n`, a constant or any expression (a DATE; SQLite:
    /// `date(d, n || ' days')`).
    DateAdd(Box<Expr>, Box<Expr>),
    /// `EXTRACT(field FROM date)`: YEAR, MONTH, DAY, DOW, ISODOW, DOY, QUARTER (SQLite: the
    /// date formatted by strftime, read as an integer).
    Extract(&'static str, Box<Expr>),
    /// `x ± INTERVAL 'n months'` of a DATE or TIMESTAMP: a TIMESTAMP, the day clamped to the
    /// new month's last (SQLite: the smaller of the day moved within the month and the month's
    /// last day, at the time of day `x` had).
    AddMonths(Box<Expr>, i64),
    /// `CAST(x AS INTEGER)` of a FLOAT or a DECIMAL: PostgreSQL rounds (a NUMERIC half away
    /// from zero, a DOUBLE PRECISION to even); SQLite truncates, so it is written
    /// `CAST(ROUND(x) AS INTEGER)` there (half away from zero: the references differ only on a
    /// FLOAT's tie).
    IntCast(Box<Expr>),
    /// `SUBSTRING(x FROM start [FOR count])` (SQLite: `substr(x, start[, count])`).
    Substring(Box<Expr>, i64, Option<i64>),
    /// `LEFT(x, n)` (true) or `RIGHT(x, n)`: a negative `n` leaves out the last (first) `-n`
    /// characters. SQLite has neither: written with `substr`.
    EndChars(Box<Expr>, Box<Expr>, bool),
}

/// `name(args) OVER (PARTITION BY … ORDER BY … frame)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub name: &'static str,
    /// `COUNT(*)`.
    pub star: bool,
    pub args: Vec<Expr>,
    pub partition: Vec<Expr>,
    /// Each key, whether descending, and NULLS FIRST (`Some(true)`) or LAST written out, or
    /// left to the default (PostgreSQL's and idbsql's: last ascending, first descending;
    /// SQLite's is the reverse, so its text always spells it).
    pub order: Vec<(Expr, bool, Option<bool>)>,
    /// The frame clause as written, the same in every dialect.
    pub frame: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum From {
    Table {
        name: String,
        alias: String,
    },
    Derived {
        query: Box<Query>,
        alias: String,
    },
    /// A derived table written as a common table expression: `WITH name AS (query)` at the
    /// head of the statement, read here as `name AS alias`.
    Cte {
        name: String,
        query: Box<Query>,
        alias: String,
    },
    /// `WITH RECURSIVE name AS (anchor UNION [ALL] step)`, `step` reading `name`, read here as
    /// `name AS alias`.
    Recursive {
        name: String,
        anchor: Box<Query>,
        step: Box<Query>,
        all: bool,
        alias: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
    /// `FROM a, b WHERE …`: the condition joins the WHERE clause.
    Comma,
    /// `CROSS JOIN LATERAL (SELECT t.* FROM t WHERE <on>) AS t` (or `LEFT JOIN LATERAL … ON
    /// true`) over a plain table: SQLite has no LATERAL, and gets the join it equals
    /// (`[LEFT] JOIN t ON <on>`).
    LateralCross,
    LateralLeft,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub kind: JoinKind,
    pub item: From,
    pub on: Expr,
    /// `USING (column)` instead of `ON`: `on` is then the equality it stands for.
    pub using: Option<String>,
}

/// How a query's output columns get their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Labels {
    /// `expr AS alias`.
    #[default]
    Aliased,
    /// `expr AS "Alias x"`: quoted, mixed case and a space, named exactly so.
    Quoted,
    /// A column item written `rel."name"` with no alias, named `name`; others aliased.
    Bare,
}

/// The name a quoted label gives `alias`.
pub fn quoted_label(alias: &str) -> String {
    let mut chars = alias.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or('X');
    format!("{first}{} Col", chars.as_str())
}

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub distinct: bool,
    pub items: Vec<(Expr, String)>,
    /// Its output aliases are written in upper case (every engine folds unquoted names); the
    /// references to them keep their own spelling.
    pub loud: bool,
    /// How the statement's own output columns are named (the outermost select only, nothing
    /// refers to them): quoted aliases keeping their case, and plain column items unaliased.
    pub labels: Labels,
    pub from: From,
    pub joins: Vec<Join>,
    pub filter: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Option<Expr>,
    /// The first relation and its join written in parentheses, `(a JOIN b ON …) JOIN c …`
    /// (when a second join follows and the first is not a comma or LATERAL join).
    pub nest_first: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    Union,
    UnionAll,
    Intersect,
    Except,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Select(Box<Select>),
    Set(Box<Query>, SetOp, Box<Query>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub body: Body,
    /// Output column positions, from 1; every one of them, so the order is total.
    pub order_by: Vec<usize>,
    /// `NULLS FIRST` (true) or `NULLS LAST` after every ORDER BY key.
    pub nulls_first: Option<bool>,
    pub limit: Option<u32>,
}

impl Query {
    /// The query's output columns' names.
    pub fn columns(&self) -> Vec<String> {
        match &self.body {
            Body::Select(select) => select
                .items
                .iter()
                .map(|(expr, alias)| match (select.labels, expr) {
                    (Labels::Quoted, _) => quoted_label(alias),
                    (Labels::Bare, Expr::Col { name, .. }) => name.clone(),
                    _ => alias.clone(),
                })
                .collect(),
            Body::Set(left, _, _) => left.columns(),
        }
    }
}

/// A parameter's value as idbsql takes it.
pub type Params = Vec<gluesql_core::data::Value>;

/// A write on `w`, a keyed copy of one of the database's tables, with RETURNING.
#[derive(Debug, Clone)]
pub struct Write {
    /// The table copied into `w`, and its columns (the first the key).
    pub source: String,
    pub columns: Vec<(String, Ty)>,
    pub kind: WriteKind,
    /// RETURNING's items and their aliases; empty: `RETURNING *`.
    pub returning: Vec<(Expr, String)>,
}

#[derive(Debug, Clone)]
pub enum WriteKind {
    /// `UPDATE w SET … [FROM other AS o] [WHERE …]`.
    Update {
        sets: Vec<(String, Expr)>,
        from: Option<String>,
        filter: Option<Expr>,
    },
    /// `DELETE FROM w [WHERE …]`.
    Delete { filter: Option<Expr> },
    /// `INSERT INTO w VALUES … ON CONFLICT (id) DO NOTHING | DO UPDATE SET … [WHERE …]`.
    Upsert {
        rows: Vec<Vec<Lit>>,
        sets: Vec<(String, Expr)>,
        filter: Option<Expr>,
    },
}

impl Write {
    /// The names of the columns RETURNING gives.
    pub fn returned_columns(&self) -> Vec<String> {
        if self.returning.is_empty() {
            self.columns.iter().map(|(name, _)| name.clone()).collect()
        } else {
            self.returning
                .iter()
                .map(|(_, alias)| alias.clone())
                .collect()
        }
    }
}

pub struct Render {
    dialect: Dialect,
    /// Literals marked `Param` become `$n` (idbsql only).
    params: Option<Params>,
    /// Common table expressions met so far, rendered, in the order they may be defined.
    ctes: Vec<(String, String)>,
    /// One of them reads itself: the list is `WITH RECURSIVE`.
    recursive: bool,
}

impl Render {
    pub fn new(dialect: Dialect, with_params: bool) -> Self {
        Self {
            dialect,
            params: (with_params && dialect == Dialect::Idbsql).then(Vec::new),
            ctes: Vec::new(),
            recursive: false,
        }
    }

    pub fn query_text(mut self, query: &Query) -> (String, Params) {
        let mut body = String::new();
        self.query(&mut body, query);
        // Every common table expression heads the statement: visible in every subquery, and
        // each one's own (met first, while it was rendered) defined before it.
        let mut out = String::new();
        for (i, (name, text)) in self.ctes.iter().enumerate() {
            out.push_str(match (i, self.recursive) {
                (0, false) => "WITH ",
                (0, true) => "WITH RECURSIVE ",
                _ => ", ",
            });
            let _ = write!(out, "{name} AS ({text})");
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&body);
        (out, self.params.unwrap_or_default())
    }

    /// A write's SQL; `None` when an expression of it needs a WITH (not run as a write).
    pub fn write_text(mut self, write: &Write) -> Option<(String, Params)> {
        let mut out = String::new();
        let sets = |render: &mut Self, out: &mut String, sets: &[(String, Expr)]| {
            for (i, (column, value)) in sets.iter().enumerate() {
                out.push_str(if i == 0 { " SET " } else { ", " });
                let _ = write!(out, "{column} = ");
                render.expr(out, value);
            }
        };
        match &write.kind {
            WriteKind::Update {
                sets: s,
                from,
                filter,
            } => {
                out.push_str("UPDATE w");
                sets(&mut self, &mut out, s);
                if let Some(from) = from {
                    let _ = write!(out, " FROM {from} AS o");
                }
                if let Some(filter) = filter {
                    out.push_str(" WHERE ");
                    self.expr(&mut out, filter);
                }
            }
            WriteKind::Delete { filter } => {
                out.push_str("DELETE FROM w");
                if let Some(filter) = filter {
                    out.push_str(" WHERE ");
                    self.expr(&mut out, filter);
                }
            }
            WriteKind::Upsert {
                rows,
                sets: s,
                filter,
            } => {
                out.push_str("INSERT INTO w VALUES ");
                for (i, row) in rows.iter().enumerate() {
                    out.push_str(if i == 0 { "(" } else { ", (" });
                    for (j, lit) in row.iter().enumerate() {
                        if j > 0 {
                            out.push_str(", ");
                        }
                        self.param(&mut out, lit);
                    }
                    out.push(')');
                }
                if s.is_empty() {
                    out.push_str(" ON CONFLICT (id) DO NOTHING");
                } else {
                    out.push_str(" ON CONFLICT (id) DO UPDATE");
                    sets(&mut self, &mut out, s);
                    if let Some(filter) = filter {
                        out.push_str(" WHERE ");
                        self.expr(&mut out, filter);
                    }
                }
            }
        }
        if write.returning.is_empty() {
            out.push_str(" RETURNING *");
        } else {
            for (i, (value, alias)) in write.returning.iter().enumerate() {
                out.push_str(if i == 0 { " RETURNING " } else { ", " });
                self.expr(&mut out, value);
                let _ = write!(out, " AS {alias}");
            }
        }
        self.ctes
            .is_empty()
            .then(|| (out, self.params.unwrap_or_default()))
    }

    pub fn lit(&self, out: &mut String, lit: &Lit) {
        match (lit, self.dialect) {
            (Lit::Null, _) => out.push_str("NULL"),
            (Lit::Int(n), _) if *n < 0 => {
                let _ = write!(out, "({n})");
            }
            (Lit::Int(n), _) => {
                let _ = write!(out, "{n}");
            }
            (Lit::Float(text), Dialect::Postgres) => {
                let _ = write!(out, "CAST({text} AS DOUBLE PRECISION)");
            }
            (Lit::Float(text), Dialect::Idbsql) => {
                let _ = write!(out, "CAST({text} AS FLOAT)");
            }
            (Lit::Float(text), Dialect::Sqlite) => {
                let _ = write!(out, "CAST({text} AS REAL)");
            }
            (Lit::Dec(text), Dialect::Sqlite) => {
                let _ = write!(out, "({text})");
            }
            (Lit::Dec(text), Dialect::Postgres) => {
                let _ = write!(out, "CAST({text} AS NUMERIC)");
            }
            (Lit::Numeric(text), _) if text.starts_with('-') => {
                let _ = write!(out, "({text})");
            }
            (Lit::Numeric(text), _) => out.push_str(text),
            (Lit::Dec(text), Dialect::Idbsql) => {
                let _ = write!(out, "CAST('{text}' AS DECIMAL)");
            }
            (Lit::Text(text), _) => {
                let _ = write!(out, "'{}'", text.replace('\'', "''"));
            }
            (Lit::Date(text), Dialect::Sqlite) => {
                let _ = write!(out, "'{text}'");
            }
            (Lit::Date(text), _) => {
                let _ = write!(out, "DATE '{text}'");
            }
            (Lit::Stamp(text), Dialect::Sqlite) => {
                let _ = write!(out, "'{text}'");
            }
            (Lit::Stamp(text), _) => {
                let _ = write!(out, "TIMESTAMP '{text}'");
            }
            (Lit::Bool(b), _) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        }
    }

    fn param(&mut self, out: &mut String, lit: &Lit) {
        use gluesql_core::data::Value;
        let value = match lit {
            Lit::Int(n) => Some(Value::I64(*n)),
            // A JS number cannot tell 17.0 from 17, and the API binds an integral one as an
            // integer (src/api/values.rs): a FLOAT parameter users can send has a fraction.
            // An integral FLOAT literal is written, not bound.
            Lit::Float(text) => text
                .parse::<f64>()
                .ok()
                .filter(|f| f.fract() != 0.0)
                .map(Value::F64),
            Lit::Text(text) => Some(Value::Str(text.clone())),
            Lit::Bool(b) => Some(Value::Bool(*b)),
            _ => None,
        };
        match (&mut self.params, value) {
            (Some(params), Some(value)) => {
                params.push(value);
                let _ = write!(out, "${}", params.len());
            }
            _ => self.lit(out, lit),
        }
    }

    fn untyped(&mut self, out: &mut String, lit: &Lit) {
        let text = match lit {
            Lit::Int(n) => n.to_string(),
            Lit::Float(text) | Lit::Dec(text) | Lit::Numeric(text) | Lit::Date(text) => {
                text.clone()
            }
            Lit::Bool(b) => b.to_string(),
            _ => return self.lit(out, lit),
        };
        if self.dialect != Dialect::Idbsql {
            return self.lit(out, lit);
        }
        match &mut self.params {
            Some(params) => {
                params.push(gluesql_core::data::Value::Str(text));
                let _ = write!(out, "${}", params.len());
            }
            None => {
                let _ = write!(out, "'{text}'");
            }
        }
    }

    fn query(&mut self, out: &mut String, query: &Query) {
        match &query.body {
            Body::Select(select) => self.select(out, select),
            Body::Set(left, op, right) => {
                self.operand(out, left);
                out.push_str(match op {
                    SetOp::Union => " UNION ",
                    SetOp::UnionAll => " UNION ALL ",
                    SetOp::Intersect => " INTERSECT ",
                    SetOp::Except => " EXCEPT ",
                });
                self.operand(out, right);
            }
        }
        if !query.order_by.is_empty() {
            let nulls = match query.nulls_first {
                Some(true) => " NULLS FIRST",
                Some(false) => " NULLS LAST",
                None => "",
            };
            let keys: Vec<String> = query
                .order_by
                .iter()
                .map(|k| format!("{k}{nulls}"))
                .collect();
            let _ = write!(out, " ORDER BY {}", keys.join(", "));
        }
        if let Some(limit) = query.limit {
            let _ = write!(out, " LIMIT {limit}");
        }
    }

    /// An arm of a set operation: SQLite takes no parentheses there, so arms are plain
    /// selects (the generator makes them so).
    fn operand(&mut self, out: &mut String, query: &Query) {
        self.query(out, query);
    }

    fn select(&mut self, out: &mut String, select: &Select) {
        out.push_str("SELECT ");
        if select.distinct {
            out.push_str("DISTINCT ");
        }
        for (i, (expr, alias)) in select.items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match (select.labels, expr) {
                (Labels::Bare, Expr::Col { rel, name }) => {
                    let _ = write!(out, "{rel}.\"{name}\"");
                    continue;
                }
                (Labels::Quoted, _) => {
                    self.expr(out, expr);
                    let _ = write!(out, " AS \"{}\"", quoted_label(alias));
                    continue;
                }
                _ => self.expr(out, expr),
            }
            if select.loud {
                let _ = write!(out, " AS {}", alias.to_uppercase());
            } else {
                let _ = write!(out, " AS {alias}");
            }
        }
        out.push_str(" FROM ");
        let nested = select.nest_first
            && select.joins.len() >= 2
            && matches!(
                select.joins[0].kind,
                JoinKind::Inner | JoinKind::Left | JoinKind::Right | JoinKind::Full
            );
        if nested {
            out.push('(');
        }
        self.from(out, &select.from);
        let mut filter = select.filter.clone();
        for (i, join) in select.joins.iter().enumerate() {
            if nested && i == 1 {
                out.push(')');
            }
            match join.kind {
                JoinKind::Comma => {
                    out.push_str(", ");
                    self.from(out, &join.item);
                    filter = Some(match filter {
                        Some(f) => Expr::Bin(Box::new(join.on.clone()), BinOp::And, Box::new(f)),
                        None => join.on.clone(),
                    });
                }
                JoinKind::LateralCross | JoinKind::LateralLeft
                    if self.dialect != Dialect::Sqlite =>
                {
                    let left = join.kind == JoinKind::LateralLeft;
                    out.push_str(if left {
                        " LEFT JOIN LATERAL ("
                    } else {
                        " CROSS JOIN LATERAL ("
                    });
                    let From::Table { name, alias } = &join.item else {
                        unreachable!("LATERAL is generated over a plain table only")
                    };
                    let _ = write!(out, "SELECT {alias}.* FROM {name} AS {alias} WHERE ");
                    self.expr(out, &join.on);
                    let _ = write!(out, ") AS {alias}");
                    if left {
                        out.push_str(" ON true");
                    }
                }
                JoinKind::Inner
                | JoinKind::Left
                | JoinKind::Right
                | JoinKind::Full
                | JoinKind::LateralCross
                | JoinKind::LateralLeft => {
                    out.push_str(match join.kind {
                        JoinKind::Inner | JoinKind::LateralCross => " JOIN ",
                        JoinKind::Left | JoinKind::LateralLeft => " LEFT JOIN ",
                        JoinKind::Right => " RIGHT JOIN ",
                        _ => " FULL JOIN ",
                    });
                    self.from(out, &join.item);
                    match &join.using {
                        Some(column) => {
                            let _ = write!(out, " USING ({column})");
                        }
                        None => {
                            out.push_str(" ON ");
                            self.expr(out, &join.on);
                        }
                    }
                }
            }
        }
        if let Some(filter) = &filter {
            out.push_str(" WHERE ");
            self.expr(out, filter);
        }
        if !select.group_by.is_empty() {
            out.push_str(" GROUP BY ");
            for (i, group) in select.group_by.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                self.expr(out, group);
            }
        }
        if let Some(having) = &select.having {
            out.push_str(" HAVING ");
            self.expr(out, having);
        }
    }

    fn from(&mut self, out: &mut String, from: &From) {
        match from {
            From::Table { name, alias } => {
                let _ = write!(out, "{name} AS {alias}");
            }
            From::Derived { query, alias } => {
                out.push('(');
                self.query(out, query);
                let _ = write!(out, ") AS {alias}");
            }
            From::Cte { name, query, alias } => {
                let mut text = String::new();
                self.query(&mut text, query);
                self.ctes.push((name.clone(), text));
                let _ = write!(out, "{name} AS {alias}");
            }
            From::Recursive {
                name,
                anchor,
                step,
                all,
                alias,
            } => {
                let mut text = String::new();
                self.query(&mut text, anchor);
                text.push_str(if *all { " UNION ALL " } else { " UNION " });
                self.query(&mut text, step);
                self.ctes.push((name.clone(), text));
                self.recursive = true;
                let _ = write!(out, "{name} AS {alias}");
            }
        }
    }

    fn case(
        &mut self,
        out: &mut String,
        operand: Option<&Expr>,
        arms: &[(Expr, Expr)],
        otherwise: Option<&Expr>,
    ) {
        out.push_str("(CASE");
        if let Some(operand) = operand {
            out.push(' ');
            self.expr(out, operand);
        }
        for (when, then) in arms {
            out.push_str(" WHEN ");
            self.expr(out, when);
            out.push_str(" THEN ");
            self.expr(out, then);
        }
        if let Some(otherwise) = otherwise {
            out.push_str(" ELSE ");
            self.expr(out, otherwise);
        }
        out.push_str(" END)");
    }

    /// One expression's SQL, its literals written (no parameters).
    pub fn expr_text(mut self, expr: &Expr) -> String {
        let mut out = String::new();
        self.expr(&mut out, expr);
        out
    }

    fn expr(&mut self, out: &mut String, expr: &Expr) {
        match expr {
            Expr::Col { rel, name } => {
                let _ = write!(out, "{rel}.{name}");
            }
            Expr::Lit(lit) => self.lit(out, lit),
            Expr::Param(lit) => self.param(out, lit),
            Expr::Untyped(lit) => self.untyped(out, lit),
            Expr::Bin(left, op, right) => {
                out.push('(');
                self.expr(out, left);
                let _ = write!(out, " {} ", op.sql());
                self.expr(out, right);
                out.push(')');
            }
            Expr::Not(inner) => {
                out.push_str("(NOT ");
                self.expr(out, inner);
                out.push(')');
            }
            Expr::Neg(inner) => {
                out.push_str("(- ");
                self.expr(out, inner);
                out.push(')');
            }
            // `a IS DISTINCT FROM b IS NULL` is no SQL: the test of one is parenthesised.
            Expr::IsNull(inner, negated) if matches!(inner.as_ref(), Expr::Distinct(..)) => {
                out.push_str("((");
                self.expr(out, inner);
                out.push_str(if *negated {
                    ") IS NOT NULL)"
                } else {
                    ") IS NULL)"
                });
            }
            Expr::IsNull(inner, negated) => {
                out.push('(');
                self.expr(out, inner);
                out.push_str(if *negated {
                    " IS NOT NULL)"
                } else {
                    " IS NULL)"
                });
            }
            Expr::InList(inner, list, negated) => {
                out.push('(');
                self.expr(out, inner);
                out.push_str(if *negated { " NOT IN (" } else { " IN (" });
                for (i, item) in list.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.expr(out, item);
                }
                out.push_str("))");
            }
            Expr::Between(inner, low, high, negated) => {
                out.push('(');
                self.expr(out, inner);
                out.push_str(if *negated {
                    " NOT BETWEEN "
                } else {
                    " BETWEEN "
                });
                self.expr(out, low);
                out.push_str(" AND ");
                self.expr(out, high);
                out.push(')');
            }
            Expr::Like(inner, pattern, negated) => {
                out.push('(');
                self.expr(out, inner);
                let _ = write!(
                    out,
                    "{} '{}')",
                    if *negated { " NOT LIKE" } else { " LIKE" },
                    pattern
                );
            }
            Expr::Case(arms, otherwise) => self.case(out, None, arms, otherwise.as_deref()),
            Expr::SimpleCase(operand, arms, otherwise) => {
                self.case(out, Some(operand), arms, otherwise.as_deref())
            }
            Expr::Func(name @ ("GREATEST" | "LEAST"), args) if self.dialect == Dialect::Sqlite => {
                // SQLite's scalar max() / min() are NULL when an argument is, where PostgreSQL's
                // GREATEST / LEAST skip NULLs: the first non-NULL of the function over every
                // subset of the arguments, largest subsets first.
                let function = if *name == "GREATEST" { "MAX" } else { "MIN" };
                let n = args.len();
                let mut subsets: Vec<u32> = (1..1u32 << n).collect();
                subsets.sort_by_key(|set| std::cmp::Reverse(set.count_ones()));
                out.push_str("COALESCE(");
                for (i, set) in subsets.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let members: Vec<&Expr> = (0..n)
                        .filter(|k| set & (1 << k) != 0)
                        .map(|k| &args[k])
                        .collect();
                    if let [only] = members.as_slice() {
                        self.expr(out, only);
                        continue;
                    }
                    let _ = write!(out, "{function}(");
                    for (j, member) in members.iter().enumerate() {
                        if j > 0 {
                            out.push_str(", ");
                        }
                        self.expr(out, member);
                    }
                    out.push(')');
                }
                out.push(')');
            }
            Expr::Func(name, args) => {
                let _ = write!(out, "{name}(");
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.expr(out, arg);
                }
                out.push(')');
            }
            Expr::Agg(agg, arg, distinct) => {
                let name = match agg {
                    Agg::CountStar => return out.push_str("COUNT(*)"),
                    Agg::Count => "COUNT",
                    Agg::Sum => "SUM",
                    Agg::Min => "MIN",
                    Agg::Max => "MAX",
                    Agg::Avg => "AVG",
                };
                let _ = write!(out, "{name}({}", if *distinct { "DISTINCT " } else { "" });
                if let Some(arg) = arg {
                    self.expr(out, arg);
                }
                out.push(')');
            }
            Expr::StringAgg {
                value,
                cast,
                separator,
                desc,
                distinct,
            } => {
                let mut text = String::new();
                if *cast {
                    text.push_str("CAST(");
                    self.expr(&mut text, value);
                    text.push_str(" AS TEXT)");
                } else {
                    self.expr(&mut text, value);
                }
                let _ = write!(
                    out,
                    "string_agg({}{text}, '{separator}' ORDER BY {text}{})",
                    if *distinct { "DISTINCT " } else { "" },
                    if *desc { " DESC" } else { "" }
                );
            }
            Expr::Filtered(aggregate, predicate) => {
                self.expr(out, aggregate);
                out.push_str(" FILTER (WHERE ");
                self.expr(out, predicate);
                out.push(')');
            }
            Expr::Subquery(query) => {
                out.push('(');
                self.query(out, query);
                out.push(')');
            }
            Expr::InSub(inner, query, negated) => {
                out.push('(');
                self.expr(out, inner);
                out.push_str(if *negated { " NOT IN (" } else { " IN (" });
                self.query(out, query);
                out.push_str("))");
            }
            Expr::Exists(query, negated) => {
                out.push_str(if *negated {
                    "(NOT EXISTS ("
                } else {
                    "(EXISTS ("
                });
                self.query(out, query);
                out.push_str("))");
            }
            Expr::Window(window) => self.window(out, window),
            Expr::Substring(x, start, count) => {
                if self.dialect == Dialect::Sqlite {
                    out.push_str("substr(");
                    self.expr(out, x);
                    let _ = write!(out, ", {start}");
                    if let Some(count) = count {
                        let _ = write!(out, ", {count}");
                    }
                } else {
                    out.push_str("SUBSTRING(");
                    self.expr(out, x);
                    let _ = write!(out, " FROM {start}");
                    if let Some(count) = count {
                        let _ = write!(out, " FOR {count}");
                    }
                }
                out.push(')');
            }
            Expr::EndChars(x, n, left) if self.dialect == Dialect::Sqlite => {
                let mut text = String::new();
                self.expr(&mut text, x);
                let mut count = String::new();
                self.expr(&mut count, n);
                if *left {
                    let _ = write!(
                        out,
                        "(CASE WHEN {count} < 0 THEN substr({text}, 1, max(length({text}) + \
                         {count}, 0)) ELSE substr({text}, 1, {count}) END)"
                    );
                } else {
                    let _ = write!(
                        out,
                        "(CASE WHEN {count} < 0 THEN substr({text}, 1 - {count}) ELSE \
                         substr({text}, max(length({text}) - {count} + 1, 1)) END)"
                    );
                }
            }
            Expr::EndChars(x, n, left) => {
                out.push_str(if *left { "LEFT(" } else { "RIGHT(" });
                self.expr(out, x);
                // PostgreSQL's take an INTEGER, and its judge tables' integers are BIGINTs.
                let (open, close) = match self.dialect {
                    Dialect::Postgres => (", CAST(", " AS INTEGER))"),
                    _ => (", ", ")"),
                };
                out.push_str(open);
                self.expr(out, n);
                out.push_str(close);
            }
            Expr::IntCast(x) => {
                let (open, close) = match self.dialect {
                    Dialect::Sqlite => ("CAST(ROUND(", ") AS INTEGER)"),
                    Dialect::Postgres => ("CAST(", " AS BIGINT)"),
                    Dialect::Idbsql => ("CAST(", " AS INTEGER)"),
                };
                out.push_str(open);
                self.expr(out, x);
                out.push_str(close);
            }
            Expr::DateDiff(left, right) if self.dialect == Dialect::Sqlite => {
                out.push_str("CAST(julianday(");
                self.expr(out, left);
                out.push_str(") - julianday(");
                self.expr(out, right);
                out.push_str(") AS INTEGER)");
            }
            Expr::DateDiff(left, right) => {
                out.push('(');
                self.expr(out, left);
                out.push_str(" - ");
                self.expr(out, right);
                out.push(')');
            }
            Expr::DateAdd(date, days) if self.dialect == Dialect::Sqlite => {
                out.push_str("date(");
                self.expr(out, date);
                out.push_str(", (");
                self.expr(out, days);
                out.push_str(") || ' days')");
            }
            Expr::DateAdd(date, days) => {
                out.push('(');
                self.expr(out, date);
                match days.as_ref() {
                    Expr::Lit(Lit::Int(n)) if *n < 0 => {
                        let _ = write!(out, " - {})", -n);
                    }
                    Expr::Lit(_) => {
                        out.push_str(" + ");
                        self.expr(out, days);
                        out.push(')');
                    }
                    // PostgreSQL adds an INTEGER to a DATE, never a BIGINT (its INTEGER columns
                    // here).
                    _ if self.dialect == Dialect::Postgres => {
                        out.push_str(" + CAST(");
                        self.expr(out, days);
                        out.push_str(" AS INTEGER))");
                    }
                    _ => {
                        out.push_str(" + ");
                        self.expr(out, days);
                        out.push(')');
                    }
                }
            }
            Expr::AddMonths(at, months) if self.dialect == Dialect::Sqlite => {
                let mut x = String::new();
                self.expr(&mut x, at);
                let next = months + 1;
                let _ = write!(
                    out,
                    "(MIN(date({x}, 'start of month', '{months:+} months', '+' || (CAST(strftime('%d', {x}) AS INTEGER) - 1) || ' days'), date({x}, 'start of month', '{next:+} months', '-1 day')) || ' ' || time({x}))"
                );
            }
            Expr::AddMonths(at, months) => {
                out.push('(');
                self.expr(out, at);
                let (sign, n) = if *months < 0 {
                    ('-', -months)
                } else {
                    ('+', *months)
                };
                // Whole years now and then, as people write them.
                let text = match n {
                    12 => "1 year".to_owned(),
                    n if n > 12 && n % 12 == 0 => format!("{} years", n / 12),
                    n if n > 12 => format!("{} year {} months", n / 12, n % 12),
                    1 => "1 month".to_owned(),
                    n => format!("{n} months"),
                };
                let _ = write!(out, " {sign} INTERVAL '{text}')");
            }
            Expr::Extract(field, date) if self.dialect == Dialect::Sqlite => {
                let format = match *field {
                    "YEAR" => "%Y",
                    "MONTH" | "QUARTER" => "%m",
                    "DAY" => "%d",
                    "HOUR" => "%H",
                    "MINUTE" => "%M",
                    "SECOND" => "%S",
                    "DOW" => "%w",
                    "ISODOW" => "%u",
                    _ => "%j",
                };
                let mut text = String::new();
                self.expr(&mut text, date);
                // SECOND is a fraction in SQL (a NUMERIC in PostgreSQL).
                let kind = if *field == "SECOND" {
                    "REAL"
                } else {
                    "INTEGER"
                };
                let value = format!("CAST(strftime('{format}', {text}) AS {kind})");
                if *field == "QUARTER" {
                    let _ = write!(out, "(({value} + 2) / 3)");
                } else {
                    out.push_str(&value);
                }
            }
            Expr::Extract(field, date) => {
                let _ = write!(out, "EXTRACT({field} FROM ");
                self.expr(out, date);
                out.push(')');
            }
            Expr::Row(left, op, right) => {
                out.push('(');
                self.row(out, left);
                let _ = write!(out, " {} ", op.sql());
                self.row(out, right);
                out.push(')');
            }
            Expr::RowIn(left, rows, negated) => {
                out.push('(');
                self.row(out, left);
                out.push_str(if *negated { " NOT IN (" } else { " IN (" });
                if self.dialect == Dialect::Sqlite {
                    out.push_str("VALUES ");
                }
                for (i, row) in rows.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.row(out, row);
                }
                out.push_str("))");
            }
            Expr::Truth(inner, test) => {
                out.push_str("((");
                self.expr(out, inner);
                let _ = write!(out, ") IS {test})");
            }
            Expr::BoolAgg(inner, all) if self.dialect == Dialect::Sqlite => {
                let mut p = String::new();
                self.expr(&mut p, inner);
                let extreme = if *all { "MIN" } else { "MAX" };
                let _ = write!(
                    out,
                    "({extreme}(CASE WHEN {p} THEN 1 WHEN NOT {p} THEN 0 END) = 1)"
                );
            }
            Expr::BoolAgg(inner, all) => {
                out.push_str(if *all { "bool_and(" } else { "bool_or(" });
                self.expr(out, inner);
                out.push(')');
            }
            Expr::Distinct(left, right, negated) => {
                self.expr(out, left);
                out.push_str(if *negated {
                    " IS NOT DISTINCT FROM "
                } else {
                    " IS DISTINCT FROM "
                });
                self.expr(out, right);
            }
        }
    }

    fn row(&mut self, out: &mut String, fields: &[Expr]) {
        out.push('(');
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.expr(out, field);
        }
        out.push(')');
    }

    fn window(&mut self, out: &mut String, window: &Window) {
        let _ = write!(out, "({}(", window.name);
        if window.star {
            out.push('*');
        }
        for (i, arg) in window.args.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.expr(out, arg);
        }
        out.push_str(") OVER (");
        let mut space = "";
        for (i, key) in window.partition.iter().enumerate() {
            out.push_str(if i == 0 { "PARTITION BY " } else { ", " });
            self.expr(out, key);
            space = " ";
        }
        for (i, (key, desc, nulls_first)) in window.order.iter().enumerate() {
            out.push_str(if i == 0 { space } else { ", " });
            if i == 0 {
                out.push_str("ORDER BY ");
            }
            self.expr(out, key);
            if *desc {
                out.push_str(" DESC");
            }
            let nulls_first = match (nulls_first, self.dialect) {
                (Some(first), _) => Some(*first),
                (None, Dialect::Sqlite) => Some(*desc),
                (None, _) => None,
            };
            match nulls_first {
                Some(true) => out.push_str(" NULLS FIRST"),
                Some(false) => out.push_str(" NULLS LAST"),
                None => {}
            }
            space = " ";
        }
        if let Some(frame) = window.frame {
            let _ = write!(out, "{space}{frame}");
        }
        out.push_str("))");
    }
}

/// A table's DDL in `dialect`.
pub fn create_table(dialect: Dialect, name: &str, columns: &[(String, Ty)]) -> String {
    create_table_with(dialect, name, columns, true, None)
}

/// `CREATE TABLE` without a key, one column given `DEFAULT (sql)`.
pub fn create_table_defaulting(
    dialect: Dialect,
    name: &str,
    columns: &[(String, Ty)],
    default: Option<(&str, String)>,
) -> String {
    create_table_with(dialect, name, columns, false, default)
}

/// `CREATE TABLE`, its first column the primary key when `keyed`.
fn create_table_with(
    dialect: Dialect,
    name: &str,
    columns: &[(String, Ty)],
    keyed: bool,
    default: Option<(&str, String)>,
) -> String {
    let mut parts = Vec::new();
    for (i, (column, ty)) in columns.iter().enumerate() {
        let type_name = match (ty, dialect) {
            (Ty::Int, Dialect::Postgres) => "BIGINT",
            (Ty::Int, _) => "INTEGER",
            (Ty::Float, Dialect::Postgres) => "DOUBLE PRECISION",
            (Ty::Float, Dialect::Sqlite) => "REAL",
            (Ty::Float, Dialect::Idbsql) => "FLOAT",
            // Unconstrained, as DECIMAL is in idbsql and NUMERIC in SQLite: a recursive WITH mixing
            // a column with a computed NUMERIC is one type, and a stored sum is not rounded.
            (Ty::Dec, Dialect::Postgres) => "NUMERIC",
            (Ty::Dec, Dialect::Sqlite) => "NUMERIC",
            (Ty::Dec, Dialect::Idbsql) => "DECIMAL",
            (Ty::Text, _) => "TEXT",
            (Ty::Bool, _) => "BOOLEAN",
            (Ty::Date, Dialect::Sqlite) => "TEXT",
            (Ty::Date, _) => "DATE",
            (Ty::Stamp, Dialect::Sqlite) => "TEXT",
            (Ty::Stamp, _) => "TIMESTAMP",
        };
        let key = if i == 0 && keyed { " PRIMARY KEY" } else { "" };
        let default = match &default {
            Some((of, sql)) if of == column => format!(" DEFAULT ({sql})"),
            _ => String::new(),
        };
        parts.push(format!("{column} {type_name}{key}{default}"));
    }
    format!("CREATE TABLE {name} ({})", parts.join(", "))
}
