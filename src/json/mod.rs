//! JSON values as the text a JSON / JSONB column holds: parsing with a bounded depth, the
//! spans of each value in its text, and PostgreSQL's jsonb text form. Knows no SQL or store.
//!
//! Our own parser, not serde_json's: a `json` value keeps its text as written (key order,
//! duplicate keys, the digits of its numbers), and `->` answers the very text of a member;
//! serde_json's default features keep none of these, and its `arbitrary_precision` feature
//! would change how GlueSQL reads JSON for the whole build.

pub mod ops;

use std::fmt::Write;

/// How deep arrays and objects may nest: parsing recurses once per level.
pub const MAX_DEPTH: usize = 128;

/// The message of every refusal of malformed JSON text (the error says where, after it).
pub const INVALID: &str = "invalid input syntax for type json";

/// Which of PostgreSQL's two JSON types a column or value has: `json` keeps its text as
/// written, `jsonb` is stored in its normal form (keys sorted and once, PostgreSQL's spacing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    Json,
    Jsonb,
}

impl JsonKind {
    /// The column comment a JSON column carries in GlueSQL's schema (its stored type is TEXT).
    pub fn marker(self) -> &'static str {
        match self {
            JsonKind::Json => "idbsql:json",
            JsonKind::Jsonb => "idbsql:jsonb",
        }
    }

    pub fn of_marker(comment: Option<&str>) -> Option<Self> {
        match comment? {
            "idbsql:json" => Some(JsonKind::Json),
            "idbsql:jsonb" => Some(JsonKind::Jsonb),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            JsonKind::Json => "JSON",
            JsonKind::Jsonb => "JSONB",
        }
    }

    /// The text a value of this kind is stored as: checked, and for jsonb in normal form.
    pub fn stored(self, text: &str) -> Result<String, String> {
        let node = parse(text)?;
        Ok(match self {
            JsonKind::Json => text.to_owned(),
            JsonKind::Jsonb => node.jsonb(text),
        })
    }
}

/// One JSON value and where it stands in the text it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    /// The number's text is the node's span.
    Number,
    String(String),
    Array(Vec<Node>),
    /// Members in written order, duplicates kept.
    Object(Vec<(String, Node)>),
}

impl Node {
    /// The value's text as written.
    pub fn text<'t>(&self, source: &'t str) -> &'t str {
        &source[self.start..self.end]
    }

    /// The member `key` of an object (the last of equal keys, as PostgreSQL's jsonb keeps it).
    pub fn member(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Element `index` of an array, a negative index counting from its end.
    pub fn element(&self, index: i64) -> Option<&Node> {
        match &self.kind {
            Kind::Array(items) => {
                let at = if index < 0 {
                    i64::try_from(items.len()).ok()? + index
                } else {
                    index
                };
                items.get(usize::try_from(at).ok()?)
            }
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "boolean",
            Kind::Number => "number",
            Kind::String(_) => "string",
            Kind::Array(_) => "array",
            Kind::Object(_) => "object",
        }
    }

    /// PostgreSQL's jsonb text of this value.
    pub fn jsonb(&self, source: &str) -> String {
        let mut out = String::with_capacity(self.end - self.start);
        self.write_jsonb(source, &mut out);
        out
    }

    fn write_jsonb(&self, source: &str, out: &mut String) {
        match &self.kind {
            Kind::Null => out.push_str("null"),
            Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Kind::Number => out.push_str(&number_text(self.text(source))),
            Kind::String(s) => quote_into(s, out),
            Kind::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write_jsonb(source, out);
                }
                out.push(']');
            }
            Kind::Object(_) => {
                out.push('{');
                for (i, (key, value)) in self.jsonb_members().into_iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    quote_into(key, out);
                    out.push_str(": ");
                    value.write_jsonb(source, out);
                }
                out.push('}');
            }
        }
    }

    /// An object's members as jsonb keeps them: each key once (its last value), shorter keys
    /// first, then by their bytes.
    pub fn jsonb_members(&self) -> Vec<(&str, &Node)> {
        let Kind::Object(members) = &self.kind else {
            return Vec::new();
        };
        let mut kept: Vec<(&str, &Node)> = Vec::with_capacity(members.len());
        for (key, value) in members {
            match kept.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => kept.push((key, value)),
            }
        }
        kept.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then(a.0.cmp(b.0)));
        kept
    }
}

/// A JSON text's value, or why it is not one (the message starts with [`INVALID`]).
pub fn parse(text: &str) -> Result<Node, String> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    parser.space();
    let node = parser.value(0)?;
    parser.space();
    if parser.at != parser.bytes.len() {
        return Err(parser.error("unexpected text after the value"));
    }
    Ok(node)
}

struct Parser<'t> {
    text: &'t str,
    bytes: &'t [u8],
    at: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!(
            "{INVALID}: {what} at character {}",
            self.text[..self.at.min(self.text.len())].chars().count() + 1
        )
    }

    fn space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, String> {
        let start = self.at;
        let kind = match self.bytes.get(self.at) {
            None => return Err(self.error("the text ends where a value should be")),
            Some(b'{') => {
                if depth >= MAX_DEPTH {
                    return Err(self.error("nested too deeply"));
                }
                self.at += 1;
                Kind::Object(self.members(depth + 1)?)
            }
            Some(b'[') => {
                if depth >= MAX_DEPTH {
                    return Err(self.error("nested too deeply"));
                }
                self.at += 1;
                Kind::Array(self.elements(depth + 1)?)
            }
            Some(b'"') => Kind::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                Kind::Number
            }
            Some(_) => {
                let rest = &self.bytes[self.at..];
                let (kind, len) = if rest.starts_with(b"true") {
                    (Kind::Bool(true), 4)
                } else if rest.starts_with(b"false") {
                    (Kind::Bool(false), 5)
                } else if rest.starts_with(b"null") {
                    (Kind::Null, 4)
                } else {
                    return Err(self.error("not a JSON value"));
                };
                self.at += len;
                if self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                {
                    return Err(self.error("not a JSON value"));
                }
                kind
            }
        };
        Ok(Node {
            start,
            end: self.at,
            kind,
        })
    }

    fn members(&mut self, depth: usize) -> Result<Vec<(String, Node)>, String> {
        let mut members = Vec::new();
        self.space();
        if self.bytes.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(members);
        }
        loop {
            self.space();
            if self.bytes.get(self.at) != Some(&b'"') {
                return Err(self.error("an object key must be a string"));
            }
            let key = self.string()?;
            self.space();
            if self.bytes.get(self.at) != Some(&b':') {
                return Err(self.error("expected ':' after an object key"));
            }
            self.at += 1;
            self.space();
            let value = self.value(depth)?;
            members.push((key, value));
            self.space();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(members);
                }
                _ => return Err(self.error("expected ',' or '}' in an object")),
            }
        }
    }

    fn elements(&mut self, depth: usize) -> Result<Vec<Node>, String> {
        let mut items = Vec::new();
        self.space();
        if self.bytes.get(self.at) == Some(&b']') {
            self.at += 1;
            return Ok(items);
        }
        loop {
            self.space();
            items.push(self.value(depth)?);
            self.space();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(items);
                }
                _ => return Err(self.error("expected ',' or ']' in an array")),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let from = self.at;
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        self.at - from
    }

    fn number(&mut self) -> Result<(), String> {
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let first = self.at;
        let whole = self.digits();
        if whole == 0 || (whole > 1 && self.bytes[first] == b'0') {
            return Err(self.error("malformed number"));
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(self.error("malformed number"));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("malformed number"));
            }
        }
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("\\u must be followed by four hexadecimal digits"))?;
        self.at += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.error("malformed \\u escape"))
    }

    fn string(&mut self) -> Result<String, String> {
        self.at += 1; // the opening quote
        let mut out = String::new();
        loop {
            let from = self.at;
            while let Some(&b) = self.bytes.get(self.at) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.at += 1;
            }
            // Stops only at ASCII bytes: a char boundary.
            out.push_str(&self.text[from..self.at]);
            match self.bytes.get(self.at) {
                None => return Err(self.error("a string is not closed")),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escaped = self.bytes.get(self.at).copied();
                    self.at += 1;
                    match escaped {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let high = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&high) {
                                if self.bytes.get(self.at..self.at + 2) != Some(b"\\u") {
                                    return Err(self
                                        .error("a high surrogate must be followed by a low one"));
                                }
                                self.at += 2;
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err(self
                                        .error("a high surrogate must be followed by a low one"));
                                }
                                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                high
                            };
                            match char::from_u32(code) {
                                Some('\0') => {
                                    return Err(self.error("\\u0000 cannot be stored in text"))
                                }
                                Some(c) => out.push(c),
                                None => return Err(self.error("a lone surrogate in a \\u escape")),
                            }
                        }
                        _ => {
                            self.at -= 1;
                            return Err(self.error("an unknown escape in a string"));
                        }
                    }
                }
                Some(_) => {
                    return Err(self.error("a control character must be escaped in a string"))
                }
            }
        }
    }
}

/// `text` as a JSON string, escaped as PostgreSQL escapes it.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    quote_into(text, &mut out);
    out
}

pub fn quote_into(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The largest exponent a jsonb number is spelled out for.
pub const MAX_EXPONENT: i64 = 64;

/// A JSON number's text as PostgreSQL's numeric prints it: no exponent, the scale the text
/// implies (`1.50` keeps two decimals, `1e2` is `100`, `1.5e-3` is `0.0015`), no `-0`.
pub fn number_text(text: &str) -> String {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => match unsigned[at + 1..].parse::<i64>() {
            Ok(exponent) => (&unsigned[..at], exponent),
            Err(_) => return text.to_owned(),
        },
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // An exponent past ±MAX_EXPONENT keeps the text as written: spelled out, a few bytes
    // would become that many digits (a value, or a replica's change set, growing a
    // hundredfold); PostgreSQL spells out up to numeric's range.
    if exponent.abs() > MAX_EXPONENT {
        return text.to_owned();
    }
    let digits: String = whole.chars().chain(fraction.chars()).collect();
    let scale = (fraction.len() as i64 - exponent).max(0) as usize;
    let point = whole.len() as i64 + exponent;
    let mut int_part;
    let mut frac_part;
    if point <= 0 {
        int_part = String::from("0");
        frac_part = "0".repeat(point.unsigned_abs() as usize) + &digits;
    } else if point as usize >= digits.len() {
        int_part = digits.clone() + &"0".repeat(point as usize - digits.len());
        frac_part = String::new();
    } else {
        int_part = digits[..point as usize].to_owned();
        frac_part = digits[point as usize..].to_owned();
    }
    let trimmed = int_part.trim_start_matches('0');
    int_part = if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    };
    frac_part.truncate(scale);
    while frac_part.len() < scale {
        frac_part.push('0');
    }
    let zero = int_part == "0" && frac_part.bytes().all(|b| b == b'0');
    let mut out = String::with_capacity(int_part.len() + frac_part.len() + 2);
    if negative && !zero {
        out.push('-');
    }
    out.push_str(&int_part);
    if !frac_part.is_empty() {
        out.push('.');
        out.push_str(&frac_part);
    }
    out
}

#[cfg(test)]
mod tests;
