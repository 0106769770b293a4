//! PostgreSQL's JSON operators and functions (and SQLite's `json_extract`) over JSON text and
//! GlueSQL values: what each computes for one row's arguments. Knows no SQL syntax; the
//! engine decides which call runs where (engine/json_calls.rs).

use {
    super::{parse, quote_into, JsonKind, Kind, Node},
    gluesql_core::data::Value,
    std::fmt::Write,
};

/// One JSON operator or function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `->` (`text: false`) and `->>` (`text: true`): a member or element.
    Get { text: bool },
    /// `#>` and `#>>`: the value at a path (a text array literal, or one argument a step).
    Path { text: bool },
    /// `@>`: whether the left value contains the right one (jsonb's containment).
    Contains,
    /// `json_typeof` / `jsonb_typeof`.
    TypeOf,
    /// `json_array_length` / `jsonb_array_length`.
    ArrayLength,
    /// `json_build_object` / `jsonb_build_object`.
    BuildObject(JsonKind),
    /// `json_build_array` / `jsonb_build_array`.
    BuildArray(JsonKind),
    /// `CAST(x AS JSON)`, `x::jsonb`, `to_json(x)` is not this (text stays text here).
    Cast(JsonKind),
    /// `to_json` / `to_jsonb`: any value as a JSON value.
    ToJson(JsonKind),
    /// SQLite's `json_extract(json, path, …)`.
    Extract,
    /// One element of `json_agg` / `jsonb_agg`: the value's JSON text, `null` for NULL (the
    /// aggregate is a string_agg of these, engine/json_calls.rs).
    Element(JsonKind),
    /// The aggregate's elements joined by `, ` made an array; NULL (no rows) stays NULL.
    ArrayOf(JsonKind),
    /// `row_to_json(t)`: the row's columns as an object, written without spaces; the engine
    /// hands in names and values as json_build_object's arguments.
    RowObject,
    /// `=` (`equal: true`) and `<>` of JSON values, as jsonb compares them: members whatever
    /// their order, numbers by value.
    Equals { equal: bool },
    /// jsonb's `?` (one key), `?|` (any of a text array), `?&` (all of it): top-level keys of
    /// an object, or string elements of an array.
    HasKey(Keys),
    /// `jsonb_set(target, path, value [, create_if_missing])`.
    Set,
    /// One row of `json_agg(t)`: PostgreSQL starts each row after the first on a new line
    /// (`[{…}, \n {…}]`); the row's text is marked for `ArrayOf` to place that break.
    RowElement,
}

/// Marks a `RowElement`: a control character no JSON text holds.
const ROW_MARK: char = '\u{1}';

/// Which keys `?`, `?|` and `?&` ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    One,
    Any,
    All,
}

impl Op {
    /// The internal name an engine call carries this operator under, and back.
    pub fn name(self) -> &'static str {
        match self {
            Op::Get { text: false } => "get",
            Op::Get { text: true } => "get_text",
            Op::Path { text: false } => "path",
            Op::Path { text: true } => "path_text",
            Op::Contains => "contains",
            Op::TypeOf => "typeof",
            Op::ArrayLength => "array_length",
            Op::BuildObject(JsonKind::Json) => "build_object",
            Op::BuildObject(JsonKind::Jsonb) => "build_objectb",
            Op::BuildArray(JsonKind::Json) => "build_array",
            Op::BuildArray(JsonKind::Jsonb) => "build_arrayb",
            Op::Cast(JsonKind::Json) => "cast",
            Op::Cast(JsonKind::Jsonb) => "castb",
            Op::ToJson(JsonKind::Json) => "to_json",
            Op::ToJson(JsonKind::Jsonb) => "to_jsonb",
            Op::Extract => "extract",
            Op::Element(JsonKind::Json) => "element",
            Op::Element(JsonKind::Jsonb) => "elementb",
            Op::ArrayOf(JsonKind::Json) => "array_of",
            Op::ArrayOf(JsonKind::Jsonb) => "array_ofb",
            Op::RowObject => "row_object",
            Op::Equals { equal: true } => "equals",
            Op::Equals { equal: false } => "not_equals",
            Op::HasKey(Keys::One) => "has_key",
            Op::HasKey(Keys::Any) => "has_any_key",
            Op::HasKey(Keys::All) => "has_all_keys",
            Op::Set => "set",
            Op::RowElement => "row_element",
        }
    }

    pub fn named(name: &str) -> Option<Op> {
        const ALL: [Op; 28] = [
            Op::Get { text: false },
            Op::Get { text: true },
            Op::Path { text: false },
            Op::Path { text: true },
            Op::Contains,
            Op::TypeOf,
            Op::ArrayLength,
            Op::BuildObject(JsonKind::Json),
            Op::BuildObject(JsonKind::Jsonb),
            Op::BuildArray(JsonKind::Json),
            Op::BuildArray(JsonKind::Jsonb),
            Op::Cast(JsonKind::Json),
            Op::Cast(JsonKind::Jsonb),
            Op::ToJson(JsonKind::Json),
            Op::ToJson(JsonKind::Jsonb),
            Op::Extract,
            Op::Element(JsonKind::Json),
            Op::Element(JsonKind::Jsonb),
            Op::ArrayOf(JsonKind::Json),
            Op::ArrayOf(JsonKind::Jsonb),
            Op::RowObject,
            Op::Equals { equal: true },
            Op::Equals { equal: false },
            Op::HasKey(Keys::One),
            Op::HasKey(Keys::Any),
            Op::HasKey(Keys::All),
            Op::Set,
            Op::RowElement,
        ];
        ALL.into_iter().find(|op| op.name() == name)
    }
}

/// `op` over one row's arguments; `json_args[i]` tells that argument `i` is a JSON value
/// (its text is JSON, not a string to quote). Errors are messages for the user.
pub fn apply(op: Op, args: &[Value], json_args: &[bool]) -> Result<Value, String> {
    let is_json = |i: usize| json_args.get(i).copied().unwrap_or(false);
    match op {
        Op::BuildObject(kind) => return build_object(kind, args, is_json, (" : ", ", ")),
        Op::RowObject => return build_object(JsonKind::Json, args, is_json, (":", ",")),
        Op::BuildArray(kind) => {
            let mut out = String::from("[");
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                to_json_into(arg, is_json(i), &mut out)?;
            }
            out.push(']');
            return finish(kind, out);
        }
        Op::RowElement => {
            let mut out = String::from(ROW_MARK);
            to_json_into(args.first().unwrap_or(&Value::Null), true, &mut out)?;
            return Ok(Value::Str(out));
        }
        Op::Element(_) => {
            let mut out = String::new();
            to_json_into(args.first().unwrap_or(&Value::Null), is_json(0), &mut out)?;
            return Ok(Value::Str(out));
        }
        Op::ToJson(kind) => {
            let Some(arg) = args.first() else {
                return Err("to_json takes one argument".into());
            };
            if arg.is_null() {
                return Ok(Value::Null);
            }
            let mut out = String::new();
            to_json_into(arg, is_json(0), &mut out)?;
            return finish(kind, out);
        }
        _ => {}
    }
    // Every other operator is NULL when an argument is.
    if args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let text = match args.first() {
        Some(Value::Str(text)) => text.as_str(),
        Some(other) if matches!(op, Op::Cast(_)) => {
            return Err(format!("cannot cast {} to json", kind_name(other)))
        }
        _ => return Err("the left operand of a JSON operator must be JSON text".into()),
    };
    if let Op::Cast(kind) = op {
        return kind.stored(text).map(Value::Str);
    }
    if let Op::ArrayOf(kind) = op {
        let rows = text
            .strip_prefix(ROW_MARK)
            .unwrap_or(text)
            .replace(ROW_MARK, "\n ");
        return finish(kind, format!("[{rows}]"));
    }
    let node = parse(text)?;
    match op {
        Op::Get { text: as_text } => {
            let selector = args.get(1).ok_or("-> takes a key or an index")?;
            let found = step(&node, selector)?;
            Ok(answer(found, text, as_text))
        }
        Op::Path { text: as_text } => {
            let steps = path_steps(&args[1..])?;
            let mut at = Some(&node);
            for step_value in &steps {
                at = at.and_then(|n| match &n.kind {
                    Kind::Object(_) => n.member(step_value),
                    Kind::Array(_) => step_value
                        .trim()
                        .parse::<i64>()
                        .ok()
                        .and_then(|i| n.element(i)),
                    _ => None,
                });
            }
            Ok(answer(at, text, as_text))
        }
        Op::Contains => {
            let Some(Value::Str(other)) = args.get(1) else {
                return Err("the right operand of @> must be JSON text".into());
            };
            let other_node = parse(other)?;
            Ok(Value::Bool(contains(&node, text, &other_node, other, true)))
        }
        Op::TypeOf => Ok(Value::Str(node.type_name().into())),
        Op::ArrayLength => match &node.kind {
            Kind::Array(items) => Ok(Value::I64(items.len() as i64)),
            Kind::Object(_) => Err("cannot get array length of a non-array".into()),
            _ => Err("cannot get array length of a scalar".into()),
        },
        Op::Extract => extract(&node, text, &args[1..]),
        Op::HasKey(keys) => {
            let wanted = match (keys, args.get(1)) {
                (Keys::One, Some(Value::Str(key))) => vec![key.clone()],
                (_, Some(Value::Str(literal))) => array_literal(literal)?,
                _ => return Err("a JSON key test takes text".into()),
            };
            let has = |key: &String| match &node.kind {
                Kind::Object(_) => node.member(key).is_some(),
                Kind::Array(items) => items
                    .iter()
                    .any(|item| matches!(&item.kind, Kind::String(s) if s == key)),
                Kind::String(s) => s == key,
                _ => false,
            };
            Ok(Value::Bool(match keys {
                Keys::All => wanted.iter().all(has),
                Keys::One | Keys::Any => wanted.iter().any(has),
            }))
        }
        Op::Set => {
            let (Some(Value::Str(path)), Some(Value::Str(value))) = (args.get(1), args.get(2))
            else {
                return Err(
                    "jsonb_set takes a JSON value, a text array path and a JSON value".into(),
                );
            };
            let create = match args.get(3) {
                None => true,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err("jsonb_set's fourth argument is a boolean".into()),
            };
            let steps = array_literal(path)?;
            let new = parse(value)?;
            let mut out = String::new();
            set_into(
                &node,
                text,
                &steps,
                (&new, value.as_str()),
                create,
                &mut out,
            )?;
            finish(JsonKind::Jsonb, out)
        }
        Op::Equals { equal } => {
            let Some(Value::Str(other)) = args.get(1) else {
                return Err("a JSON value compares with JSON text".into());
            };
            let other_node = parse(other)?;
            Ok(Value::Bool(same(&node, text, &other_node, other) == equal))
        }
        Op::BuildObject(_)
        | Op::BuildArray(_)
        | Op::ToJson(_)
        | Op::Cast(_)
        | Op::Element(_)
        | Op::ArrayOf(_)
        | Op::RowObject
        | Op::RowElement => Err("internal: JSON builder reached the operators".into()),
    }
}

fn kind_name(value: &Value) -> String {
    value
        .get_type()
        .map_or_else(|| "NULL".to_owned(), |t| t.to_string())
}

fn finish(kind: JsonKind, text: String) -> Result<Value, String> {
    Ok(Value::Str(match kind {
        JsonKind::Json => text,
        JsonKind::Jsonb => parse(&text)?.jsonb(&text),
    }))
}

/// `->`'s step: a key of an object (text), or an element of an array (an integer).
fn step<'n>(node: &'n Node, selector: &Value) -> Result<Option<&'n Node>, String> {
    Ok(match selector {
        Value::Str(key) => node.member(key),
        other => match integer(other) {
            // PostgreSQL's json answers NULL here and its jsonb the scalar itself (for 0 and
            // -1); the text does not say which type it came from, so neither is guessed.
            Some(_) if !matches!(node.kind, Kind::Array(_) | Kind::Object(_)) => {
                return Err(
                    "an array index on a JSON scalar is not supported (PostgreSQL's json and jsonb answer it differently)"
                        .into(),
                )
            }
            Some(index) => node.element(index),
            None => {
                return Err(format!(
                    "a JSON key must be text or an integer index, not {}",
                    kind_name(other)
                ))
            }
        },
    })
}

fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::I8(v) => Some(i64::from(*v)),
        Value::I16(v) => Some(i64::from(*v)),
        Value::I32(v) => Some(i64::from(*v)),
        Value::I64(v) => Some(*v),
        Value::I128(v) => i64::try_from(*v).ok(),
        Value::U8(v) => Some(i64::from(*v)),
        Value::U16(v) => Some(i64::from(*v)),
        Value::U32(v) => Some(i64::from(*v)),
        Value::U64(v) => i64::try_from(*v).ok(),
        Value::U128(v) => i64::try_from(*v).ok(),
        _ => None,
    }
}

/// What `->` / `->>` answer for the value found: JSON text, or (`->>`) its text, NULL for
/// JSON null.
fn answer(found: Option<&Node>, source: &str, as_text: bool) -> Value {
    match found {
        None => Value::Null,
        Some(node) if as_text => match &node.kind {
            Kind::Null => Value::Null,
            Kind::String(s) => Value::Str(s.clone()),
            _ => Value::Str(node.text(source).to_owned()),
        },
        Some(node) => Value::Str(node.text(source).to_owned()),
    }
}

/// `#>`'s steps: one argument holding a text array literal (`'{a,0,b}'`), or one argument per
/// step.
fn path_steps(args: &[Value]) -> Result<Vec<String>, String> {
    if let [Value::Str(literal)] = args {
        if literal.trim_start().starts_with('{') {
            return array_literal(literal);
        }
    }
    args.iter()
        .map(|a| match a {
            Value::Str(s) => Ok(s.clone()),
            other => integer(other)
                .map(|i| i.to_string())
                .ok_or_else(|| format!("a JSON path step must be text, not {}", kind_name(other))),
        })
        .collect()
}

/// PostgreSQL's text array literal `{a,"b c",0}` as its elements.
fn array_literal(text: &str) -> Result<Vec<String>, String> {
    let malformed = || format!("malformed array literal: \"{text}\"");
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(malformed)?;
    let mut out = Vec::new();
    if inner.trim().is_empty() {
        return Ok(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut item = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(malformed()),
                    Some('"') => break,
                    Some('\\') => item.push(chars.next().ok_or_else(malformed)?),
                    Some(c) => item.push(c),
                }
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '{' || c == '}' || c == '"' {
                    return Err(malformed());
                }
                item.push(c);
                chars.next();
            }
            item = item.trim().to_owned();
            if item.is_empty() || item.eq_ignore_ascii_case("null") {
                return Err(malformed());
            }
        }
        out.push(item);
        match chars.next() {
            None => return Ok(out),
            Some(',') => {}
            Some(_) => return Err(malformed()),
        }
    }
}

/// jsonb's `@>`: every member / element of `b` is contained in `a`; scalars are equal (numbers
/// by value). At the top, an array contains a scalar it holds.
fn contains(a: &Node, a_text: &str, b: &Node, b_text: &str, top: bool) -> bool {
    match (&a.kind, &b.kind) {
        (Kind::Object(_), Kind::Object(_)) => b.jsonb_members().into_iter().all(|(key, bv)| {
            a.member(key)
                .is_some_and(|av| contains(av, a_text, bv, b_text, false))
        }),
        (Kind::Array(items), Kind::Array(wanted)) => wanted.iter().all(|w| {
            items.iter().any(|item| {
                // Inside arrays, a scalar matches only a scalar, an array only an array.
                std::mem::discriminant(&item.kind) == std::mem::discriminant(&w.kind)
                    && contains(item, a_text, w, b_text, false)
            })
        }),
        (Kind::Array(items), _) if top && !matches!(b.kind, Kind::Object(_)) => items
            .iter()
            .any(|item| contains(item, a_text, b, b_text, false)),
        (Kind::Null, Kind::Null) => true,
        (Kind::Bool(x), Kind::Bool(y)) => x == y,
        (Kind::String(x), Kind::String(y)) => x == y,
        (Kind::Number, Kind::Number) => {
            number_value(a.text(a_text)) == number_value(b.text(b_text))
        }
        _ => false,
    }
}

/// `node` written with the value at `steps` replaced by (or, when `create`, a missing last
/// step given) `new`, as jsonb_set does; any other missing step leaves it as it is.
fn set_into(
    node: &Node,
    source: &str,
    steps: &[String],
    new: (&Node, &str),
    create: bool,
    out: &mut String,
) -> Result<(), String> {
    let Some((step, rest)) = steps.split_first() else {
        out.push_str(new.0.text(new.1));
        return Ok(());
    };
    match &node.kind {
        Kind::Object(_) => {
            let members = node.jsonb_members();
            let found = members.iter().any(|(k, _)| k == step);
            out.push('{');
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                quote_into(key, out);
                out.push_str(": ");
                if key == step {
                    set_into(value, source, rest, new, create, out)?;
                } else {
                    out.push_str(value.text(source));
                }
            }
            if !found && create && rest.is_empty() {
                if !members.is_empty() {
                    out.push_str(", ");
                }
                quote_into(step, out);
                out.push_str(": ");
                out.push_str(new.0.text(new.1));
            }
            out.push('}');
        }
        Kind::Array(items) => {
            let index: i64 = step
                .trim()
                .parse()
                .map_err(|_| format!("a path step into an array is not an integer: \"{step}\""))?;
            let len = items.len() as i64;
            let at = if index < 0 { len + index } else { index };
            let mut written = Vec::with_capacity(items.len() + 1);
            for (i, item) in items.iter().enumerate() {
                let mut text = String::new();
                if i as i64 == at {
                    set_into(item, source, rest, new, create, &mut text)?;
                } else {
                    text.push_str(item.text(source));
                }
                written.push(text);
            }
            if create && rest.is_empty() && !(0..len).contains(&at) {
                let new_text = new.0.text(new.1).to_owned();
                if at < 0 {
                    written.insert(0, new_text);
                } else {
                    written.push(new_text);
                }
            }
            out.push('[');
            out.push_str(&written.join(", "));
            out.push(']');
        }
        _ => out.push_str(node.text(source)),
    }
    Ok(())
}

/// jsonb's equality: the same kind, objects with the same members (each key's last value),
/// arrays element by element, numbers by value.
fn same(a: &Node, a_text: &str, b: &Node, b_text: &str) -> bool {
    match (&a.kind, &b.kind) {
        (Kind::Object(_), Kind::Object(_)) => {
            let (x, y) = (a.jsonb_members(), b.jsonb_members());
            x.len() == y.len()
                && x.iter()
                    .zip(&y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && same(vx, a_text, vy, b_text))
        }
        (Kind::Array(x), Kind::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, a_text, q, b_text))
        }
        (Kind::Number, Kind::Number) => {
            number_value(a.text(a_text)) == number_value(b.text(b_text))
        }
        (x, y) => x == y,
    }
}

fn number_value(text: &str) -> Option<bigdecimal::BigDecimal> {
    super::number_text(text).parse().ok()
}

/// An object of key / value argument pairs; `separators` between a key and its value and
/// between members (json_build_object spaces them, row_to_json does not).
fn build_object(
    kind: JsonKind,
    args: &[Value],
    is_json: impl Fn(usize) -> bool,
    separators: (&str, &str),
) -> Result<Value, String> {
    if !args.len().is_multiple_of(2) {
        return Err("argument list must have even number of elements".into());
    }
    let mut out = String::from("{");
    for (pair, chunk) in args.chunks(2).enumerate() {
        if pair > 0 {
            out.push_str(separators.1);
        }
        let key = match &chunk[0] {
            Value::Null => return Err(format!("argument {}: key must not be null", pair * 2 + 1)),
            Value::Str(s) => s.clone(),
            other => scalar_text(other)?,
        };
        quote_into(&key, &mut out);
        out.push_str(separators.0);
        to_json_into(&chunk[1], is_json(pair * 2 + 1), &mut out)?;
    }
    out.push('}');
    finish(kind, out)
}

/// A value's text as a key: numbers and booleans as PostgreSQL prints them.
fn scalar_text(value: &Value) -> Result<String, String> {
    let mut out = String::new();
    to_json_into(value, false, &mut out)?;
    Ok(match value {
        Value::Str(s) => s.clone(),
        _ if out.starts_with('"') => match parse(&out)?.kind {
            Kind::String(s) => s,
            _ => out,
        },
        _ => out,
    })
}

/// `value` as JSON, appended to `out`: `is_json` text as it is, other text quoted.
pub fn to_json_into(value: &Value, is_json: bool, out: &mut String) -> Result<(), String> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Str(s) if is_json => {
            parse(s)?;
            out.push_str(s)
        }
        Value::Str(s) => quote_into(s, out),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        v if crate::kinds::is_integer_value(v) => out.push_str(&String::from(v)),
        Value::F32(f) => float_into(f64::from(*f), out),
        Value::F64(f) => float_into(*f, out),
        Value::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        Value::Date(_) | Value::Time(_) | Value::Uuid(_) | Value::Inet(_) => {
            quote_into(&String::from(value), out)
        }
        Value::Timestamp(t) => quote_into(&t.format("%Y-%m-%dT%H:%M:%S%.f").to_string(), out),
        Value::Bytea(bytes) => {
            let mut hex = String::from("\\x");
            for b in bytes {
                let _ = write!(hex, "{b:02x}");
            }
            quote_into(&hex, out)
        }
        other => {
            return Err(format!(
                "a {} value cannot be turned into JSON",
                kind_name(other)
            ))
        }
    }
    Ok(())
}

/// A float as PostgreSQL's float8 prints it in JSON: the shortest exact digits, an exponent
/// (two digits at least) below 1e-4 and from 1e15; NaN and infinities as strings.
fn float_into(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("\"NaN\"");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        });
    } else if f == 0.0 || (1e-4..1e15).contains(&f.abs()) {
        let _ = write!(out, "{f}");
    } else {
        let formatted = format!("{f:e}");
        let (mantissa, exponent) = formatted.split_once('e').unwrap_or((&formatted, "0"));
        let exponent: i32 = exponent.parse().unwrap_or(0);
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "{mantissa}e{sign}{:02}", exponent.abs());
    }
}

/// SQLite's `json_extract`: one path gives the SQL value there (text for a string, a number,
/// 1 / 0 for true / false, JSON text for an object or array); several give a JSON array.
fn extract(node: &Node, source: &str, paths: &[Value]) -> Result<Value, String> {
    let mut found = Vec::with_capacity(paths.len());
    for path in paths {
        let Value::Str(path) = path else {
            return Err("a JSON path must be text".into());
        };
        found.push(sqlite_path(node, path)?);
    }
    if let [one] = found.as_slice() {
        return Ok(match one {
            None => Value::Null,
            Some(node) => match &node.kind {
                Kind::Null => Value::Null,
                Kind::Bool(b) => Value::I64(i64::from(*b)),
                Kind::String(s) => Value::Str(s.clone()),
                Kind::Number => {
                    let text = node.text(source);
                    match text.parse::<i64>() {
                        Ok(i) => Value::I64(i),
                        Err(_) => Value::F64(text.parse::<f64>().map_err(|e| e.to_string())?),
                    }
                }
                Kind::Array(_) | Kind::Object(_) => Value::Str(minified(node, source)),
            },
        });
    }
    let mut out = String::from("[");
    for (i, node) in found.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match node {
            None => out.push_str("null"),
            Some(node) => out.push_str(&minified(node, source)),
        }
    }
    out.push(']');
    Ok(Value::Str(out))
}

/// The value at an SQLite JSON path: `$`, then `.key`, `."key"`, `[n]`, `[#-n]`.
fn sqlite_path<'n>(node: &'n Node, path: &str) -> Result<Option<&'n Node>, String> {
    let bad = || format!("bad JSON path: '{path}'");
    let mut rest = path.strip_prefix('$').ok_or_else(bad)?;
    let mut at = Some(node);
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let (key, tail) = if let Some(quoted) = after.strip_prefix('"') {
                let end = quoted.find('"').ok_or_else(bad)?;
                (&quoted[..end], &quoted[end + 1..])
            } else {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                if end == 0 {
                    return Err(bad());
                }
                (&after[..end], &after[end..])
            };
            at = at.and_then(|n| match &n.kind {
                Kind::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            });
            rest = tail;
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(bad)?;
            let inside = after[..end].trim();
            // `[n]` counts from the start, `[#-n]` from the end (`[#]` is one past it).
            let index = if let Some(back) = inside.strip_prefix('#') {
                let back = back.trim();
                let from_end: usize = if back.is_empty() {
                    0
                } else {
                    back.strip_prefix('-')
                        .and_then(|n| n.trim().parse::<usize>().ok())
                        .ok_or_else(bad)?
                };
                Err(from_end)
            } else {
                Ok(inside.parse::<usize>().map_err(|_| bad())?)
            };
            at = at.and_then(|n| match &n.kind {
                Kind::Array(items) => match index {
                    Ok(i) => items.get(i),
                    Err(back) => items.len().checked_sub(back).and_then(|i| items.get(i)),
                },
                _ => None,
            });
            rest = &after[end + 1..];
        } else {
            return Err(bad());
        }
    }
    Ok(at)
}

/// SQLite's minified JSON: the value's text without the spaces between tokens.
fn minified(node: &Node, source: &str) -> String {
    let text = node.text(source);
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}
