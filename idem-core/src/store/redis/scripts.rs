//! The Lua scripts of [`RedisStore`](super::RedisStore), their replies, and the TTLs they set.
//! Every script takes its one key as `KEYS[1]` and only compares bytes: no value can make it
//! fail.

use std::fmt;
use std::time::Duration;

use redis::{Script, Value};

use crate::store::StoreError;

/// The longest Redis TTL set, in ms (about 31,700 years: never, in practice). Redis refuses
/// expiry times that overflow its clock.
pub(super) const MAX_PX: u64 = 1_000_000_000_000_000;

/// A Lua script and its source (to load it in pipelines).
pub(super) struct LuaScript {
    pub(super) script: Script,
    pub(super) code: &'static str,
}

impl LuaScript {
    pub(super) fn new(code: &'static str) -> Self {
        LuaScript {
            script: Script::new(code),
            code,
        }
    }
}

pub(super) struct Scripts {
    pub(super) claim: LuaScript,
    pub(super) take_over: LuaScript,
    pub(super) renew: LuaScript,
    pub(super) set_if: LuaScript,
    pub(super) delete_if: LuaScript,
}

impl Scripts {
    pub(super) fn new() -> Self {
        Scripts {
            claim: LuaScript::new(CLAIM),
            take_over: LuaScript::new(TAKE_OVER),
            renew: LuaScript::new(RENEW),
            set_if: LuaScript::new(SET_IF),
            delete_if: LuaScript::new(DELETE_IF),
        }
    }

    pub(super) fn all(&self) -> [&LuaScript; 5] {
        [
            &self.claim,
            &self.take_over,
            &self.renew,
            &self.set_if,
            &self.delete_if,
        ]
    }
}

// Every script reads its one key as KEYS[1]; a GET is `redis.pcall`ed so that a key of another
// type is an answer ({-1, error}), not a script error. Replies: {1} done, {0} absent,
// {0, value} the value found (for Rust to decode), {0, value, pttl} the same with the key's
// `PTTL`, {2} a live claim (the takeover), {-1, error} a key of another type.

/// Lua: reads the key into `found`, and answers for the script when there is nothing to compare:
/// {-1, error} for a key of another type, {0} for no key.
macro_rules! read_found_lua {
    () => {
        r#"
local found = redis.pcall('GET', KEYS[1])
if type(found) == 'table' then
  return {-1, tostring(found.err)}
end
if not found then
  return {0}
end
"#
    };
}

/// ARGV[1]: the in-progress record; ARGV[2]: its Redis TTL (ms). Sets the key unless it
/// exists; else answers its value and its `PTTL`.
pub(super) const CLAIM: &str = concat!(
    r#"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1}
end
"#,
    read_found_lua!(),
    r#"
return {0, found, redis.call('PTTL', KEYS[1])}
"#
);

/// ARGV[1]: the in-progress record read; ARGV[2]: the new claim; ARGV[3]: its Redis TTL (ms);
/// ARGV[4]: the claim grace (ms). Replaces the record read by the new claim if the key still
/// holds it, byte for byte, and its lease has ended on the server's clock: its `PTTL` is the
/// grace or less (-1, no expiry, included). Else {2} for a live claim, or the value now there
/// with its `PTTL`.
pub(super) const TAKE_OVER: &str = concat!(
    read_found_lua!(),
    r#"
local pttl = redis.call('PTTL', KEYS[1])
if found ~= ARGV[1] then
  return {0, found, pttl}
end
if pttl > tonumber(ARGV[4]) then
  return {2}
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return {1}
"#
);

/// ARGV[1]: the claim expected; ARGV[2]: its new Redis TTL (ms). Sets the key's TTL, its value
/// unchanged, only if it holds the expected claim, byte for byte.
pub(super) const RENEW: &str = concat!(
    read_found_lua!(),
    r#"
if found ~= ARGV[1] then
  return {0, found}
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1}
"#
);

/// ARGV[1]: the value expected; ARGV[2]: the new value; ARGV[3]: its Redis TTL (ms). Sets the
/// key to the new value only if it holds the expected one, byte for byte.
pub(super) const SET_IF: &str = concat!(
    read_found_lua!(),
    r#"
if found ~= ARGV[1] then
  return {0, found}
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return {1}
"#
);

/// ARGV[1]: the value expected. Deletes the key only if it holds the expected value, byte for
/// byte.
pub(super) const DELETE_IF: &str = concat!(
    read_found_lua!(),
    r#"
if found ~= ARGV[1] then
  return {0, found}
end
redis.call('DEL', KEYS[1])
return {1}
"#
);

/// A script's answer.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Reply {
    Done,
    Absent,
    /// Another value than expected (or a claim found taken), with the key's `PTTL` (ms; -1 for
    /// no expiry) when the script read it.
    Found {
        value: Vec<u8>,
        pttl: Option<i64>,
    },
    /// The takeover found the claim expected still live.
    Live,
    /// The key holds another Redis type; the server's error.
    WrongType(String),
}

impl Reply {
    pub(super) fn parse(value: Value) -> Result<Reply, StoreError> {
        let unexpected = |what: &dyn fmt::Debug| StoreError::Unavailable {
            store: "redis",
            source: format!("unexpected answer from a script: {what:?}").into(),
        };
        let Value::Array(items) = value else {
            return Err(unexpected(&value));
        };
        let mut items = items.into_iter();
        match (items.next(), items.next(), items.next(), items.next()) {
            (Some(Value::Int(1)), None, None, None) => Ok(Reply::Done),
            (Some(Value::Int(0)), None, None, None) => Ok(Reply::Absent),
            (Some(Value::Int(0)), Some(Value::BulkString(value)), pttl, None) => {
                let pttl = match pttl {
                    None => None,
                    Some(Value::Int(pttl)) => Some(pttl),
                    Some(other) => return Err(unexpected(&other)),
                };
                Ok(Reply::Found { value, pttl })
            }
            (Some(Value::Int(2)), None, None, None) => Ok(Reply::Live),
            (Some(Value::Int(-1)), Some(Value::BulkString(error)), None, None) => Ok(
                Reply::WrongType(String::from_utf8_lossy(&error).into_owned()),
            ),
            other => Err(unexpected(&other)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

/// A Redis TTL in ms: at least 1 (Redis refuses 0), at most [`MAX_PX`].
pub(super) fn px_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_PX)
}

/// The claim grace in ms, as `PTTL`s are compared with it: at most [`MAX_PX`] (the longest
/// TTL the store sets).
pub(super) fn grace_ms(grace: Duration) -> i64 {
    let ms = u64::try_from(grace.as_millis())
        .unwrap_or(u64::MAX)
        .min(MAX_PX);
    i64::try_from(ms).unwrap_or(i64::MAX)
}
