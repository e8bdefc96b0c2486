//! The fleet proof on `RedisStore`: worker processes sharing one Redis server (see
//! `tests/fleet/mod.rs` for the harness and `tests/fleet/scenarios.rs` for what is proved).
//!
//! The tests read the server's URL from `IDEM_REDIS_URL` (`redis://127.0.0.1:6379`) and skip,
//! saying so, when it is not set. The server may be shared: each test works under a prefix of
//! its own (its records, and its ledger, a list at `{prefix}:ledger`), removes it at the end,
//! and cuts connections only through a proxy of its own.
#![cfg(feature = "redis")]

mod fleet;
mod support;

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use fleet::{Backend, Entry, Tuning};
use idem::store::{RecordKey, RedisOptions, RedisStore, Store, StoreError};
use support::resp::{Raw, Resp};
use support::test_name;
use support::urls::RedisUrl;

#[test]
fn fleet_worker() {
    fleet::worker::main::<Redis>();
}

#[test]
fn exactly_once_across_processes() {
    fleet::scenarios::exactly_once::<Redis>(&test_name!());
}

#[test]
fn a_worker_killed_in_its_tool_is_taken_over_once() {
    fleet::scenarios::killed_mid_tool::<Redis>(&test_name!());
}

#[test]
fn a_worker_stopped_past_its_lease_loses_its_claim() {
    fleet::scenarios::stopped_past_lease::<Redis>(&test_name!());
}

#[test]
fn an_outage_in_the_middle_of_a_load() {
    // One store operation under `Tuning::Short`: up to two round trips (a compare and set
    // follows a claim that found a record to replace), each within 300 + 300 ms.
    fleet::scenarios::outage::<Redis>(&test_name!(), Duration::from_millis(1_200));
}

// ---------------------------------------------------------------------------------------------
// The backend

struct Redis {
    url: String,
    ns: String,
    admin: Arc<RedisStore>,
    /// Idle raw connections, for the ledger.
    raw: Arc<Mutex<Vec<Raw>>>,
}

/// A store of the namespace `ns` at `url`.
async fn connect(url: &str, ns: &str, tuning: Tuning) -> Result<RedisStore, StoreError> {
    let options = RedisOptions::new()
        .with_prefix(ns)
        .expect("a valid prefix")
        // Claims a failed test leaves behind vanish within 10 minutes after their lease.
        .with_claim_grace(Duration::from_secs(600));
    let options = match tuning {
        Tuning::Normal => options,
        Tuning::Short => options
            .with_connect_timeout(Duration::from_millis(300))
            .with_response_timeout(Duration::from_millis(300)),
    };
    RedisStore::connect_with(url, options).await
}

impl Redis {
    fn ledger_key(&self) -> Vec<u8> {
        // `{prefix}:ledger` is no address of the store (`{prefix}:{n}:...`).
        format!("{}:ledger", self.ns).into_bytes()
    }

    /// Runs `command` on a raw connection, off the runtime's threads.
    async fn raw(&self, command: Vec<Vec<u8>>) -> io::Result<Resp> {
        let (pool, url) = (Arc::clone(&self.raw), self.url.clone());
        tokio::task::spawn_blocking(move || {
            let idle = pool.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let mut conn = match idle {
                Some(conn) => conn,
                None => Raw::connect(&url)?,
            };
            let args: Vec<&[u8]> = command.iter().map(Vec::as_slice).collect();
            let reply = conn.try_cmd(&args)?;
            pool.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
            Ok(reply)
        })
        .await
        .expect("a blocking task")
    }
}

impl Backend for Redis {
    const NAME: &'static str = "redis";
    const URL_VAR: &'static str = "IDEM_REDIS_URL";

    fn upstream(url: &str) -> Option<String> {
        RedisUrl::parse(url).map(|u| u.host)
    }

    async fn open(url: String, ns: String, _setup: bool) -> Self {
        assert!(
            RedisUrl::parse(&url).is_some(),
            "the fleet tests keep their ledger with a raw client that reads \
             redis://[[user]:password@]host[:port][/db] URLs only; {} is not one",
            Self::URL_VAR
        );
        let admin = connect(&url, &ns, Tuning::Normal)
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", Self::URL_VAR));
        Redis {
            url,
            ns,
            admin: Arc::new(admin),
            raw: Arc::default(),
        }
    }

    async fn store(&self, via: Option<&str>, tuning: Tuning) -> Result<Arc<dyn Store>, StoreError> {
        let url = match via {
            Some(proxy) => RedisUrl::parse(&self.url)
                .expect("a URL the proxy can forward")
                .with_host(proxy),
            None => self.url.clone(),
        };
        Ok(Arc::new(connect(&url, &self.ns, tuning).await?))
    }

    fn admin(&self) -> Arc<dyn Store> {
        Arc::clone(&self.admin) as Arc<dyn Store>
    }

    async fn append(&self, order: &str, call: &str) -> Result<(), String> {
        let entry = format!("{order}\t{call}").into_bytes();
        match self
            .raw(vec![b"RPUSH".to_vec(), self.ledger_key(), entry])
            .await
        {
            Ok(Resp::Int(_)) => Ok(()),
            other => Err(format!("RPUSH to the ledger: {other:?}")),
        }
    }

    async fn ledger(&self) -> Vec<Entry> {
        let reply = self
            .raw(vec![
                b"LRANGE".to_vec(),
                self.ledger_key(),
                b"0".to_vec(),
                b"-1".to_vec(),
            ])
            .await
            .expect("LRANGE the ledger");
        let Resp::Array(items) = reply else {
            panic!("LRANGE the ledger: {reply:?}");
        };
        items
            .into_iter()
            .map(|item| match item {
                Resp::Bulk(Some(bytes)) => {
                    let text = String::from_utf8(bytes).expect("a UTF-8 entry");
                    let (order, call) = text.split_once('\t').expect("order<TAB>call");
                    Entry {
                        order: order.to_owned(),
                        call: call.to_owned(),
                    }
                }
                other => panic!("a ledger entry: {other:?}"),
            })
            .collect()
    }

    async fn plant_corrupt(&self, key: RecordKey<'_>) {
        let address = self.admin.redis_key(key);
        let reply = self
            .raw(vec![
                b"SET".to_vec(),
                address,
                b"{\"idem_record\":1,\"state\":\"\xff".to_vec(),
            ])
            .await;
        assert!(
            matches!(&reply, Ok(Resp::Simple(ok)) if ok == "OK"),
            "SET: {reply:?}"
        );
    }

    async fn cleanup(&self) {
        if let Err(err) = self.admin.purge(true).await {
            eprintln!("the records of {} were not removed: {err}", self.ns);
        }
        if let Err(err) = self.raw(vec![b"DEL".to_vec(), self.ledger_key()]).await {
            eprintln!("the ledger of {} was not removed: {err}", self.ns);
        }
    }
}
