//! The operations of the [`Store`](crate::store::Store) trait on PostgreSQL, one statement each:
//! what `impl Store for PostgresStore` (in `mod.rs`) calls.

use std::time::Duration;

use tokio_postgres::types::ToSql;

use super::failure::check_text;
use super::row::{self, millis};
use super::schema::{ROW_FORMAT, ROW_FORMAT_V1};
use super::{CLAIM_ATTEMPTS, PostgresStore};
use crate::store::record::checked_output;
use crate::store::{
    Claim, ClaimOutcome, Completion, Record, RecordKey, StoreError, StoredRecord, UnixMillis,
    Unreadable,
};

impl PostgresStore {
    pub(super) async fn claim_now(
        &self,
        key: RecordKey<'_>,
        claim: &Claim<'_>,
    ) -> Result<ClaimOutcome, StoreError> {
        let name = key.to_string();
        let address = key.tool.len() + key.key.len();
        StoreError::check_size(&name, address, Self::MAX_ADDRESS_LEN)?;
        check_text(&name, "token", claim.token)?;
        check_text(&name, "fingerprint", claim.fingerprint)?;
        self.check_size(&name, claim.token.len() + claim.fingerprint.len())?;
        let lease = millis(claim.lease);
        let params: [&(dyn ToSql + Sync); 5] = [
            &key.tool.as_bytes(),
            &key.key.as_bytes(),
            &claim.token,
            &claim.fingerprint,
            &lease,
        ];
        for _ in 0..CLAIM_ATTEMPTS {
            let rows = match self.query(&self.sql.claim, &params).await {
                Ok(rows) => rows,
                Err(failure) if failure.retryable() => continue,
                Err(failure) => return Err(failure.into_store(&name)),
            };
            let Some(row) = rows.first() else { continue };
            let unreadable = |e: tokio_postgres::Error| StoreError::Corrupt {
                key: name.clone(),
                reason: format!("the claim's answer cannot be read: {e}"),
            };
            if row.try_get::<_, bool>(0).map_err(unreadable)? {
                let previous: Option<String> = row.try_get(1).map_err(unreadable)?;
                return Ok(match previous {
                    Some(previous_token) => ClaimOutcome::TookOver { previous_token },
                    None => ClaimOutcome::Claimed,
                });
            }
            // Not won: the record found, unless a claim of the key committed after this
            // statement's snapshot (none found, or one the statement could have claimed at
            // the server's time it read).
            let server_now: i64 = row.try_get(2).map_err(unreadable)?;
            let server_now = UnixMillis(u64::try_from(server_now).unwrap_or(0));
            match row::decode(&name, row, 3)? {
                Some(record)
                    if !record.lease_expired(server_now) && !record.is_expired(server_now) =>
                {
                    return Ok(ClaimOutcome::Existing(record));
                }
                _ => continue,
            }
        }
        Err(StoreError::Unavailable {
            store: "postgres",
            source: format!(
                "the record of `{name}` changed under {CLAIM_ATTEMPTS} claims in a row"
            )
            .into(),
        })
    }

    pub(super) async fn renew_now(
        &self,
        key: RecordKey<'_>,
        claim: &Claim<'_>,
    ) -> Result<(), StoreError> {
        let token = claim.token;
        let name = key.to_string();
        let lease = millis(claim.lease);
        let params: [&(dyn ToSql + Sync); 4] =
            [&key.tool.as_bytes(), &key.key.as_bytes(), &token, &lease];
        self.update_claim(key, &name, token, &self.sql.renew, &params)
            .await
    }

    pub(super) async fn complete_now(
        &self,
        key: RecordKey<'_>,
        claim: &Claim<'_>,
        completion: &Completion,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let token = claim.token;
        let name = key.to_string();
        let (format, state, output, error) = match completion {
            Completion::Output(bytes) => {
                self.check_size(&name, bytes.len())?;
                let output = checked_output(&name, bytes)?.get();
                (ROW_FORMAT_V1, "completed", Some(output), None)
            }
            Completion::Marker => (ROW_FORMAT_V1, "completed", None, None),
            Completion::Failed(error) => {
                self.check_size(&name, error.len())?;
                check_text(&name, "error message", error)?;
                (ROW_FORMAT_V1, "failed", None, Some(error.as_str()))
            }
            // The reason goes to `error`: see the table in `PostgresStore`'s docs.
            Completion::Unknown(reason) => {
                self.check_size(&name, reason.len())?;
                check_text(&name, "reason", reason)?;
                (ROW_FORMAT, "unknown", None, Some(reason.as_str()))
            }
        };
        let ttl = millis(ttl);
        let params: [&(dyn ToSql + Sync); 8] = [
            &key.tool.as_bytes(),
            &key.key.as_bytes(),
            &token,
            &format,
            &state,
            &ttl,
            &output,
            &error,
        ];
        self.update_claim(key, &name, token, &self.sql.complete, &params)
            .await
    }

    pub(super) async fn release_now(
        &self,
        key: RecordKey<'_>,
        claim: &Claim<'_>,
    ) -> Result<bool, StoreError> {
        let token = claim.token;
        let name = key.to_string();
        if !token.contains('\0') {
            let params: [&(dyn ToSql + Sync); 3] =
                [&key.tool.as_bytes(), &key.key.as_bytes(), &token];
            let removed = self
                .execute(&self.sql.release, &params)
                .await
                .map_err(|f| f.into_store(&name))?;
            if removed > 0 {
                return Ok(true);
            }
        }
        // Nothing removed: say so, unless the record cannot be read at all.
        self.fetch(key, &name).await?;
        Ok(false)
    }

    pub(super) async fn get_now(&self, key: RecordKey<'_>) -> Result<Option<Record>, StoreError> {
        let name = key.to_string();
        self.fetch(key, &name).await
    }

    pub(super) async fn delete_now(&self, key: RecordKey<'_>) -> Result<bool, StoreError> {
        let removed = self
            .execute(
                &self.sql.delete,
                &[&key.tool.as_bytes(), &key.key.as_bytes()],
            )
            .await
            .map_err(|f| f.into_store(&key.to_string()))?;
        Ok(removed > 0)
    }

    pub(super) async fn list_now(&self) -> Result<Vec<StoredRecord>, StoreError> {
        let rows = self
            .query(&self.sql.list, &[])
            .await
            .map_err(|f| f.into_store(&self.options.table().to_string()))?;
        let mut all = Vec::with_capacity(rows.len());
        for row in &rows {
            let bytes = |index| {
                row.try_get::<_, Vec<u8>>(index)
                    .map_err(|e| e.to_string())
                    .and_then(row::text)
            };
            let (tool, key) = (bytes(0), bytes(1));
            let record = match (&tool, &key) {
                (Ok(tool), Ok(key)) => {
                    let name = RecordKey { tool, key }.to_string();
                    match row::decode(&name, row, 2) {
                        Ok(Some(record)) => Ok(record),
                        Ok(None) => Err(Unreadable::Corrupt(format!(
                            "the row of `{name}` has no format"
                        ))),
                        Err(err) => Err(Unreadable::from(err)),
                    }
                }
                _ => Err(Unreadable::Corrupt(
                    "the tool id or the key is not UTF-8 text".to_owned(),
                )),
            };
            all.push(StoredRecord {
                tool: tool.unwrap_or_else(|lossy| lossy),
                key: key.unwrap_or_else(|lossy| lossy),
                record,
            });
        }
        Ok(all)
    }

    pub(super) async fn purge_now(&self, all: bool) -> Result<u64, StoreError> {
        let sql = if all {
            &self.sql.purge_all
        } else {
            &self.sql.purge_expired
        };
        let rows = self
            .query(sql, &[])
            .await
            .map_err(|f| f.into_store(&self.options.table().to_string()))?;
        let removed = rows.first().and_then(|row| row.try_get::<_, i64>(0).ok());
        Ok(removed.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
    }
}

/// What the renewal and completion share, and the read that names a lost claim.
impl PostgresStore {
    /// Runs `sql`, an `UPDATE` of the in-progress row of `token` at `key` (a renewal or a
    /// completion), with `params`: `Ok` when it updated the row, else
    /// [`StoreError::ClaimLost`], unless the record there cannot be read at all (then its
    /// `Corrupt` or `UnsupportedFormat`). `name` names the record in errors.
    pub(super) async fn update_claim(
        &self,
        key: RecordKey<'_>,
        name: &str,
        token: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<(), StoreError> {
        // A token `text` cannot hold is no claim's.
        if !token.contains('\0') {
            let updated = self
                .execute(sql, params)
                .await
                .map_err(|f| f.into_store(name))?;
            if updated > 0 {
                return Ok(());
            }
        }
        // Not a claim of `token`: lost, unless the record cannot be read at all.
        self.fetch(key, name).await?;
        Err(StoreError::ClaimLost {
            key: name.to_owned(),
        })
    }

    /// The record of `key`, unless it has expired on the server's clock (a row the store cannot
    /// read is an error, expired or not); `name` names it in errors.
    pub(super) async fn fetch(
        &self,
        key: RecordKey<'_>,
        name: &str,
    ) -> Result<Option<Record>, StoreError> {
        let rows = self
            .query(&self.sql.get, &[&key.tool.as_bytes(), &key.key.as_bytes()])
            .await
            .map_err(|f| f.into_store(name))?;
        match rows.first() {
            Some(row) => row::decode(name, row, 0),
            None => Ok(None),
        }
    }
}
