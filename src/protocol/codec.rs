//! The one binary encoding (postcard) of change sets: a format-version byte, then the body.
//! Values get a representation of our own, so GlueSQL upgrades cannot silently change it.

use {
    super::{ChangeSet, FunctionChange, SchemaChange, StoredResult, TableChange},
    gluesql_core::{
        chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike},
        data::{CustomFunction, Interval, Key, Point, Schema, Value},
    },
    rust_decimal::Decimal,
    serde::{
        ser::{SerializeStruct, SerializeTuple},
        Deserialize, Serialize, Serializer,
    },
    std::{cell::Cell, collections::BTreeMap},
    thiserror::Error,
};

/// Bumped whenever the encoding changes; data written by a newer version is refused.
pub const FORMAT_VERSION: u8 = 1;

/// Maps and lists nest at most this deep, on encode and on decode: a deeper value from the
/// network would otherwise exhaust the decoder's stack (the server's and the browser's).
pub const MAX_NESTING: usize = 64;

const TOO_DEEP: &str = "values nest deeper than 64 levels of MAP/LIST";

thread_local! {
    /// Nesting of the value being encoded or decoded on this thread.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Set when an encode stopped at the nesting bound, so the error can say so.
    static TOO_DEEP_SEEN: Cell<bool> = const { Cell::new(false) };
}

/// One level of MAP/LIST nesting, released when dropped; `None` past `MAX_NESTING`.
struct Nested;

impl Nested {
    fn enter() -> Option<Self> {
        DEPTH.with(|depth| {
            if depth.get() >= MAX_NESTING {
                TOO_DEEP_SEEN.with(|seen| seen.set(true));
                return None;
            }
            depth.set(depth.get() + 1);
            Some(Nested)
        })
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        DEPTH.with(|depth| depth.set(depth.get().saturating_sub(1)));
    }
}

/// The error of an encode or decode that failed: `TooDeep` if it stopped at the bound.
fn codec_error(error: impl std::fmt::Display) -> CodecError {
    if TOO_DEEP_SEEN.with(|seen| seen.replace(false)) {
        CodecError::TooDeep
    } else {
        CodecError::Corrupt(error.to_string())
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum CodecError {
    #[error("data was written in format {found}, newer than this idbsql understands ({FORMAT_VERSION}); upgrade idbsql")]
    NewerFormat { found: u8 },
    #[error("data is empty")]
    Empty,
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("{TOO_DEEP}")]
    TooDeep,
}

pub fn encode_change_set(change_set: &ChangeSet) -> Result<Vec<u8>, CodecError> {
    let mut bytes = vec![FORMAT_VERSION];
    let body = postcard::to_allocvec(&ChangeSetRef(change_set)).map_err(codec_error)?;
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

pub fn decode_change_set(bytes: &[u8]) -> Result<ChangeSet, CodecError> {
    let (&version, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if version > FORMAT_VERSION {
        return Err(CodecError::NewerFormat { found: version });
    }
    let wire: WireChangeSet = postcard::from_bytes(body).map_err(codec_error)?;
    wire.try_into()
}

/// Encodes call results (the answer a committed call gave), kept so a retried call is answered
/// without running it again. Same version byte and value layout as change sets.
pub fn encode_results(results: &[StoredResult]) -> Result<Vec<u8>, CodecError> {
    let mut bytes = vec![FORMAT_VERSION];
    let body = postcard::to_allocvec(&SeqOf(results, StoredResultRef)).map_err(codec_error)?;
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

pub fn decode_results(bytes: &[u8]) -> Result<Vec<StoredResult>, CodecError> {
    let (&version, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if version > FORMAT_VERSION {
        return Err(CodecError::NewerFormat { found: version });
    }
    let wire: Vec<WireResult> = postcard::from_bytes(body).map_err(codec_error)?;
    Ok(wire
        .into_iter()
        .map(|w| StoredResult {
            command: w.command,
            columns: w.columns,
            row_count: w.row_count,
            rows: w
                .rows
                .into_iter()
                .map(|r| r.into_iter().map(|v| v.0).collect())
                .collect(),
        })
        .collect())
}

// ---- decoding side: owned wire types whose derived layout the encoders below mirror ----

#[derive(Deserialize)]
struct WireResult {
    command: String,
    columns: Vec<String>,
    row_count: u64,
    rows: Vec<Vec<DecodedValue>>,
}

#[derive(Deserialize)]
struct WireChangeSet {
    tables: Vec<WireTableChange>,
    functions: Vec<(String, Option<String>)>,
}

#[derive(Deserialize)]
struct WireTableChange {
    name: String,
    schema: WireSchemaChange,
    rows: Vec<(DecodedValue, Option<Vec<DecodedValue>>)>,
}

#[derive(Deserialize)]
enum WireSchemaChange {
    Unchanged,
    Create(String, (i64, u32)),
    Alter(String),
    Drop,
}

// The value layout: variant order is the format — append only, never reorder. Written by
// `ValueRef` below and read by `DecodedValueVisitor`; `WIRE_VARIANTS` lists the names.

fn timestamp_from_wire((secs, nanos): (i64, u32)) -> Result<NaiveDateTime, CodecError> {
    DateTime::from_timestamp(secs, nanos)
        .map(|t| t.naive_utc())
        .ok_or_else(|| CodecError::Corrupt("timestamp".to_owned()))
}

fn timestamp_to_wire(t: &NaiveDateTime) -> (i64, u32) {
    let utc = t.and_utc();
    (utc.timestamp(), utc.timestamp_subsec_nanos())
}

fn key_from_wire(wire: DecodedValue) -> Result<Key, CodecError> {
    Key::try_from(wire.0).map_err(|e| CodecError::Corrupt(e.to_string()))
}

fn row_from_wire(row: Vec<DecodedValue>) -> Result<Vec<Value>, CodecError> {
    // Same layout (repr(transparent)), so this reuses the allocation.
    Ok(row.into_iter().map(|value| value.0).collect())
}

/// A value decoded straight from the wire layout of `WireValue`, without the intermediate.
#[repr(transparent)]
struct DecodedValue(Value);

const WIRE_VARIANTS: &[&str] = &[
    "Null",
    "Bool",
    "I8",
    "I16",
    "I32",
    "I64",
    "I128",
    "U8",
    "U16",
    "U32",
    "U64",
    "U128",
    "F32",
    "F64",
    "Decimal",
    "Str",
    "Bytea",
    "Inet",
    "Date",
    "Timestamp",
    "Time",
    "IntervalMonth",
    "IntervalMicrosecond",
    "Uuid",
    "Map",
    "List",
    "Point",
];

impl<'de> Deserialize<'de> for DecodedValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_enum("WireValue", WIRE_VARIANTS, DecodedValueVisitor)
    }
}

struct DecodedValueVisitor;

impl<'de> serde::de::Visitor<'de> for DecodedValueVisitor {
    type Value = DecodedValue;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an encoded value")
    }

    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<DecodedValue, A::Error> {
        use serde::de::{Error as _, VariantAccess};
        let (index, variant): (u32, _) = data.variant()?;
        let bad = |what: &str| A::Error::custom(format!("invalid {what}"));
        let value = match index {
            0 => {
                variant.unit_variant()?;
                Value::Null
            }
            1 => Value::Bool(variant.newtype_variant()?),
            2 => Value::I8(variant.newtype_variant()?),
            3 => Value::I16(variant.newtype_variant()?),
            4 => Value::I32(variant.newtype_variant()?),
            5 => Value::I64(variant.newtype_variant()?),
            6 => Value::I128(variant.newtype_variant()?),
            7 => Value::U8(variant.newtype_variant()?),
            8 => Value::U16(variant.newtype_variant()?),
            9 => Value::U32(variant.newtype_variant()?),
            10 => Value::U64(variant.newtype_variant()?),
            11 => Value::U128(variant.newtype_variant()?),
            12 => Value::F32(variant.newtype_variant()?),
            13 => Value::F64(variant.newtype_variant()?),
            14 => {
                // Byte 2 holds the scale; rust_decimal would round one above 28 silently.
                let bytes: [u8; 16] = variant.newtype_variant()?;
                if u32::from(bytes[2]) & 0x1F > 28 {
                    return Err(bad("DECIMAL (scale above 28)"));
                }
                Value::Decimal(Decimal::deserialize(bytes))
            }
            15 => Value::Str(variant.newtype_variant()?),
            16 => Value::Bytea(variant.newtype_variant()?),
            17 => Value::Inet(variant.newtype_variant()?),
            18 => Value::Date(
                NaiveDate::from_num_days_from_ce_opt(variant.newtype_variant()?)
                    .ok_or_else(|| bad("date"))?,
            ),
            19 => Value::Timestamp(
                timestamp_from_wire(variant.newtype_variant()?).map_err(|_| bad("timestamp"))?,
            ),
            20 => {
                let (secs, nanos) = variant.newtype_variant()?;
                Value::Time(
                    NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)
                        .ok_or_else(|| bad("time"))?,
                )
            }
            21 => Value::Interval(Interval::Month(variant.newtype_variant()?)),
            22 => Value::Interval(Interval::Microsecond(variant.newtype_variant()?)),
            23 => Value::Uuid(variant.newtype_variant()?),
            24 => {
                let _level = Nested::enter().ok_or_else(|| A::Error::custom(TOO_DEEP))?;
                let entries: Vec<(String, DecodedValue)> = variant.newtype_variant()?;
                Value::Map(entries.into_iter().map(|(k, v)| (k, v.0)).collect())
            }
            25 => {
                let _level = Nested::enter().ok_or_else(|| A::Error::custom(TOO_DEEP))?;
                let items: Vec<DecodedValue> = variant.newtype_variant()?;
                Value::List(items.into_iter().map(|v| v.0).collect())
            }
            26 => {
                let (x, y) = variant.newtype_variant()?;
                Value::Point(Point::new(x, y))
            }
            other => return Err(A::Error::custom(format!("unknown value tag {other}"))),
        };
        Ok(DecodedValue(value))
    }
}

fn schema_from_json(json: &str) -> Result<Schema, CodecError> {
    serde_json::from_str(json).map_err(|e| CodecError::Corrupt(format!("schema: {e}")))
}

impl TryFrom<WireChangeSet> for ChangeSet {
    type Error = CodecError;

    fn try_from(wire: WireChangeSet) -> Result<Self, CodecError> {
        let tables = wire
            .tables
            .into_iter()
            .map(|table| {
                let schema = match table.schema {
                    WireSchemaChange::Unchanged => SchemaChange::Unchanged,
                    WireSchemaChange::Create(json, created) => SchemaChange::Create {
                        schema: Box::new(schema_from_json(&json)?),
                        created: timestamp_from_wire(created)?,
                    },
                    WireSchemaChange::Alter(json) => {
                        SchemaChange::Alter(Box::new(schema_from_json(&json)?))
                    }
                    WireSchemaChange::Drop => SchemaChange::Drop,
                };
                let rows = table
                    .rows
                    .into_iter()
                    .map(|(key, row)| {
                        Ok((key_from_wire(key)?, row.map(row_from_wire).transpose()?))
                    })
                    .collect::<Result<_, CodecError>>()?;
                Ok(TableChange {
                    name: table.name,
                    schema,
                    rows,
                })
            })
            .collect::<Result<_, CodecError>>()?;
        let functions = wire
            .functions
            .into_iter()
            .map(|(name, json)| {
                let function = json
                    .map(|json| serde_json::from_str::<CustomFunction>(&json))
                    .transpose()
                    .map_err(|e| CodecError::Corrupt(format!("function: {e}")))?;
                Ok(FunctionChange { name, function })
            })
            .collect::<Result<_, CodecError>>()?;
        Ok(ChangeSet { tables, functions })
    }
}

// ---- encoding side: borrowing serializers, laid out exactly as the wire types above ----

struct ChangeSetRef<'a>(&'a ChangeSet);
struct TableChangeRef<'a>(&'a TableChange);
struct SchemaChangeRef<'a>(&'a SchemaChange);
struct RowRef<'a>(&'a [Value]);
struct StoredResultRef<'a>(&'a StoredResult);
struct KeyedRowRef<'a>(&'a Key, &'a Option<Vec<Value>>);
struct ValueRef<'a>(&'a Value);
struct KeyRef<'a>(&'a Key);

fn to_json<T: Serialize, S: Serializer>(value: &T) -> Result<String, S::Error> {
    serde_json::to_string(value).map_err(serde::ser::Error::custom)
}

impl Serialize for ChangeSetRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let functions = self
            .0
            .functions
            .iter()
            .map(|f| {
                let json = f.function.as_ref().map(to_json::<_, S>).transpose()?;
                Ok((f.name.as_str(), json))
            })
            .collect::<Result<Vec<_>, S::Error>>()?;
        let mut s = serializer.serialize_struct("WireChangeSet", 2)?;
        s.serialize_field("tables", &SeqOf(&self.0.tables, TableChangeRef))?;
        s.serialize_field("functions", &functions)?;
        s.end()
    }
}

/// Serializes a slice through a borrowing wrapper without collecting it first.
struct SeqOf<'a, T, W>(&'a [T], fn(&'a T) -> W);

impl<'a, T, W: Serialize> Serialize for SeqOf<'a, T, W> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(self.1))
    }
}

impl Serialize for TableChangeRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("WireTableChange", 3)?;
        s.serialize_field("name", &self.0.name)?;
        s.serialize_field("schema", &SchemaChangeRef(&self.0.schema))?;
        s.serialize_field(
            "rows",
            &SeqOf(&self.0.rows, |(key, row)| KeyedRowRef(key, row)),
        )?;
        s.end()
    }
}

impl Serialize for SchemaChangeRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTupleVariant;
        const NAME: &str = "WireSchemaChange";
        match self.0 {
            SchemaChange::Unchanged => serializer.serialize_unit_variant(NAME, 0, "Unchanged"),
            SchemaChange::Create { schema, created } => {
                let mut s = serializer.serialize_tuple_variant(NAME, 1, "Create", 2)?;
                s.serialize_field(&to_json::<_, S>(schema.as_ref())?)?;
                s.serialize_field(&timestamp_to_wire(created))?;
                s.end()
            }
            SchemaChange::Alter(schema) => serializer.serialize_newtype_variant(
                NAME,
                2,
                "Alter",
                &to_json::<_, S>(schema.as_ref())?,
            ),
            SchemaChange::Drop => serializer.serialize_unit_variant(NAME, 3, "Drop"),
        }
    }
}

impl Serialize for StoredResultRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("WireResult", 4)?;
        s.serialize_field("command", &self.0.command)?;
        s.serialize_field("columns", &self.0.columns)?;
        s.serialize_field("row_count", &self.0.row_count)?;
        s.serialize_field("rows", &SeqOf(&self.0.rows, |row| RowRef(row)))?;
        s.end()
    }
}

impl Serialize for KeyedRowRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut t = serializer.serialize_tuple(2)?;
        t.serialize_element(&KeyRef(self.0))?;
        t.serialize_element(&self.1.as_deref().map(RowRef))?;
        t.end()
    }
}

impl Serialize for RowRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(ValueRef))
    }
}

impl Serialize for KeyRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ValueRef(&Value::from(self.0.clone())).serialize(serializer)
    }
}

impl Serialize for ValueRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const NAME: &str = "WireValue";
        macro_rules! variant {
            ($index:expr, $name:expr, $value:expr) => {
                serializer.serialize_newtype_variant(NAME, $index, $name, $value)
            };
        }
        match self.0 {
            Value::Null => serializer.serialize_unit_variant(NAME, 0, "Null"),
            Value::Bool(v) => variant!(1, "Bool", v),
            Value::I8(v) => variant!(2, "I8", v),
            Value::I16(v) => variant!(3, "I16", v),
            Value::I32(v) => variant!(4, "I32", v),
            Value::I64(v) => variant!(5, "I64", v),
            Value::I128(v) => variant!(6, "I128", v),
            Value::U8(v) => variant!(7, "U8", v),
            Value::U16(v) => variant!(8, "U16", v),
            Value::U32(v) => variant!(9, "U32", v),
            Value::U64(v) => variant!(10, "U64", v),
            Value::U128(v) => variant!(11, "U128", v),
            Value::F32(v) => variant!(12, "F32", v),
            Value::F64(v) => variant!(13, "F64", v),
            Value::Decimal(v) => variant!(14, "Decimal", &v.serialize()),
            Value::Str(v) => variant!(15, "Str", v),
            Value::Bytea(v) => variant!(16, "Bytea", v),
            Value::Inet(v) => variant!(17, "Inet", v),
            Value::Date(v) => variant!(18, "Date", &v.num_days_from_ce()),
            Value::Timestamp(v) => variant!(19, "Timestamp", &timestamp_to_wire(v)),
            Value::Time(v) => {
                variant!(20, "Time", &(v.num_seconds_from_midnight(), v.nanosecond()))
            }
            Value::Interval(Interval::Month(v)) => variant!(21, "IntervalMonth", v),
            Value::Interval(Interval::Microsecond(v)) => variant!(22, "IntervalMicrosecond", v),
            Value::Uuid(v) => variant!(23, "Uuid", v),
            Value::Map(map) => {
                let _level = Nested::enter().ok_or_else(|| serde::ser::Error::custom(TOO_DEEP))?;
                variant!(24, "Map", &MapRef(map))
            }
            Value::List(items) => {
                let _level = Nested::enter().ok_or_else(|| serde::ser::Error::custom(TOO_DEEP))?;
                variant!(25, "List", &RowRef(items))
            }
            Value::Point(p) => variant!(26, "Point", &(p.x, p.y)),
        }
    }
}

struct MapRef<'a>(&'a BTreeMap<String, Value>);

impl Serialize for MapRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(k, v)| (k, ValueRef(v))))
    }
}

use gluesql_core::chrono::Datelike;

#[cfg(test)]
mod tests {
    use {
        super::*,
        std::{net::IpAddr, str::FromStr},
    };

    #[test]
    fn stored_results_round_trip() {
        let results = vec![
            StoredResult {
                command: "SELECT".into(),
                columns: vec!["a".into(), "b".into()],
                row_count: 1,
                rows: vec![vec![Value::I64(1), Value::Str("x".into())]],
            },
            StoredResult {
                command: "INSERT".into(),
                columns: Vec::new(),
                row_count: 3,
                rows: Vec::new(),
            },
        ];
        let bytes = encode_results(&results).unwrap();
        assert_eq!(bytes[0], FORMAT_VERSION);
        assert_eq!(decode_results(&bytes).unwrap(), results);
    }

    /// A small deterministic generator, so failures reproduce without a property-test crate.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            self.0 >> 11
        }

        fn value(&mut self, depth: u32) -> Value {
            let n = self.next();
            let choice = if depth > 2 { n % 24 } else { n % 27 };
            let wide = u128::from(self.next()) << 64 | u128::from(self.next());
            match choice {
                0 => Value::Null,
                1 => Value::Bool(n.is_multiple_of(2)),
                2 => Value::I8(n as i8),
                3 => Value::I16(n as i16),
                4 => Value::I32(n as i32),
                5 => Value::I64(n as i64 - (1 << 40)),
                6 => Value::I128(wide as i128),
                7 => Value::U8(n as u8),
                8 => Value::U16(n as u16),
                9 => Value::U32(n as u32),
                10 => Value::U64(n),
                11 => Value::U128(wide),
                12 => Value::F32(n as f32 / 3.0),
                13 => Value::F64(-(n as f64) / 7.0),
                14 => Value::Decimal(Decimal::from_i128_with_scale(
                    (n % 1_000_000_007) as i128,
                    (n % 20) as u32,
                )),
                15 => Value::Str(format!("s{n}✓")),
                16 => Value::Bytea(n.to_le_bytes().to_vec()),
                17 => Value::Inet(
                    IpAddr::from_str(if n.is_multiple_of(2) {
                        "10.1.2.3"
                    } else {
                        "fe80::1"
                    })
                    .unwrap(),
                ),
                18 => Value::Date(
                    NaiveDate::from_num_days_from_ce_opt((n % 3_000_000) as i32).unwrap(),
                ),
                19 => Value::Timestamp(
                    DateTime::from_timestamp(
                        (n % 10_000_000_000) as i64,
                        (n % 1_000_000_000) as u32,
                    )
                    .unwrap()
                    .naive_utc(),
                ),
                20 => Value::Time(
                    NaiveTime::from_num_seconds_from_midnight_opt(
                        (n % 86_400) as u32,
                        (n % 1_000_000_000) as u32,
                    )
                    .unwrap(),
                ),
                21 => Value::Interval(if n.is_multiple_of(2) {
                    Interval::Month(n as i32)
                } else {
                    Interval::Microsecond(n as i64)
                }),
                22 => Value::Uuid(wide),
                23 => Value::Point(Point::new(n as f64, -(n as f64))),
                24 | 25 => Value::List((0..n % 4).map(|_| self.value(depth + 1)).collect()),
                _ => Value::Map(
                    (0..n % 4)
                        .map(|i| (format!("k{i}"), self.value(depth + 1)))
                        .collect(),
                ),
            }
        }
    }

    #[test]
    fn random_rows_round_trip_exactly() {
        let mut rng = Lcg(42);
        for round in 0..200 {
            let rows = (0..20)
                .map(|i| {
                    let key = if round % 2 == 0 {
                        Key::I64(i)
                    } else {
                        Key::Uuid(u128::from(rng.next()) << 64)
                    };
                    let row = (i % 5 != 0).then(|| (0..6).map(|_| rng.value(0)).collect());
                    (key, row)
                })
                .collect();
            let change_set = ChangeSet {
                tables: vec![TableChange {
                    name: format!("t{round}"),
                    schema: SchemaChange::Unchanged,
                    rows,
                }],
                functions: vec![],
            };
            let bytes = encode_change_set(&change_set).unwrap();
            assert_eq!(
                decode_change_set(&bytes).unwrap(),
                change_set,
                "round {round}"
            );
        }
    }

    #[test]
    fn truncated_or_garbage_bytes_are_errors_not_panics() {
        let mut rng = Lcg(7);
        let change_set = ChangeSet {
            tables: vec![TableChange {
                name: "t".into(),
                schema: SchemaChange::Drop,
                rows: vec![(Key::I64(1), Some(vec![rng.value(0), rng.value(0)]))],
            }],
            functions: vec![],
        };
        let bytes = encode_change_set(&change_set).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode_change_set(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for _ in 0..2000 {
            let garbage: Vec<u8> = (0..rng.next() % 64).map(|_| rng.next() as u8).collect();
            let mut framed = vec![FORMAT_VERSION];
            framed.extend(garbage);
            let _ = decode_change_set(&framed);
        }
        assert_eq!(decode_change_set(&[]), Err(CodecError::Empty));
        assert_eq!(
            decode_change_set(&[FORMAT_VERSION + 1]),
            Err(CodecError::NewerFormat {
                found: FORMAT_VERSION + 1
            })
        );
    }

    #[test]
    fn a_decimal_scale_past_28_is_refused_not_rounded() {
        let decimal = Decimal::from_i128_with_scale(12_345, 28);
        let bytes = encode_change_set(&one_row(Value::Decimal(decimal))).unwrap();
        assert_eq!(
            decode_change_set(&bytes).unwrap(),
            one_row(Value::Decimal(decimal))
        );
        let at = bytes
            .windows(16)
            .position(|w| w == decimal.serialize())
            .expect("the decimal's bytes");
        for scale in [29u8, 31] {
            let mut hostile = bytes.clone();
            hostile[at + 2] = scale;
            assert!(decode_change_set(&hostile).is_err(), "scale {scale}");
        }
    }

    fn nested_list(levels: usize) -> Value {
        (0..levels).fold(Value::I64(1), |inner, _| Value::List(vec![inner]))
    }

    fn one_row(value: Value) -> ChangeSet {
        ChangeSet {
            tables: vec![TableChange {
                name: "t".into(),
                schema: SchemaChange::Unchanged,
                rows: vec![(Key::I64(1), Some(vec![value]))],
            }],
            functions: vec![],
        }
    }

    #[test]
    fn values_nest_at_most_64_levels_on_encode_and_decode() {
        let deepest = one_row(nested_list(MAX_NESTING));
        let bytes = encode_change_set(&deepest).unwrap();
        assert_eq!(decode_change_set(&bytes).unwrap(), deepest);
        assert_eq!(
            encode_change_set(&one_row(nested_list(MAX_NESTING + 1))),
            Err(CodecError::TooDeep)
        );
        // The same bound on maps, and on bytes another encoder made: one level more.
        let mut map = BTreeMap::new();
        map.insert("k".to_owned(), nested_list(MAX_NESTING));
        assert_eq!(
            encode_change_set(&one_row(Value::Map(map))),
            Err(CodecError::TooDeep)
        );
        let mut deeper = bytes.clone();
        let value_at = deeper.len() - (2 * MAX_NESTING + 3); // the value, then `functions: []`
        deeper.splice(value_at..value_at, [25, 1]);
        assert_eq!(decode_change_set(&deeper), Err(CodecError::TooDeep));
        // Failing leaves nothing behind: the next value at the bound still passes.
        assert_eq!(decode_change_set(&bytes).unwrap(), deepest);
        assert_eq!(encode_change_set(&deepest).unwrap(), bytes);
    }

    #[test]
    fn a_megabyte_of_nesting_or_garbage_is_an_error_not_a_crash() {
        let mut bytes = vec![FORMAT_VERSION, 1, 1, b't', 0, 1, 5, 2, 1, 1];
        while bytes.len() < 1 << 20 {
            bytes.extend_from_slice(&[25, 1]);
        }
        assert_eq!(decode_change_set(&bytes), Err(CodecError::TooDeep));
        let mut rng = Lcg(99);
        for size in [4 << 10, 64 << 10, 1 << 20] {
            for _ in 0..4 {
                let mut framed = vec![FORMAT_VERSION];
                framed.extend((0..size).map(|_| rng.next() as u8));
                assert!(decode_change_set(&framed).is_err() || size < 8);
                let _ = decode_results(&framed);
            }
        }
    }
}
