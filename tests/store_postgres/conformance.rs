//! The conformance suite on `PostgresStore`, with corrupt rows planted in the table.

use std::sync::Arc;

use idem::store::{BoxFuture, PostgresOptions, PostgresStore, RecordKey, Store};

use super::rows::{RawRow, plant};
use crate::store_conformance::{Corruptor, Fixture, TestTime};
use crate::support::fixture::PostgresFixture;

/// The conformance suite's [`Corruptor`]: plants the row the bytes describe.
struct PostgresCorruptor(Arc<PostgresStore>);

impl Corruptor for PostgresCorruptor {
    fn write_raw<'a>(&'a self, key: RecordKey<'a>, bytes: &'a [u8]) -> BoxFuture<'a, ()> {
        Box::pin(async move { plant(&self.0, key, &RawRow::from_bytes(bytes)).await })
    }
}

/// A store for the check `check`, on a table of its own, dropped at the end (passed or failed)
/// with its fixture, with corrupt rows planted in it.
async fn make(check: &'static str) -> Option<Fixture> {
    let pg = PostgresFixture::open(check)?;
    let store = pg.store(PostgresOptions::new()).await;
    let fixture = Fixture::new(Arc::clone(&store) as Arc<dyn Store>, TestTime::Real)
        .with_corruptor(PostgresCorruptor(store))
        .with_cleanup(move || async move { drop(pg) });
    Some(fixture)
}

// The suite, one test per check.
crate::store_conformance::suite!(make = make, corrupt);
