//! Reading JSON text into a `serde_json::Value` with the checks key format v1 needs, which a
//! plain `serde_json::from_slice` does not make:
//!
//! - a member name repeated in one object is an error (RFC 8785 and I-JSON, RFC 7493), where
//!   serde_json keeps the last value;
//! - an integer literal outside the range of `i64` and `u64` is an error, where serde_json
//!   rounds it to a double (so that `2^64` and `2^64+1` would share a key); other number
//!   literals are doubles (RFC 8785), read as serde_json reads them;
//! - arrays and objects nested deeper than [`MAX_DEPTH`] levels are an error, counted as the
//!   canonical writer counts them.
//!
//! serde_json does the parsing; a visitor builds the `Value` and makes the checks, keeping the
//! path of the value it is in for the error messages. serde_json does not tell an integer
//! literal beyond 64 bits from a double (both reach the visitor as an `f64`), so the number
//! literals are first found by a scan of the text, and the visitor counts numbers to know which
//! one it is given.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::writer::MAX_DEPTH;
use crate::error::{EncodeError, KeyError};

/// Reads the arguments of a tool call: a JSON object, whose members are the arguments.
///
/// # Errors
/// [`KeyError::InvalidJson`], [`KeyError::ArgumentsNotObject`],
/// [`KeyError::DuplicateMember`], [`KeyError::IntegerOutOfRange`], and
/// [`KeyError::Encode`] with [`EncodeError::TooDeep`] naming the argument that nests too deep.
pub(crate) fn parse_arguments(json: &[u8]) -> Result<Value, KeyError> {
    let first = json.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        // Not an object: serde_json tells a syntax error from a value of another type (its own
        // recursion limit keeps a deep array from exhausting the stack).
        let value: Value = serde_json::from_slice(json).map_err(KeyError::InvalidJson)?;
        return Err(KeyError::ArgumentsNotObject {
            found: super::json::json_type_name(&value),
        });
    }
    // The arguments object is not a level (as for the canonical writer): its members may nest
    // MAX_DEPTH levels.
    parse(json, 0, MAX_DEPTH + 1).map_err(|err| match err {
        TextError::Syntax(source) => KeyError::InvalidJson(source),
        TextError::DuplicateMember { pointer, name } => KeyError::DuplicateMember {
            pointer: pointer.to_string(),
            name,
        },
        TextError::IntegerOutOfRange { pointer, literal } => KeyError::IntegerOutOfRange {
            pointer: pointer.to_string(),
            literal,
        },
        TextError::TooDeep { pointer } => KeyError::Encode {
            field: pointer.argument().to_owned(),
            source: EncodeError::TooDeep { limit: MAX_DEPTH },
        },
    })
}

/// Reads one JSON value that sits inside `depth` open arrays and objects (the text of a
/// serde_json `RawValue`).
///
/// # Errors
/// [`EncodeError::DuplicateMember`], [`EncodeError::IntegerOutOfRange`],
/// [`EncodeError::TooDeep`], or [`EncodeError::Serde`] for a syntax error.
pub(crate) fn parse_value(json: &[u8], depth: usize) -> Result<Value, EncodeError> {
    parse(json, depth, MAX_DEPTH).map_err(|err| match err {
        TextError::Syntax(source) => EncodeError::Serde(source.to_string()),
        TextError::DuplicateMember { name, .. } => EncodeError::DuplicateMember { name },
        TextError::IntegerOutOfRange { literal, .. } => EncodeError::IntegerOutOfRange { literal },
        TextError::TooDeep { .. } => EncodeError::TooDeep { limit: MAX_DEPTH },
    })
}

/// What went wrong, with where.
#[derive(Debug)]
enum TextError {
    Syntax(serde_json::Error),
    DuplicateMember { pointer: Pointer, name: String },
    IntegerOutOfRange { pointer: Pointer, literal: String },
    TooDeep { pointer: Pointer },
}

/// Parses `json` with the checks: at most `limit` levels open, `depth` of them already.
fn parse(json: &[u8], depth: usize, limit: usize) -> Result<Value, TextError> {
    let mut state = State {
        json,
        bad_integers: out_of_range_integers(json),
        numbers_seen: 0,
        path: Vec::new(),
        depth,
        limit,
        error: None,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    // The visitor counts levels and stops at `limit`, long before the stack runs out; serde_json's
    // own limit (127 levels) would stop an argument short of MAX_DEPTH.
    deserializer.disable_recursion_limit();
    let parsed = ValueSeed { state: &mut state }
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match parsed {
        Ok(value) => Ok(value),
        Err(source) => Err(state.error.take().unwrap_or_else(|| state.syntax(source))),
    }
}

/// The parse in progress.
struct State<'j> {
    json: &'j [u8],
    /// Where the integer literals beyond 64 bits are: (which number of the text, byte range).
    bad_integers: Vec<(usize, std::ops::Range<usize>)>,
    /// How many numbers the visitor has been given.
    numbers_seen: usize,
    /// The path of the value being read.
    path: Vec<Segment>,
    /// Arrays and objects open.
    depth: usize,
    limit: usize,
    /// The error the visitor stopped on (serde's error type cannot carry it).
    error: Option<TextError>,
}

impl State<'_> {
    /// Records `error` and returns the error that stops serde_json.
    fn fail<E: de::Error>(&mut self, error: TextError) -> E {
        self.error = Some(error);
        E::custom("stopped by a key format check")
    }

    fn pointer(&self) -> Pointer {
        Pointer(self.path.clone())
    }

    /// The integer literal beyond 64 bits that is number `ordinal` of the text, if it is one.
    fn bad_integer(&self, ordinal: usize) -> Option<String> {
        self.bad_integers
            .iter()
            .find(|(n, _)| *n == ordinal)
            .map(|(_, range)| String::from_utf8_lossy(&self.json[range.clone()]).into_owned())
    }

    /// Counts a number given to the visitor; an error if it is an integer beyond 64 bits.
    fn number<E: de::Error>(&mut self) -> Result<(), E> {
        let ordinal = self.numbers_seen;
        self.numbers_seen += 1;
        match self.bad_integer(ordinal) {
            Some(literal) => {
                let pointer = self.pointer();
                Err(self.fail(TextError::IntegerOutOfRange { pointer, literal }))
            }
            None => Ok(()),
        }
    }

    /// The error for serde_json's own `source`: an integer literal so long that not even a
    /// double holds it fails in serde_json before the visitor sees it, and is reported as the
    /// integer it is.
    fn syntax(&self, source: serde_json::Error) -> TextError {
        let failed_at = byte_offset(self.json, source.line(), source.column());
        let literal = self
            .bad_integers
            .iter()
            .find(|(n, range)| *n == self.numbers_seen && range.contains(&failed_at))
            .map(|(_, range)| String::from_utf8_lossy(&self.json[range.clone()]).into_owned());
        match literal {
            Some(literal) => TextError::IntegerOutOfRange {
                pointer: self.pointer(),
                literal,
            },
            None => TextError::Syntax(source),
        }
    }

    fn enter<E: de::Error>(&mut self) -> Result<(), E> {
        self.depth += 1;
        if self.depth > self.limit {
            let pointer = self.pointer();
            return Err(self.fail(TextError::TooDeep { pointer }));
        }
        Ok(())
    }
}

/// The byte ranges of the integer literals (no fraction, no exponent) outside the range of
/// `i64` and `u64`, each with its rank among the number literals of the text.
fn out_of_range_integers(json: &[u8]) -> Vec<(usize, std::ops::Range<usize>)> {
    let mut found = Vec::new();
    let mut ordinal = 0;
    let mut i = 0;
    while let Some(&byte) = json.get(i) {
        match byte {
            b'"' => {
                // Skip the string, escapes included.
                i += 1;
                while let Some(&b) = json.get(i) {
                    i += if b == b'\\' { 2 } else { 1 };
                    if b == b'"' {
                        break;
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while json
                    .get(i)
                    .is_some_and(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                {
                    i += 1;
                }
                let token = &json[start..i];
                let digits = token.strip_prefix(b"-").unwrap_or(token);
                let integer = !digits.is_empty() && digits.iter().all(u8::is_ascii_digit);
                if integer && !fits_64_bits(token) {
                    found.push((ordinal, start..i));
                }
                ordinal += 1;
            }
            _ => i += 1,
        }
    }
    found
}

/// The byte offset of serde_json's error position (`line` from 1, `column` the number of bytes
/// read on that line), clamped to the text.
fn byte_offset(json: &[u8], line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        json.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(line - 2)
            .map_or(json.len(), |(i, _)| i + 1)
    };
    (line_start + column.saturating_sub(1)).min(json.len().saturating_sub(1))
}

/// Whether an integer literal is within `i64` or `u64`.
fn fits_64_bits(token: &[u8]) -> bool {
    std::str::from_utf8(token)
        .is_ok_and(|text| text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok())
}

/// One step of a path: a member name or an array index.
#[derive(Debug, Clone)]
enum Segment {
    Member(String),
    Index(usize),
}

/// A path into the arguments, written as a JSON pointer (RFC 6901).
#[derive(Debug)]
struct Pointer(Vec<Segment>);

impl Pointer {
    /// The argument the path is in (its first member name).
    fn argument(&self) -> &str {
        match self.0.first() {
            Some(Segment::Member(name)) => name,
            _ => "",
        }
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            // The empty pointer is the whole document, which reads badly in a message.
            return f.write_str("/");
        }
        for segment in &self.0 {
            match segment {
                Segment::Index(i) => write!(f, "/{i}")?,
                Segment::Member(name) => {
                    f.write_str("/")?;
                    f.write_str(&name.replace('~', "~0").replace('/', "~1"))?;
                }
            }
        }
        Ok(())
    }
}

/// Reads one value.
struct ValueSeed<'s, 'j> {
    state: &'s mut State<'j>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.state.number()?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.state.number()?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.state.number()?;
        // serde_json gives only finite numbers (it refuses `1e400`).
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let state = self.state;
        state.enter()?;
        let mut items = Vec::new();
        loop {
            state.path.push(Segment::Index(items.len()));
            // On an error the path is left as it is: it locates the error.
            match seq.next_element_seed(ValueSeed { state: &mut *state })? {
                Some(item) => items.push(item),
                None => break,
            }
            state.path.pop();
        }
        state.path.pop();
        state.depth -= 1;
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let state = self.state;
        state.enter()?;
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            state.path.push(Segment::Member(name.clone()));
            if members.contains_key(&name) {
                let pointer = state.pointer();
                return Err(state.fail(TextError::DuplicateMember { pointer, name }));
            }
            let value = map.next_value_seed(ValueSeed { state: &mut *state })?;
            state.path.pop();
            members.insert(name, value);
        }
        state.depth -= 1;
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_finds_integer_literals_beyond_64_bits_only() {
        let json = br#"{"18446744073709551616":[1,-9223372036854775809,"2\"99999999999999999999",1.8446744073709551616e19,18446744073709551616]}"#;
        let found: Vec<(usize, &[u8])> = out_of_range_integers(json)
            .into_iter()
            .map(|(n, range)| (n, &json[range]))
            .collect();
        assert_eq!(
            found,
            [
                (1, &b"-9223372036854775809"[..]),
                (3, &b"18446744073709551616"[..])
            ]
        );
    }

    #[test]
    fn pointers_escape_tilde_and_slash() {
        let pointer = Pointer(vec![
            Segment::Member("a/b".into()),
            Segment::Index(3),
            Segment::Member("~x".into()),
        ]);
        assert_eq!(pointer.to_string(), "/a~1b/3/~0x");
        assert_eq!(pointer.argument(), "a/b");
        assert_eq!(Pointer(Vec::new()).to_string(), "/");
    }

    #[test]
    fn byte_offsets_follow_lines() {
        let json = b"{\n  \"a\": 1\n}";
        assert_eq!(byte_offset(json, 1, 1), 0);
        assert_eq!(byte_offset(json, 2, 3), 4);
        assert_eq!(byte_offset(json, 9, 9), json.len() - 1);
    }

    #[test]
    fn a_raw_value_counts_the_levels_above_it() {
        assert!(parse_value(b"[[0]]", MAX_DEPTH - 2).is_ok());
        assert!(matches!(
            parse_value(b"[[0]]", MAX_DEPTH - 1),
            Err(EncodeError::TooDeep { limit: MAX_DEPTH })
        ));
        assert!(matches!(
            parse_value(br#"{"a":1,"a":1}"#, 0),
            Err(EncodeError::DuplicateMember { name }) if name == "a"
        ));
    }
}
