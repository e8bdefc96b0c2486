//! Custom strategy, example 1 of the design document: time-based keys.
//!
//! "Same request_id within the same minute = duplicate; same request_id in a different minute =
//! allowed." Two ways to say it:
//!
//! - the built-in way: `window = "1m"` on a built-in strategy (here `hash`, user on, session
//!   off, over `request_id`). The window start comes from the executor's clock, so a
//!   `ManualClock` passed with `Executor::with_clock` makes it deterministic;
//! - the design document's custom string `{spec.id}:{user or anonymous}:{request_id}:{YYYY-MM-DD-HH-MM}`,
//!   with a `key_with` function that takes the call (`fn(&Self, &KeyInput)`) and reads the time
//!   from it (`KeyInput::now`): the executor's clock again.
//!
//! Both run the same scenario: 10:31:05, 10:31:50 (same minute: a duplicate) and 10:32:00
//! (next minute: runs again).
//!
//! `cargo run --example time_based`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{SystemTime, UNIX_EPOCH};

use idem::clock::{Clock, ManualClock};
use idem::executor::{Executor, Outcome};
use idem::spec::ToolSpec;
use idem::store::MemoryStore;
use idem::strategy::{KeyInput, KeyOptions};
use idem::{Context, Idempotent};
use serde::{Deserialize, Serialize};

/// 2026-11-27 10:31:05 UTC.
const START: u64 = 1_795_775_465;

/// The one clock of this program. Given to the executor, it drives key computation: the
/// built-in window and the custom key function (through `KeyInput::now`) read it. Given to the
/// store too, it also decides the records' TTLs, so the whole scenario runs on one time. In
/// production both would simply read the system clock.
static CLOCK: LazyLock<Arc<ManualClock>> =
    LazyLock::new(|| Arc::new(ManualClock::at_unix_seconds(START)));

/// Operation with time-based idempotency: the built-in form.
///
/// The key is SHA-256 of `{"args":{"request_id":..},"tool":..,"user":..,"v":1,"window":<minute start>}`.
#[derive(Idempotent, Clone)]
#[idem(
    tool = "timed-operation-v1",
    strategy = "hash",
    include_user = true,
    window = "1m"
)]
struct TimedOperation {
    #[idem(key)]
    request_id: String,
}

/// Operation with time-based idempotency: the design document's custom key, as it wrote it.
#[derive(Idempotent, Clone)]
#[idem(tool = "timed-operation-v1", key_with = time_based_key)]
struct TimedOperationCustom {
    request_id: String,
}

/// `f"{spec.id}:{user_id}:{request_id}:{timestamp}"` with minute precision. The design document
/// uses the local time of `datetime.now()`; here it is the time of the call on the executor's
/// clock (`KeyInput::now`), in UTC so that every server agrees.
fn time_based_key(args: &TimedOperationCustom, input: &KeyInput<'_>) -> String {
    let user = input.context().user_id().unwrap_or("anonymous");
    format!(
        "{}:{user}:{}:{}",
        input.tool(),
        args.request_id,
        minute_stamp(input.now())
    )
}

/// `YYYY-MM-DD-HH-MM` in UTC (`strftime('%Y-%m-%d-%H-%M')`), without a date crate.
fn minute_stamp(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}-{:02}-{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Done {
    run: usize,
    at: String,
}

/// Calls the tool at 10:31:05, 10:31:50 and 10:32:00 and returns how many times it ran.
async fn scenario<A: Idempotent>(
    form: &str,
    args: &A,
) -> Result<usize, Box<dyn std::error::Error>> {
    println!("-- {form}");
    CLOCK.set_unix_seconds(START);
    let store = MemoryStore::new().with_clock(CLOCK.clone());
    let executor = Executor::new(store).with_clock(CLOCK.clone());
    let spec = ToolSpec::for_args::<A>().build()?;
    let ctx = Context::new().with_user("alice");
    let runs = AtomicUsize::new(0);
    let tool = || async {
        let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
        Ok::<_, std::io::Error>(Done {
            run,
            at: minute_stamp(CLOCK.now()),
        })
    };

    let at = |label: &str, outcome: Outcome, key: &str, done: &Done| {
        println!(
            "at {label} (minute {}): {outcome:?}, key {key}, output of run {} (made at {})",
            minute_stamp(CLOCK.now()),
            done.run,
            done.at
        );
    };

    let first = executor.execute(&spec, &ctx, args, tool).await?;
    let first_key = first.key.clone().expect("idempotency is on");
    at("10:31:05", first.outcome, first_key.as_str(), &first.output);
    assert!(first.outcome.executed());

    CLOCK.set_unix_seconds(START + 45);
    let same_minute = executor.execute(&spec, &ctx, args, tool).await?;
    let key = same_minute.key.clone().expect("idempotency is on");
    at(
        "10:31:50",
        same_minute.outcome,
        key.as_str(),
        &same_minute.output,
    );
    assert_eq!(
        same_minute.outcome,
        Outcome::Replayed { args_differ: false }
    );
    assert_eq!(key, first_key, "same minute: a duplicate");

    CLOCK.set_unix_seconds(START + 55);
    let next_minute = executor.execute(&spec, &ctx, args, tool).await?;
    let key = next_minute.key.clone().expect("idempotency is on");
    at(
        "10:32:00",
        next_minute.outcome,
        key.as_str(),
        &next_minute.output,
    );
    // Note the flip side of windows: a retry that straddles the boundary (10:31:59, then
    // 10:32:00) is not recognised as a duplicate. Use windows for "at most once per minute",
    // not for retry safety.
    assert!(next_minute.outcome.executed(), "next minute: runs again");
    assert_ne!(key, first_key);

    let runs = runs.load(Ordering::SeqCst);
    println!("{form}: the tool ran {runs} times (10:31 once, 10:32 once)");
    Ok(runs)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let builtin = TimedOperation {
        request_id: "req-1".into(),
    };
    let runs = scenario("built-in: strategy = \"hash\", window = \"1m\"", &builtin).await?;
    assert_eq!(runs, 2);

    let custom = TimedOperationCustom {
        request_id: "req-1".into(),
    };
    let runs = scenario("custom: key_with = time_based_key", &custom).await?;
    assert_eq!(runs, 2);

    // The custom string, exactly as the design document builds it, at 10:31:05.
    CLOCK.set_unix_seconds(START);
    let options = KeyOptions::new().with_clock(&**CLOCK);
    let key = custom.idempotency_key_with(&Context::new().with_user("alice"), &options)?;
    println!("custom key: {key}");
    assert_eq!(
        key.as_str(),
        "timed-operation-v1:alice:req-1:2026-11-27-10-31"
    );
    let anonymous = custom.idempotency_key_with(&Context::new(), &options)?;
    println!("custom key without a user: {anonymous}");
    assert_eq!(
        anonymous.as_str(),
        "timed-operation-v1:anonymous:req-1:2026-11-27-10-31"
    );
    Ok(())
}
