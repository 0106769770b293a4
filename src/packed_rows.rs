//! Result rows packed for the hand-over to JS: one tag per value, numbers in one array, every
//! text in one string, only the rare kinds kept as values. Owns that layout and which kind goes
//! where; how each becomes a JS value is the API's business (api/values.rs), not this module's.

use {
    gluesql_core::{ast::DataType, data::Value},
    std::fmt::Write,
};

pub const TAG_NULL: u8 = 0;
pub const TAG_FALSE: u8 = 1;
pub const TAG_TRUE: u8 = 2;
pub const TAG_NUMBER: u8 = 3;
pub const TAG_TEXT: u8 = 4;
pub const TAG_OTHER: u8 = 5;

/// The largest integer a JS number holds exactly; integers beyond it are `others`.
const MAX_SAFE: i128 = (1 << 53) - 1;

/// Rows of `width` values, packed row after row.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PackedRows {
    pub tags: Vec<u8>,
    pub numbers: Vec<f64>,
    pub text: String,
    /// Where each text ends in `text`, in UTF-16 units (JS string offsets).
    pub ends: Vec<u32>,
    utf16_len: u32,
    /// The values of the kinds with no tag of their own, in order.
    pub others: Vec<Value>,
    /// Each column's type: its first non-NULL value's (a query's columns declare none).
    pub types: Vec<Option<DataType>>,
    width: usize,
}

impl PackedRows {
    /// Room for `rows` rows of `width` values.
    pub fn with_capacity(width: usize, rows: usize) -> Self {
        Self {
            tags: Vec::with_capacity(width * rows),
            numbers: Vec::with_capacity(width * rows),
            types: vec![None; width],
            width,
            ..Self::default()
        }
    }

    /// The rows packed: each `push` of a whole row's values counts one.
    pub fn count(&self) -> usize {
        self.tags.len().checked_div(self.width).unwrap_or(0)
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether every row has a value for each column.
    pub fn is_whole(&self) -> bool {
        self.tags.len().is_multiple_of(self.width)
    }

    fn number(&mut self, v: f64) {
        self.tags.push(TAG_NUMBER);
        self.numbers.push(v);
    }

    /// The value of the next column (column `column` of the row being packed).
    pub fn push(&mut self, column: usize, value: &Value) {
        self.note_type(column, || value.get_type());
        match value {
            Value::Null => self.tags.push(TAG_NULL),
            Value::Bool(v) => self.tags.push(if *v { TAG_TRUE } else { TAG_FALSE }),
            Value::I8(v) => self.number(f64::from(*v)),
            Value::I16(v) => self.number(f64::from(*v)),
            Value::I32(v) => self.number(f64::from(*v)),
            Value::U8(v) => self.number(f64::from(*v)),
            Value::U16(v) => self.number(f64::from(*v)),
            Value::U32(v) => self.number(f64::from(*v)),
            Value::I64(v) if (-MAX_SAFE..=MAX_SAFE).contains(&i128::from(*v)) => {
                self.number(*v as f64)
            }
            Value::F32(v) => self.number(f64::from(*v)),
            Value::F64(v) => self.number(*v),
            Value::Str(v) => self.text(|t| t.push_str(v)),
            Value::Decimal(v) => self.text(|t| {
                let _ = write!(t, "{v}");
            }),
            Value::Date(v) => self.text(|t| {
                let _ = write!(t, "{}", v.format("%Y-%m-%d"));
            }),
            Value::Timestamp(v) => self.text(|t| {
                let _ = write!(t, "{}", v.format("%Y-%m-%dT%H:%M:%S%.f"));
            }),
            Value::Time(v) => self.text(|t| {
                let _ = write!(t, "{}", v.format("%H:%M:%S%.f"));
            }),
            Value::Uuid(v) => self.text(|t| {
                let _ = write!(t, "{}", uuid::Uuid::from_u128(*v).hyphenated());
            }),
            other => {
                self.tags.push(TAG_OTHER);
                self.others.push(other.clone());
            }
        }
    }

    /// A text (a `Value::Str`) of column `column` written by `write` straight into the packed
    /// text, with no string of its own.
    pub fn push_text(&mut self, column: usize, write: impl FnOnce(&mut String)) {
        self.note_type(column, || Some(DataType::Text));
        self.text(write);
    }

    /// Column `column`'s type, from its first value that has one.
    fn note_type(&mut self, column: usize, of: impl FnOnce() -> Option<DataType>) {
        if let Some(slot @ None) = self.types.get_mut(column) {
            *slot = of();
        }
    }

    /// Appends text written by `write`, ending one text value.
    fn text(&mut self, write: impl FnOnce(&mut String)) {
        let start = self.text.len();
        write(&mut self.text);
        let added = &self.text[start..];
        let units = if added.is_ascii() {
            added.len()
        } else {
            added.encode_utf16().count()
        };
        self.utf16_len = self.utf16_len.saturating_add(units as u32);
        self.tags.push(TAG_TEXT);
        self.ends.push(self.utf16_len);
    }

    /// `rows`, each `width` wide, packed; `None` if a row has another width.
    pub fn of_rows(width: usize, rows: &[Vec<Value>]) -> Option<Self> {
        let mut packed = Self::with_capacity(width, rows.len());
        for row in rows {
            if row.len() != width {
                return None;
            }
            for (column, value) in row.iter().enumerate() {
                packed.push(column, value);
            }
        }
        Some(packed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_by_kind_and_texts_end_in_utf16_units() {
        let rows = vec![
            vec![Value::I64(7), Value::Str("é€x".to_owned()), Value::Null],
            vec![
                Value::I64(i64::MAX),
                Value::Str("ab".to_owned()),
                Value::Bool(true),
            ],
        ];
        let packed = PackedRows::of_rows(3, &rows).expect("widths match");
        assert_eq!(
            packed.tags,
            [TAG_NUMBER, TAG_TEXT, TAG_NULL, TAG_OTHER, TAG_TEXT, TAG_TRUE]
        );
        assert_eq!(packed.numbers, [7.0]);
        assert_eq!(packed.text, "é€xab");
        assert_eq!(packed.ends, [3, 5]);
        assert_eq!(packed.others, [Value::I64(i64::MAX)]);
        assert_eq!(
            packed.types,
            [
                Some(DataType::Int),
                Some(DataType::Text),
                Some(DataType::Boolean)
            ]
        );
        assert_eq!(packed.count(), 2);
        assert!(PackedRows::of_rows(2, &rows).is_none());
    }

    #[test]
    fn a_text_written_in_place_is_one_text_value() {
        let mut packed = PackedRows::with_capacity(2, 1);
        packed.push(0, &Value::Null);
        packed.push_text(1, |t| t.push_str("ÀB"));
        assert_eq!(packed.tags, [TAG_NULL, TAG_TEXT]);
        assert_eq!(packed.ends, [2]);
        assert_eq!(packed.types, [None, Some(DataType::Text)]);
        assert!(packed.is_whole());
    }
}
