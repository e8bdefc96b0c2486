//! `idem store get`: one record, by `TOOL/KEY`, by its key alone, or by the start of its key.

use std::io::Write;

use idem_core::store::{Store, StoredRecord, UnixMillis};

use super::list::sorted_records;
use super::render;
use crate::error::CliError;

/// What `get` looks for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Query<'a> {
    /// `TOOL/KEY` or a bare key; a bare key when `tool` is given.
    pub(super) key: &'a str,
    pub(super) tool: Option<&'a str>,
}

/// How [`Query::matches`] compares the key given with a record's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyMatch {
    /// The whole key.
    Exact,
    /// The start of the key (not empty).
    Prefix,
}

impl Query<'_> {
    fn matches(&self, record: &StoredRecord, how: KeyMatch) -> bool {
        let key_matches = |given: &str| match how {
            KeyMatch::Exact => record.key == given,
            KeyMatch::Prefix => !given.is_empty() && record.key.starts_with(given),
        };
        match self.tool {
            Some(tool) => record.tool == tool && key_matches(self.key),
            None => {
                key_matches(self.key)
                    || self
                        .key
                        .strip_prefix(record.tool.as_str())
                        .and_then(|rest| rest.strip_prefix('/'))
                        .is_some_and(key_matches)
            }
        }
    }

    /// How the query reads in an error.
    fn text(&self) -> String {
        match self.tool {
            Some(tool) => format!("{tool}/{}", self.key),
            None => self.key.to_owned(),
        }
    }
}

/// `idem store get`. The records are listed and searched, so that a bare key finds its tool and
/// expired and corrupt records are shown as well (a store's `get` hides both). Whole keys are
/// looked for first; when none matches, the query is taken as the start of a key.
pub(super) async fn get(
    store: &dyn Store,
    query: Query<'_>,
    now: UnixMillis,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let records = sorted_records(store).await?;
    let find =
        |how| -> Vec<&StoredRecord> { records.iter().filter(|r| query.matches(r, how)).collect() };
    let (mut found, how) = match find(KeyMatch::Exact) {
        exact if exact.is_empty() => (find(KeyMatch::Prefix), KeyMatch::Prefix),
        exact => (exact, KeyMatch::Exact),
    };
    let names = |found: &[&StoredRecord]| -> Vec<String> {
        found
            .iter()
            .map(|r| format!("{}/{}", r.tool, r.key))
            .collect()
    };
    match (found.len(), how) {
        (0, _) => Err(CliError::RecordNotFound {
            query: query.text(),
        }),
        (1, _) => render::write_record(out, found.remove(0), now).map_err(CliError::WriteStdout),
        (_, KeyMatch::Exact) => Err(CliError::AmbiguousKey {
            query: query.text(),
            matches: names(&found),
        }),
        (_, KeyMatch::Prefix) => Err(CliError::AmbiguousKeyPrefix {
            query: query.text(),
            matches: names(&found),
        }),
    }
}
