//! One function per check, each taking its [`Case`]: what the tests of [`suite!`](super::suite)
//! call. Each runs its check of [`checks`] as the suite always has.

use idem::store::{ClaimOutcome, Completion, RecordKey};

use super::{Case, LONG_TTL, checks};

/// [`checks::claim_absent`].
pub async fn claim_absent(c: Case) {
    checks::claim_absent(&c.subject(), &c.tool).await;
}

/// [`checks::addresses`].
pub async fn addresses(c: Case) {
    checks::addresses(&c.subject(), &c.tool).await;
}

/// [`checks::lease_takeover`].
pub async fn lease_takeover(c: Case) {
    checks::lease_takeover(&c.subject(), &c.tool).await;
}

/// [`checks::store_clock`].
pub async fn store_clock(c: Case) {
    checks::store_clock(&c.subject(), &c.tool).await;
}

/// [`checks::renewal`].
pub async fn renewal(c: Case) {
    checks::renewal(&c.subject(), &c.tool).await;
}

/// [`checks::stale_completion`].
pub async fn stale_completion(c: Case) {
    checks::stale_completion(&c.subject(), &c.tool).await;
}

/// [`checks::late_completion`].
pub async fn late_completion(c: Case) {
    checks::late_completion(&c.subject(), &c.tool).await;
}

/// [`checks::complete_output`].
pub async fn complete_output(c: Case) {
    checks::complete_output(&c.subject(), &c.tool).await;
}

/// [`checks::complete_null`].
pub async fn complete_null(c: Case) {
    checks::complete_null(&c.subject(), &c.tool).await;
}

/// [`checks::complete_marker`].
pub async fn complete_marker(c: Case) {
    checks::complete_marker(&c.subject(), &c.tool).await;
}

/// [`checks::complete_failed`].
pub async fn complete_failed(c: Case) {
    checks::complete_failed(&c.subject(), &c.tool).await;
}

/// [`checks::complete_unknown`].
pub async fn complete_unknown(c: Case) {
    checks::complete_unknown(&c.subject(), &c.tool).await;
}

/// [`checks::complete_without_claim`].
pub async fn complete_without_claim(c: Case) {
    checks::complete_without_claim(&c.subject(), &c.tool).await;
}

/// [`checks::token_decides`].
pub async fn token_decides(c: Case) {
    checks::token_decides(&c.subject(), &c.tool).await;
}

/// [`checks::output_not_json`].
pub async fn output_not_json(c: Case) {
    checks::output_not_json(&c.subject(), &c.tool).await;
}

/// [`checks::ttl_expiry`].
pub async fn ttl_expiry(c: Case) {
    checks::ttl_expiry(&c.subject(), &c.tool).await;
}

/// [`checks::release`].
pub async fn release(c: Case) {
    checks::release(&c.subject(), &c.tool).await;
}

/// [`checks::large_output`].
pub async fn large_output(c: Case) {
    checks::large_output(&c.subject(), &c.tool).await;
}

/// [`checks::list_delete_purge`].
pub async fn list_delete_purge(c: Case) {
    checks::list_delete_purge(&c.subject(), &c.tool).await;
}

/// [`checks::claim_race`]: 32 tasks, 16 rounds on a manual clock, 2 on real time.
pub async fn claim_race(c: Case) {
    let rounds = if c.time.is_manual() { 16 } else { 2 };
    checks::claim_race(&c.store, &c.time, &c.tool, 32, rounds).await;
}

/// [`checks::many_keys`], with 2 000 keys.
pub async fn many_keys(c: Case) {
    checks::many_keys(&c.store, &c.time, &c.tool, 2_000).await;
}

/// [`checks::corrupt_records`]; the fixture needs a corruptor.
pub async fn corrupt_records(c: Case) {
    checks::corrupt_records(&c.subject(), c.corruptor(), &c.tool).await;
}

/// [`checks::other_format`]; the fixture needs a corruptor.
pub async fn other_format(c: Case) {
    checks::other_format(&c.subject(), c.corruptor(), &c.tool).await;
}

/// [`checks::purge_all`], on a store holding a record in each state (what the other checks
/// used to leave behind when the suite ran in one store).
pub async fn purge_all(c: Case) {
    let s = &c.subject();
    let states = [
        None,
        Some(Completion::Output(br#"{"v":1}"#.to_vec())),
        Some(Completion::Output(b"null".to_vec())),
        Some(Completion::Marker),
        Some(Completion::Failed("no".into())),
        Some(Completion::Unknown("cancelled".into())),
    ];
    for (i, completion) in states.iter().enumerate() {
        let key = format!("state-{i}");
        let key = RecordKey {
            tool: &c.tool,
            key: &key,
        };
        assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed, "{key}");
        if let Some(completion) = completion {
            s.complete(key, "a", completion, LONG_TTL)
                .await
                .unwrap_or_else(|e| panic!("complete {key}: {e}"));
        }
    }
    assert_eq!(s.list_tool(&c.tool).await.len(), states.len(), "planted");
    checks::purge_all(s).await;
}
