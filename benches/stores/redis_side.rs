//! Redis: the raw side, its counters, and the pairs.

#[allow(unused_imports)]
use super::*;

/// The raw side of Redis: its connection, its keys and the values it writes.
pub(crate) struct RawRedis {
    pub(crate) conn: ConnectionManager,
    pub(crate) prefix: String,
    pub(crate) ids: Ids,
    pub(crate) claim: Vec<u8>,
    /// The claim up to and including `"fingerprint":`: what the completion compares.
    pub(crate) claim_head: Vec<u8>,
    pub(crate) completed: Vec<u8>,
    pub(crate) claim_px: String,
    pub(crate) ttl_px: String,
    pub(crate) complete: redis::Script,
}

/// The raw completion: compare the head of the claim, set the completed record.
pub(crate) const RAW_COMPLETE: &str = r"
local found = redis.call('GET', KEYS[1])
if found and string.sub(found, 1, #ARGV[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
";

impl RawRedis {
    /// Key `n`, laid out as `RedisStore` lays out a key of 64 hex digits (`n` in hex: Redis
    /// hashes its keys, so their order does not matter, and the raw side need not pay for SHA-256).
    pub(crate) fn address(&self, n: u64) -> String {
        format!("{}:{}:{TOOL}:{n:064x}", self.prefix, TOOL.len())
    }

    pub(crate) async fn fresh_call(&self) -> Result<(), BoxError> {
        let address = self.address(self.ids.take());
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(&address)
            .arg(&self.claim)
            .arg("NX")
            .arg("PX")
            .arg(&self.claim_px)
            .query_async(&mut conn)
            .await?;
        ensure(set.is_some(), || format!("raw SET NX: {address} was taken"))?;
        let done: i64 = self
            .complete
            .key(&address)
            .arg(&self.claim_head)
            .arg(&self.completed)
            .arg(&self.ttl_px)
            .invoke_async(&mut conn)
            .await?;
        ensure(done == 1, || format!("raw completion of {address}: {done}"))
    }

    /// A replay made of the command `RedisStore` claims with on Redis 7: `SET claim NX PX GET`
    /// on a completed key, which answers with the record.
    pub(crate) async fn replay_set_nx_get(&self, n: u64) -> Result<(), BoxError> {
        let mut conn = self.conn.clone();
        let found: Option<Vec<u8>> = redis::cmd("SET")
            .arg(self.address(n % PRIMED))
            .arg(&self.claim)
            .arg("NX")
            .arg("PX")
            .arg(&self.claim_px)
            .arg("GET")
            .query_async(&mut conn)
            .await?;
        ensure(
            found.is_some_and(|v| v.len() == self.completed.len()),
            || "raw SET NX GET: not the completed record".into(),
        )
    }

    pub(crate) async fn replay(&self, n: u64) -> Result<(), BoxError> {
        let mut conn = self.conn.clone();
        let found: Option<Vec<u8>> = redis::cmd("GET")
            .arg(self.address(n % PRIMED))
            .query_async(&mut conn)
            .await?;
        ensure(
            found.is_some_and(|v| v.len() == self.completed.len()),
            || "raw GET: not the completed record".into(),
        )
    }
}

/// The server's CPU time (µs) and network bytes, in and out, from `INFO`.
pub(crate) async fn redis_counters(mut conn: ConnectionManager) -> Result<[f64; 2], BoxError> {
    let info: String = redis::cmd("INFO").query_async(&mut conn).await?;
    let field = |name: &str| -> f64 {
        info.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    Ok([
        (field("used_cpu_sys") + field("used_cpu_user")) * 1e6,
        field("total_net_input_bytes") + field("total_net_output_bytes"),
    ])
}

pub(crate) async fn redis_bench(url: &str, plan: Plan) -> Result<(), BoxError> {
    let base = unique("idem-bench", '-');
    let idem_prefix = format!("{base}:idem");
    let raw_prefix = format!("{base}:base");
    let store =
        RedisStore::connect_with(url, RedisOptions::new().with_prefix(&idem_prefix)?).await?;
    // Only to remove the raw side's keys at the end: they follow the store's layout.
    let raw_keys =
        RedisStore::connect_with(url, RedisOptions::new().with_prefix(&raw_prefix)?).await?;
    let measured = tokio::spawn(redis_measure(
        url.to_owned(),
        store.clone(),
        raw_prefix,
        plan,
    ))
    .await;
    let removed = store.purge(true).await;
    let raw_removed = raw_keys.purge(true).await;
    let mut results = measured??;
    println!(
        "(removed {} idem keys and {} raw keys)",
        removed?, raw_removed?
    );
    let costs = Costs {
        names: ["Redis CPU (µs)", "Redis network in + out (bytes)"],
        decimals: [1, 0],
    };
    report("Redis", plan, &mut results, &costs);
    Ok(())
}

pub(crate) async fn redis_measure(
    url: String,
    store: RedisStore,
    raw_prefix: String,
    plan: Plan,
) -> Result<Vec<PairResult>, BoxError> {
    let values = values()?;
    // The raw side's connection: a ConnectionManager set up as RedisStore sets up its own.
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(RedisOptions::DEFAULT_CONNECT_TIMEOUT))
        .set_response_timeout(Some(RedisOptions::DEFAULT_RESPONSE_TIMEOUT))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500));
    let conn =
        ConnectionManager::new_with_config(redis::Client::open(url.as_str())?, config).await?;
    let head_end = values
        .claim
        .windows(14)
        .position(|w| w == br#""fingerprint":"#)
        .ok_or("no fingerprint in the claim record")?
        + 14;
    let px = |d: Duration| d.as_millis().to_string();
    let raw = Arc::new(RawRedis {
        conn: conn.clone(),
        prefix: raw_prefix,
        ids: Ids::from(0),
        claim_head: values.claim[..head_end].to_vec(),
        claim: values.claim.clone(),
        completed: values.completed.clone(),
        claim_px: px(LEASE + store.claim_grace()),
        ttl_px: px(TTL),
        complete: redis::Script::new(RAW_COMPLETE),
    });
    redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(RAW_COMPLETE)
        .exec_async(&mut conn.clone())
        .await?;
    // Keys 0..PRIMED completed for the raw replays; fresh calls go on from there.
    for _ in 0..PRIMED {
        raw.fresh_call().await?;
    }
    // The primed keys stay.
    raw.ids.unremoved();
    let idem = IdemSide::new(Arc::new(store.clone())).await?;

    // Same sizes: the raw values are those idem wrote, give or take their bytes.
    let first = Idempotent::idempotency_key(&idem.primed[0], &Context::new())?;
    let idem_address = store.redis_key(RecordKey {
        tool: TOOL,
        key: first.as_str(),
    });
    let idem_value: Option<Vec<u8>> = redis::cmd("GET")
        .arg(&idem_address)
        .query_async(&mut conn.clone())
        .await?;
    ensure(idem_address.len() == raw.address(0).len(), || {
        "raw and idem Redis keys differ in length".into()
    })?;
    // Tokens end with a counter in hex: a few digits more or less.
    ensure(
        idem_value.is_some_and(|v| v.len().abs_diff(values.completed.len()) <= TOKEN_SLACK),
        || "raw and idem completed records differ in length".into(),
    )?;

    let raw_fresh = op_of(&raw, |raw, _| async move { raw.fresh_call().await });
    let raw_replay = op_of(&raw, |raw, n| async move { raw.replay(n).await });
    let mut pairs = standard_pairs(&idem, &values, raw_fresh, raw_replay)?;
    pairs.push(Pair {
        what: "replay, against a raw `SET NX PX GET` (idem's claim command)",
        idem: idem.replay(),
        raw: op_of(&raw, |raw, n| async move { raw.replay_set_nx_get(n).await }),
        target: false,
    });
    // The keys of fresh calls are removed after each run, so that the database does not grow
    // (for the other users of a shared server too: a SCAN walks every key).
    let tidy: Tidy = {
        let (idem, raw, store) = (Arc::clone(&idem), Arc::clone(&raw), store.clone());
        Arc::new(move || {
            let (idem, raw, store) = (Arc::clone(&idem), Arc::clone(&raw), store.clone());
            Box::pin(async move {
                let mut addresses: Vec<Vec<u8>> = idem
                    .written_keys()?
                    .iter()
                    .map(|key| store.redis_key(RecordKey { tool: TOOL, key }))
                    .collect();
                addresses.extend(raw.ids.unremoved().map(|n| raw.address(n).into_bytes()));
                let mut conn = raw.conn.clone();
                let mut removed = 0;
                for chunk in addresses.chunks(1_000) {
                    let count: u64 = redis::cmd("DEL").arg(chunk).query_async(&mut conn).await?;
                    removed += count;
                }
                ensure(removed == addresses.len() as u64, || {
                    format!("removed {removed} keys of {}", addresses.len())
                })
            })
        })
    };
    let probe: Probe = Arc::new(move || Box::pin(redis_counters(conn.clone())));
    measure(&pairs, plan, &probe, Some(&tidy)).await
}
