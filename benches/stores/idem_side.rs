//! The idem side of every pair, on any store.

#[allow(unused_imports)]
use super::*;

/// An executor over the store under test, and the payments it has completed (for replays).
pub(crate) struct IdemSide {
    pub(crate) executor: Executor,
    pub(crate) spec: ToolSpec,
    /// Transaction ids of fresh calls (after the primed ones).
    pub(crate) fresh_ids: Ids,
    /// Keys of the store's own fresh claims (`hashed_key(n)`).
    pub(crate) store_ids: Ids,
    pub(crate) primed: Vec<ProcessPayment>,
}

impl IdemSide {
    /// An executor over `store`, with [`PRIMED`] payments executed.
    pub(crate) async fn new(store: Arc<dyn Store>) -> Result<Arc<Self>, BoxError> {
        let mut side = IdemSide {
            executor: Executor::with_store(store),
            spec: ToolSpec::for_args::<ProcessPayment>().build()?,
            fresh_ids: Ids::from(PRIMED),
            store_ids: Ids::from(0),
            primed: (0..PRIMED).map(payment).collect(),
        };
        ensure(side.spec.id() == TOOL, || "the spec's tool id".into())?;
        ensure(
            side.spec.idempotency().lease() == LEASE && side.spec.idempotency().result_ttl() == TTL,
            || "the spec's lease and TTL are not the defaults".into(),
        )?;
        let primed = std::mem::take(&mut side.primed);
        for args in &primed {
            let done = side
                .executor
                .execute(&side.spec, &Context::new(), args, || charge(args))
                .await?;
            ensure(
                done.outcome == Outcome::Executed { took_over: false },
                || format!("priming: {:?}", done.outcome),
            )?;
        }
        side.primed = primed;
        Ok(Arc::new(side))
    }

    pub(crate) fn fresh(self: &Arc<Self>) -> Op {
        op_of(self, |side, _| async move {
            let args = payment(side.fresh_ids.take());
            let done = side
                .executor
                .execute(&side.spec, &Context::new(), &args, || charge(&args))
                .await?;
            ensure(
                done.outcome == Outcome::Executed { took_over: false },
                || format!("a fresh call: {:?}", done.outcome),
            )
        })
    }

    pub(crate) fn replay(self: &Arc<Self>) -> Op {
        op_of(self, |side, n| async move {
            let args = &side.primed[(n % PRIMED) as usize];
            let done = side
                .executor
                .execute(&side.spec, &Context::new(), args, || charge(args))
                .await?;
            ensure(
                done.outcome == Outcome::Replayed { args_differ: false },
                || format!("a replay: {:?}", done.outcome),
            )?;
            ensure(done.output == receipt(args), || "a replayed output".into())
        })
    }

    /// The store alone, as the executor uses it for a fresh call: claim, then complete.
    pub(crate) fn store_fresh(self: &Arc<Self>, fingerprint: String, output: Vec<u8>) -> Op {
        let side = Arc::clone(self);
        let values = Arc::new((fingerprint, Completion::Output(output)));
        op(move |_| {
            let (side, values) = (Arc::clone(&side), Arc::clone(&values));
            async move {
                let n = side.store_ids.take();
                let key = hashed_key(n);
                let key = RecordKey {
                    tool: TOOL,
                    key: &key,
                };
                let store = side.executor.store();
                let token = token(n);
                let claim = Claim {
                    token: &token,
                    fingerprint: &values.0,
                    now: UnixMillis::now(&SystemClock),
                    lease: LEASE,
                };
                let claimed = store.claim(key, &claim).await?;
                ensure(claimed == ClaimOutcome::Claimed, || {
                    format!("a store claim: {claimed:?}")
                })?;
                store.complete(key, &claim, &values.1, TTL).await?;
                Ok(())
            }
        })
    }

    /// The keys written by fresh calls (of the executor and of the store alone) since the last
    /// call.
    pub(crate) fn written_keys(&self) -> Result<Vec<String>, BoxError> {
        let mut keys = Vec::new();
        for id in self.fresh_ids.unremoved() {
            let key = Idempotent::idempotency_key(&payment(id), &Context::new())?;
            keys.push(key.as_str().to_owned());
        }
        keys.extend(self.store_ids.unremoved().map(hashed_key));
        Ok(keys)
    }

    /// The store alone, as the executor uses it for a replay: a claim that finds the record.
    pub(crate) fn store_replay(self: &Arc<Self>, fingerprint: String) -> Result<Op, BoxError> {
        let side = Arc::clone(self);
        let keys: Vec<String> = side
            .primed
            .iter()
            .map(|args| {
                Ok(Idempotent::idempotency_key(args, &Context::new())?
                    .as_str()
                    .to_owned())
            })
            .collect::<Result<_, BoxError>>()?;
        let values = Arc::new((keys, fingerprint));
        Ok(op(move |n| {
            let (side, values) = (Arc::clone(&side), Arc::clone(&values));
            async move {
                let key = RecordKey {
                    tool: TOOL,
                    key: &values.0[(n % PRIMED) as usize],
                };
                let token = token(n);
                let claim = Claim {
                    token: &token,
                    fingerprint: &values.1,
                    now: UnixMillis::now(&SystemClock),
                    lease: LEASE,
                };
                match side.executor.store().claim(key, &claim).await? {
                    ClaimOutcome::Existing(Record {
                        state:
                            RecordState::Completed {
                                output: Some(_), ..
                            },
                        ..
                    }) => Ok(()),
                    other => Err(format!("a store claim of a completed key: {other:?}").into()),
                }
            }
        }))
    }
}

/// The bytes idem keeps for a payment: its fingerprint, the tool's output, and the claim and
/// completed records as `Record::encode` writes them (a token laid out as the executor's, times of now).
pub(crate) struct Values {
    pub(crate) fingerprint: String,
    pub(crate) output: Vec<u8>,
    pub(crate) claim: Vec<u8>,
    pub(crate) completed: Vec<u8>,
    pub(crate) now: UnixMillis,
}

pub(crate) fn values() -> Result<Values, BoxError> {
    let args = payment(0);
    let fingerprint = ToolInput::fingerprint(&args)?;
    let output = serde_json::to_vec(&receipt(&args))?;
    let now = UnixMillis::now(&SystemClock);
    let claim = Record::in_progress(token(0), fingerprint.clone(), now, now.plus(LEASE));
    let completed = Record {
        state: RecordState::Completed {
            output: Some(output.clone()),
            expires_at: now.plus(TTL),
        },
        ..claim.clone()
    };
    Ok(Values {
        claim: claim.encode("bench")?,
        completed: completed.encode("bench")?,
        fingerprint,
        output,
        now,
    })
}
