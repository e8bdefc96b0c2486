//! Rows written and read by hand, beside the store: planted rows it did not write, the columns of
//! a row it wrote, the rows of its table.

use idem::store::{PostgresStore, RecordKey};
use serde::Deserialize;
use serde_json::value::RawValue;

pub(super) async fn count_rows(store: &PostgresStore) -> i64 {
    let client = store.pool().get().await.expect("a connection");
    let query = format!("SELECT count(*) FROM {}", store.table().quoted());
    client
        .query_one(query.as_str(), &[])
        .await
        .expect("count")
        .get(0)
}

/// The columns of a row, to plant rows the store did not write.
#[derive(Debug, Clone)]
pub(super) struct RawRow {
    pub(super) format: i16,
    pub(super) state: Option<String>,
    pub(super) token: Option<String>,
    pub(super) fingerprint: Option<String>,
    pub(super) created_at: Option<i64>,
    pub(super) lease_until: Option<i64>,
    pub(super) expires_at: Option<i64>,
    pub(super) output: Option<String>,
    pub(super) error: Option<String>,
}

impl RawRow {
    /// A well-formed completed row, to spoil one column at a time.
    pub(super) fn completed(expires_at: i64) -> Self {
        RawRow {
            format: 1,
            state: Some("completed".into()),
            token: Some("t".into()),
            fingerprint: Some("f".into()),
            created_at: Some(1),
            lease_until: None,
            expires_at: Some(expires_at),
            output: Some("{\"ok\":true}".into()),
            error: None,
        }
    }

    /// The row that `bytes` describe: the fields of a JSON object go to the columns of the same
    /// name (`idem_record` to `format`, 1 when absent; the output as raw JSON, `null` included;
    /// an unknown outcome's `reason` to `error`, where the store keeps it); anything else goes,
    /// as text, to `state`, which no state is named like.
    pub(super) fn from_bytes(bytes: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct Fields<'a> {
            idem_record: Option<i16>,
            state: Option<String>,
            token: Option<String>,
            fingerprint: Option<String>,
            created_at: Option<i64>,
            lease_until: Option<i64>,
            expires_at: Option<i64>,
            #[serde(default, borrow, deserialize_with = "present")]
            output: Option<&'a RawValue>,
            error: Option<String>,
            reason: Option<String>,
        }
        /// An `output` member, whatever its value: `null` is an output.
        fn present<'de, D: serde::Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<&'de RawValue>, D::Error> {
            <&'de RawValue>::deserialize(deserializer).map(Some)
        }
        match serde_json::from_slice::<Fields<'_>>(bytes) {
            Ok(f) => RawRow {
                format: f.idem_record.unwrap_or(1),
                state: f.state,
                token: f.token,
                fingerprint: f.fingerprint,
                created_at: f.created_at,
                lease_until: f.lease_until,
                expires_at: f.expires_at,
                output: f.output.map(|o| o.get().to_owned()),
                error: f.error.or(f.reason),
            },
            Err(_) => RawRow {
                format: 1,
                state: Some(String::from_utf8_lossy(bytes).replace('\0', "\\0")),
                token: None,
                fingerprint: None,
                created_at: None,
                lease_until: None,
                expires_at: None,
                output: None,
                error: None,
            },
        }
    }
}

/// Writes `row` as the record of `key`, whatever is there.
pub(super) async fn plant(store: &PostgresStore, key: RecordKey<'_>, row: &RawRow) {
    let client = store.pool().get().await.expect("a connection");
    let statement = format!(
        "INSERT INTO {} (tool, key, format, state, token, fingerprint, created_at, lease_until, \
             expires_at, output, error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::json, $11) \
         ON CONFLICT (tool, key) DO UPDATE SET format = EXCLUDED.format, state = EXCLUDED.state, \
             token = EXCLUDED.token, fingerprint = EXCLUDED.fingerprint, \
             created_at = EXCLUDED.created_at, lease_until = EXCLUDED.lease_until, \
             expires_at = EXCLUDED.expires_at, output = EXCLUDED.output, error = EXCLUDED.error",
        store.table().quoted()
    );
    client
        .execute(
            statement.as_str(),
            &[
                &key.tool.as_bytes(),
                &key.key.as_bytes(),
                &row.format,
                &row.state,
                &row.token,
                &row.fingerprint,
                &row.created_at,
                &row.lease_until,
                &row.expires_at,
                &row.output,
                &row.error,
            ],
        )
        .await
        .unwrap_or_else(|e| panic!("plant {row:?}: {e}"));
}

/// One row's columns as the store wrote them: `(format, state, created_at, lease_until,
/// expires_at, output IS NULL, output::text, error)`.
pub(super) type Columns = (
    i16,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    bool,
    Option<String>,
    Option<String>,
);

pub(super) async fn columns(store: &PostgresStore, key: RecordKey<'_>) -> Columns {
    let client = store.pool().get().await.expect("a connection");
    let query = format!(
        "SELECT format, state, created_at, lease_until, expires_at, output IS NULL, \
             output::text, error \
         FROM {} WHERE tool = $1 AND key = $2",
        store.table().quoted()
    );
    let row = client
        .query_one(query.as_str(), &[&key.tool.as_bytes(), &key.key.as_bytes()])
        .await
        .unwrap_or_else(|e| panic!("the row of {key}: {e}"));
    (
        row.get(0),
        row.get(1),
        row.get(2),
        row.get(3),
        row.get(4),
        row.get(5),
        row.get(6),
        row.get(7),
    )
}
