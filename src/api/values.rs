//! Values at the JS edge: GlueSQL values to JS (see the README's type table) and JS
//! parameters back to values. Integers beyond ±2^53 become BigInt so no digit is lost.

use {
    crate::{
        error::{DbError, ErrorCode},
        packed_rows::PackedRows,
    },
    gluesql_core::{
        chrono::{DateTime, NaiveDateTime},
        data::{Interval, Value},
    },
    js_sys::{Array, BigInt, Date, Object, Reflect, Uint8Array},
    std::collections::BTreeMap,
    wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue},
};

const MAX_SAFE: i128 = (1 << 53) - 1;

/// A BigInt from decimal digits (any width), or the digits as a string if BigInt is missing.
fn big_integer(digits: String) -> JsValue {
    BigInt::new(&JsValue::from_str(&digits)).map_or_else(|_| JsValue::from_str(&digits), Into::into)
}

fn integer(v: i128) -> JsValue {
    if (-MAX_SAFE..=MAX_SAFE).contains(&v) {
        JsValue::from(v as f64)
    } else {
        big_integer(v.to_string())
    }
}

fn unsigned(v: u128) -> JsValue {
    match i128::try_from(v) {
        Ok(v) => integer(v),
        Err(_) => big_integer(v.to_string()),
    }
}

/// ISO 8601 duration, e.g. `P1Y2M` or `-P1DT2H3M4.5S`.
fn interval_iso(interval: &Interval) -> String {
    match *interval {
        Interval::Month(months) => {
            let sign = if months < 0 { "-" } else { "" };
            let months = months.unsigned_abs();
            format!("{sign}P{}Y{}M", months / 12, months % 12)
        }
        Interval::Microsecond(micros) => {
            let sign = if micros < 0 { "-" } else { "" };
            let micros = micros.unsigned_abs();
            let days = micros / 86_400_000_000;
            let rest = micros % 86_400_000_000;
            let hours = rest / 3_600_000_000;
            let minutes = rest % 3_600_000_000 / 60_000_000;
            let seconds = rest % 60_000_000;
            let whole = seconds / 1_000_000;
            let fraction = seconds % 1_000_000;
            let seconds = if fraction == 0 {
                format!("{whole}")
            } else {
                format!("{whole}.{fraction:06}")
                    .trim_end_matches('0')
                    .to_owned()
            };
            format!("{sign}P{days}DT{hours}H{minutes}M{seconds}S")
        }
    }
}

pub fn value_to_js(value: &Value) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Bool(v) => JsValue::from_bool(*v),
        Value::I8(v) => JsValue::from(*v),
        Value::I16(v) => JsValue::from(*v),
        Value::I32(v) => JsValue::from(*v),
        Value::I64(v) => integer(i128::from(*v)),
        Value::I128(v) => integer(*v),
        Value::U8(v) => JsValue::from(*v),
        Value::U16(v) => JsValue::from(*v),
        Value::U32(v) => JsValue::from(*v),
        Value::U64(v) => unsigned(u128::from(*v)),
        Value::U128(v) => unsigned(*v),
        Value::F32(v) => JsValue::from(f64::from(*v)),
        Value::F64(v) => JsValue::from(*v),
        Value::Decimal(v) => JsValue::from_str(&v.to_string()),
        Value::Str(v) => JsValue::from_str(v),
        Value::Bytea(v) => Uint8Array::from(v.as_slice()).into(),
        Value::Inet(v) => JsValue::from_str(&v.to_string()),
        Value::Date(v) => JsValue::from_str(&v.format("%Y-%m-%d").to_string()),
        Value::Timestamp(v) => JsValue::from_str(&v.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
        Value::Time(v) => JsValue::from_str(&v.format("%H:%M:%S%.f").to_string()),
        Value::Interval(v) => JsValue::from_str(&interval_iso(v)),
        Value::Uuid(v) => JsValue::from_str(&uuid::Uuid::from_u128(*v).hyphenated().to_string()),
        Value::Map(map) => {
            let object = Object::new();
            for (key, value) in map {
                let _ = Reflect::set(&object, &JsValue::from_str(key), &value_to_js(value));
            }
            object.into()
        }
        Value::List(items) => items.iter().map(value_to_js).collect::<Array>().into(),
        Value::Point(point) => {
            let object = Object::new();
            let _ = Reflect::set(&object, &"x".into(), &point.x.into());
            let _ = Reflect::set(&object, &"y".into(), &point.y.into());
            object.into()
        }
    }
}

/// Rows as plain objects keyed by column name (a later column of the same name wins).
/// A JS string for `text`, made once and kept: result keys, column names and type names repeat
/// call after call, and each fresh one is a UTF-8 decode and a string in the JS heap.
pub fn js_str(text: &str) -> JsValue {
    thread_local! {
        static MADE: std::cell::RefCell<std::collections::HashMap<String, JsValue>> =
            std::cell::RefCell::default();
    }
    MADE.with(|made| {
        let mut made = made.borrow_mut();
        if let Some(value) = made.get(text) {
            return value.clone();
        }
        // Names are few in an app; a flood of distinct ones (generated aliases) starts over.
        if made.len() >= 4096 {
            made.clear();
        }
        let value = JsValue::from_str(text);
        made.insert(text.to_owned(), value.clone());
        value
    })
}

// Rows cross to JS packed: one tag per value, numbers in one array, text in one string, and
// only the rare kinds one by one; a snippet builds the rows. Value by value, a 10,000-row
// result cost 50,000+ calls between wasm and JS and one text decode per string (3 ms for two
// numeric columns, 9 ms with one text column, in Chromium).
#[wasm_bindgen(inline_js = r#"
export function idbsql_build_rows(keys, count, arrays, tags, numbers, text, ends, others) {
  const width = keys.length;
  const proto = keys.indexOf("__proto__") >= 0;
  const rows = new Array(count);
  let t = 0, n = 0, s = 0, o = 0, start = 0;
  for (let r = 0; r < count; r += 1) {
    const row = arrays ? new Array(width) : {};
    for (let c = 0; c < width; c += 1) {
      let v;
      switch (tags[t++]) {
        case 0: v = null; break;
        case 1: v = false; break;
        case 2: v = true; break;
        case 3: v = numbers[n++]; break;
        case 4: { const end = ends[s++]; v = text.slice(start, end); start = end; break; }
        default: v = others[o++];
      }
      if (arrays) row[c] = v;
      else if (proto && keys[c] === "__proto__") {
        // `row.__proto__ = v` would set the prototype: an own property instead.
        Object.defineProperty(row, "__proto__", { value: v, enumerable: true, writable: true, configurable: true });
      } else row[keys[c]] = v;
    }
    rows[r] = row;
  }
  return rows;
}
"#)]
extern "C" {
    #[allow(clippy::too_many_arguments)]
    fn idbsql_build_rows(
        keys: &Array,
        count: u32,
        arrays: bool,
        tags: &[u8],
        numbers: &[f64],
        text: &str,
        ends: &[u32],
        others: &Array,
    ) -> JsValue;
}

/// Packed rows (see packed_rows.rs) as JS rows: objects keyed by column name (a later column of
/// the same name wins), or with `arrays` as arrays, columns in order, duplicates kept
/// (`rowMode: "array"`).
pub fn packed_to_js(
    columns: &[String],
    packed: &PackedRows,
    arrays: bool,
) -> Result<JsValue, DbError> {
    // The tags are read `columns.len()` per row.
    if packed.width() != columns.len() || !packed.is_whole() {
        return Err(width_error());
    }
    let keys: Array = if arrays {
        Array::new_with_length(columns.len() as u32)
    } else {
        columns.iter().map(|c| js_str(c)).collect()
    };
    let others: Array = packed.others.iter().map(value_to_js).collect();
    Ok(idbsql_build_rows(
        &keys,
        packed.count() as u32,
        arrays,
        &packed.tags,
        &packed.numbers,
        &packed.text,
        &packed.ends,
        &others,
    ))
}

/// Rows as `packed_to_js` makes them, packed first.
pub fn rows_to_js(
    columns: &[String],
    rows: &[Vec<Value>],
    arrays: bool,
) -> Result<JsValue, DbError> {
    packed_to_js(columns, &pack(columns, rows)?, arrays)
}

/// `rows` packed, each as wide as `columns`.
pub fn pack(columns: &[String], rows: &[Vec<Value>]) -> Result<PackedRows, DbError> {
    PackedRows::of_rows(columns.len(), rows).ok_or_else(width_error)
}

fn width_error() -> DbError {
    DbError::new(
        ErrorCode::Execute,
        "cannot build a result row: its width is not the columns'",
    )
}

fn params_error(position: usize, message: impl std::fmt::Display) -> DbError {
    DbError::new(
        ErrorCode::Params,
        format!("parameter ${}: {message}", position + 1),
    )
}

/// How deep arrays and objects inside one parameter may nest (the walk recurses).
pub const MAX_PARAM_DEPTH: usize = 64;

fn value_from_js(position: usize, value: &JsValue, depth: usize) -> Result<Value, DbError> {
    if depth > MAX_PARAM_DEPTH {
        return Err(params_error(
            position,
            format!("arrays and objects nest deeper than {MAX_PARAM_DEPTH} levels"),
        ));
    }
    if value.is_null() || value.is_undefined() {
        return Ok(Value::Null);
    }
    if let Some(v) = value.as_bool() {
        return Ok(Value::Bool(v));
    }
    if let Some(v) = value.as_f64() {
        if v.fract() == 0.0 && v.abs() <= MAX_SAFE as f64 {
            return Ok(Value::I64(v as i64));
        }
        return Ok(Value::F64(v));
    }
    if let Some(v) = value.as_string() {
        return Ok(Value::Str(v));
    }
    if value.is_bigint() {
        let text = String::from(
            value
                .unchecked_ref::<BigInt>()
                .to_string(10)
                .map_err(|_| params_error(position, "unreadable BigInt"))?,
        );
        if let Ok(v) = text.parse::<i64>() {
            return Ok(Value::I64(v));
        }
        if let Ok(v) = text.parse::<i128>() {
            return Ok(Value::I128(v));
        }
        return text
            .parse::<u128>()
            .map(Value::U128)
            .map_err(|_| params_error(position, "BigInt out of the INT128 / UINT128 range"));
    }
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        return Ok(Value::Bytea(bytes.to_vec()));
    }
    if let Some(date) = value.dyn_ref::<Date>() {
        let millis = date.get_time();
        if millis.is_nan() {
            return Err(params_error(position, "invalid Date"));
        }
        let timestamp: Option<NaiveDateTime> =
            DateTime::from_timestamp_millis(millis as i64).map(|t| t.naive_utc());
        return timestamp
            .map(Value::Timestamp)
            .ok_or_else(|| params_error(position, "Date out of range"));
    }
    if let Some(array) = value.dyn_ref::<Array>() {
        return array
            .iter()
            .map(|item| value_from_js(position, &item, depth + 1))
            .collect::<Result<_, _>>()
            .map(Value::List);
    }
    if value.is_object() && !value.is_function() {
        // Only a plain object is a MAP (or a POINT): a Map, Set, ArrayBuffer or class instance
        // would turn into an empty MAP without a word.
        let prototype = Object::get_prototype_of(value);
        let plain = prototype.is_null()
            || Object::is(&prototype, &Object::get_prototype_of(&Object::new().into()));
        if !plain {
            let kind = Reflect::get(value, &"constructor".into())
                .ok()
                .and_then(|c| Reflect::get(&c, &"name".into()).ok())
                .and_then(|n| n.as_string())
                .unwrap_or_else(|| "object".to_owned());
            return Err(params_error(
                position,
                format!(
                    "a {kind} has no SQL counterpart; pass a plain object (MAP, POINT), an array (LIST), a Uint8Array (BYTEA), a Date, a string, a number, a BigInt, a boolean or null"
                ),
            ));
        }
        let mut map = BTreeMap::new();
        for entry in Object::entries(value.unchecked_ref::<Object>()).iter() {
            let entry: Array = entry.unchecked_into();
            let key = entry
                .get(0)
                .as_string()
                .ok_or_else(|| params_error(position, "object keys must be strings"))?;
            map.insert(key, value_from_js(position, &entry.get(1), depth + 1)?);
        }
        return Ok(Value::Map(map));
    }
    Err(params_error(
        position,
        format!(
            "unsupported JS type {}",
            value.js_typeof().as_string().unwrap_or_default()
        ),
    ))
}

pub fn params_from_js(params: &JsValue) -> Result<Vec<Value>, DbError> {
    if params.is_null() || params.is_undefined() {
        return Ok(Vec::new());
    }
    let array = params
        .dyn_ref::<Array>()
        .ok_or_else(|| DbError::new(ErrorCode::Params, "parameters must be an array"))?;
    array
        .iter()
        .enumerate()
        .map(|(i, value)| value_from_js(i, &value, 0))
        .collect()
}
