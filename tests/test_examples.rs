//! Every example of `examples/` runs to completion and prints what it promises.
//!
//! Each example asserts the behaviour of its use case (a regression makes it exit non-zero);
//! these tests run the binaries `cargo test` has already built (it builds the examples) and check
//! their exit status and the key lines of their output, exactly.

mod support;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `<target>/debug/examples/<name>`, next to `<target>/debug/deps/test_examples-...`.
fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in <target>/<profile>/deps");
    profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Runs the example and returns its standard output, failing on a non-zero exit.
fn run_example(name: &str) -> String {
    run_example_with(name, &[])
}

/// Runs the example with extra environment variables and returns its standard output, failing
/// on a non-zero exit.
fn run_example_with(name: &str, envs: &[(&str, &OsStr)]) -> String {
    let binary = example_binary(name);
    assert!(
        binary.is_file(),
        "example binary {} is missing: run `cargo test` (which builds the examples) or \
         `cargo build --examples` first",
        binary.display()
    );
    // `cargo test --test test_examples` alone does not rebuild the examples: refuse to check a
    // binary older than its source.
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(format!("{name}.rs"));
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if let (Some(built), Some(edited)) = (modified(&binary), modified(&source)) {
        assert!(
            built >= edited,
            "example binary {} is older than {}: run `cargo test` (which builds the examples) or \
             `cargo build --examples` first",
            binary.display(),
            source.display()
        );
    }
    let output = Command::new(&binary)
        .env_remove("RUST_BACKTRACE")
        .envs(envs.iter().copied())
        .output()
        .unwrap_or_else(|err| panic!("cannot run {}: {err}", binary.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "example `{name}` failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    stdout
}

/// Runs the example and checks that its output contains every phrase.
fn check(name: &str, phrases: &[&str]) {
    let stdout = run_example(name);
    contains_all(name, &stdout, phrases);
}

/// Checks that an example's output contains every phrase.
fn contains_all(name: &str, stdout: &str, phrases: &[&str]) {
    for phrase in phrases {
        assert!(
            stdout.contains(phrase),
            "example `{name}` did not print {phrase:?}; it printed:\n{stdout}"
        );
    }
}

/// Deletes the file when dropped, test passed or not.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The README's demonstration, run twice on a fresh store file: the first process charges each
/// transaction once and refuses the retry with another amount; the second process replays every
/// call from the file and charges nothing. (How the nine duplicates of the race split between
/// joining the running call and replaying it depends on timing; the charges do not.)
#[test]
fn quickstart() {
    let db = RemoveOnDrop(std::env::temp_dir().join(format!(
        "idem-test-examples-quickstart-{}.redb",
        std::process::id()
    )));
    let _ = std::fs::remove_file(&db.0);
    let envs = [("IDEM_QUICKSTART_DB", db.0.as_os_str())];
    let refused = "4. a retry with the same transaction id but another amount\n   REFUSED (no charge): key `fb5f9548c85a45ebea520fad031352eede67603dbeeea9880d4f8192282e5d7b` was first used with other arguments; a retry must send the same arguments\n";

    let created = format!("store: {} (created)\n", db.0.display());
    let reopened = format!(
        "store: {} (reopened: 2 records from earlier runs)\n",
        db.0.display()
    );
    let start_over = format!(
        "nothing ran: every call replayed the records of earlier runs from {}\n\
         to start over: remove that file, or point IDEM_QUICKSTART_DB at another path \
         (IDEM_QUICKSTART_DB=/tmp/fresh.redb cargo run --example quickstart)\n",
        db.0.display()
    );

    let first = run_example_with("quickstart", &envs);
    contains_all(
        "quickstart",
        &first,
        &[
            created.as_str(),
            "1. pay\n   EXECUTED (the card was charged) -> Receipt { charge_id: \"ch_txn-0001_1\", amount: 10.5, currency: \"EUR\" }\n   key fb5f9548c85a45ebea520fad031352eede67603dbeeea9880d4f8192282e5d7b\n",
            "2. the agent retries the same step\n   REPLAYED from the store (no charge) -> Receipt { charge_id: \"ch_txn-0001_1\", amount: 10.5, currency: \"EUR\" }\n",
            "3. ten duplicates race for a new transaction\n    1 x EXECUTED (the card was charged)\n",
            refused,
            "cards charged by this process: 2; executions 2, ",
            "mismatches 1\n",
        ],
    );
    assert_eq!(first.matches("EXECUTED").count(), 2, "{first}");
    assert!(
        first.starts_with("store: "),
        "the store line comes first: {first}"
    );
    assert!(!first.contains("to start over"), "{first}");

    let second = run_example_with("quickstart", &envs);
    contains_all(
        "quickstart",
        &second,
        &[
            reopened.as_str(),
            "1. pay\n   REPLAYED from the store (no charge) -> Receipt { charge_id: \"ch_txn-0001_1\", amount: 10.5, currency: \"EUR\" }\n",
            refused,
            "cards charged by this process: 0; executions 0, ",
            "mismatches 1\n",
            start_over.as_str(),
        ],
    );
    assert!(
        second.starts_with("store: "),
        "the store line comes first: {second}"
    );
    assert!(!second.contains("EXECUTED"), "{second}");
}

#[test]
fn payment() {
    check(
        "payment",
        &[
            "first call:   Executed { took_over: false }, key fb5f9548c85a45ebea520fad031352eede67603dbeeea9880d4f8192282e5d7b",
            "exact retry:  Replayed { args_differ: false }, receipt ch_1, charges 1",
            "altered retry (cust-99, 99.0, user bob): refused, charges 1: key `fb5f9548c85a45ebea520fad031352eede67603dbeeea9880d4f8192282e5d7b` was first used with other arguments; a retry must send the same arguments",
            "with MismatchPolicy::Replay: Replayed { args_differ: true }, same key: true, receipt ch_1 for cust-42 10.5 -> mismatch flagged: true, charges 1",
            "charges: 2 (one per transaction id)",
            "metrics: executions 2, replays 2, mismatches 2",
        ],
    );
}

#[test]
fn order_fulfillment() {
    check(
        "order_fulfillment",
        &[
            "parameter warehouse_id (String, optional)",
            "attempt 1 (warehouse Some(\"wh-berlin\"), shipping Some(\"express\")): Executed",
            "attempt 2 (warehouse Some(\"wh-paris\"), shipping Some(\"standard\")): Replayed { args_differ: true }, key 989f691cc267d9c3d879b84985c6d07efd5da746bcadf635e7ed85c261cbcb16, shipment shp-1 from wh-berlin via express, shipments 1",
            "attempt 3 (warehouse None, shipping None): Replayed { args_differ: true }, key 989f691cc267d9c3d879b84985c6d07efd5da746bcadf635e7ed85c261cbcb16, shipment shp-1 from wh-berlin via express, shipments 1",
            "shipments: 2 (one per order)",
        ],
    );
}

#[test]
fn secure_payment() {
    check(
        "secure_payment",
        &[
            r#"canonical envelope: {"args":{"amount":249.99,"timestamp":1764240000,"transaction_id":"txn-7731"},"tool":"secure-payment-v1","user":"alice","v":1}"#,
            "key (128 hex chars, SHA-512)",
            "alice (session laptop-7): Replayed { args_differ: false }, same key: true",
            "bob (session phone-1):    Executed { took_over: false }, same key: false",
            "alice with another card token: refused (ArgumentsMismatch), charges 2",
            "typed #[derive(Idempotent)] key equals the JSON key: true",
            "charges: 2 (alice once, bob once)",
        ],
    );
}

/// The API is a server on 127.0.0.1 that the example starts, on a port it is given.
#[test]
#[cfg(feature = "http")]
fn stateless_api() {
    let stdout = run_example("stateless_api");
    contains_all(
        "stateless_api",
        &stdout,
        &[
            "same user, another session  (alice, s-2): Replayed { args_differ: false }",
            "another user                (bob, s-1): Executed",
            "requests: 3",
        ],
    );
    let tool = line_starting(
        "stateless_api",
        &stdout,
        "tool api-call-v1 (external_api): ",
    );
    assert_eq!(
        without_port(tool),
        "tool api-call-v1 (external_api): GET http://127.0.0.1:<port>/data"
    );
}

/// The line of an example's output that starts with `prefix`.
#[cfg(feature = "http")]
fn line_starting<'a>(name: &str, stdout: &'a str, prefix: &str) -> &'a str {
    stdout
        .lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| {
            panic!("example `{name}` printed no line starting {prefix:?}:\n{stdout}")
        })
}

/// `line` with the port of its `127.0.0.1:` address written `<port>`.
#[cfg(feature = "http")]
fn without_port(line: &str) -> String {
    let Some((before, after)) = line.split_once("127.0.0.1:") else {
        return line.to_owned();
    };
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    assert!(digits > 0, "no port after 127.0.0.1: in {line:?}");
    format!("{before}127.0.0.1:<port>{}", &after[digits..])
}

#[test]
fn time_based() {
    check(
        "time_based",
        &[
            "at 10:31:50 (minute 2026-11-27-10-31): Replayed { args_differ: false }",
            "at 10:32:00 (minute 2026-11-27-10-32): Executed { took_over: false }",
            "key timed-operation-v1:alice:req-1:2026-11-27-10-32",
            "built-in: strategy = \"hash\", window = \"1m\": the tool ran 2 times",
            "custom: key_with = time_based_key: the tool ran 2 times",
            "custom key without a user: timed-operation-v1:anonymous:req-1:2026-11-27-10-31",
        ],
    );
}

#[test]
fn geographic() {
    check(
        "geographic",
        &[
            "key geo-distributed-v1:us-west:alice:ord-9",
            "eu-central    : Executed { took_over: false }, key geo-distributed-v1:eu-central:alice:ord-9",
            "us-west retry : Replayed { args_differ: false }",
            "processed 2 times, in: us-west, eu-central",
        ],
    );
}

#[test]
#[cfg(feature = "http")]
fn external_id_service() {
    check(
        "external_id_service",
        &[
            "service up, first call: Executed { took_over: false }, key uid-000001",
            "service up, retry:      Replayed { args_differ: false }, key uid-000001",
            "service down: error: the custom key function of tool `distributed-tool-v1` failed: id service unavailable",
            "typed: KeyError::Custom",
            "the tool did not run: runs 1",
            "runs: 2",
        ],
    );
}

#[test]
fn tenant_factory() {
    check(
        "tenant_factory",
        &[
            "registering `tenant_based` again: a key strategy named `tenant_based` is already registered",
            "looking up `tenant`: no key strategy named `tenant`; registered: default, fields, hash, tenant_based",
            "acme again (alice): Replayed { args_differ: false }",
            r#"acme envelope: {"args":{"action":"sync","target":"crm"},"tenant":"acme","tool":"multi-tenant-tool-v1","user":"alice","v":1}"#,
            "same key as the typed call: true",
            "generator = \"tenant_base\": no key strategy named `tenant_base`",
            "runs: 2 (acme once, globex once)",
        ],
    );
}

#[test]
fn ecommerce_payment() {
    check(
        "ecommerce_payment",
        &[
            "persist_result true, ttl 86400s",
            "retry after 10 min              : Replayed { args_differ: false }, receipt rcpt-1",
            "retry after 23h59m59s           : Replayed { args_differ: false }, receipt rcpt-1",
            "t+86400s retry after 24 h (expired)      : Executed { took_over: false }, receipt rcpt-3 for txn-5001, payments 3",
            "payments: 3",
        ],
    );
}

#[test]
fn user_registration() {
    check(
        "user_registration",
        &[
            "double click    (ada@example.com, ada): Replayed { args_differ: false } -> user 1001 (ada)",
            "other password  (ada@example.com, ada): Replayed { args_differ: false } -> user 1001 (ada), users 1",
            "other username  (ada@example.com, ada_l): Replayed { args_differ: true } -> user 1001 (ada), users 1",
            "another email   (grace@example.com, grace): Executed { took_over: false } -> user 1002",
            "users: 2 (one per email)",
        ],
    );
}

#[test]
#[cfg(feature = "http")]
fn rate_limited_api() {
    check(
        "rate_limited_api",
        &[
            "results kept 300s",
            "t+ 30s alice s-2: Replayed { args_differ: false }",
            "t+ 60s bob   s-9: Executed { took_over: false }",
            "t+299s alice s-3: Replayed { args_differ: false }",
            "t+300s alice s-3: Executed { took_over: false },    response #3, api calls 3",
            "t+330s bob   s-9: Replayed { args_differ: false },  response #2, api calls 3",
            "api calls: 3 for 6 requests",
        ],
    );
}

/// In process: the records in memory, the counter an atomic.
#[test]
fn distributed_lock() {
    let stdout = run_example_without_servers("distributed_lock");
    contains_all(
        "distributed_lock",
        &stdout,
        &[
            "store: MemoryStore",
            "call 1 (worker-a): Executed { took_over: false }, key distributed-lock-v1:worker-a:1",
            "call 2 (worker-a): Executed { took_over: false }, key distributed-lock-v1:worker-a:2",
            "every call got a unique key and ran: 4 executions",
        ],
    );
}

/// On Redis: the records in a `RedisStore`, the counter the Redis key `tool:counter`.
#[test]
#[cfg(feature = "redis")]
fn distributed_lock_on_redis() {
    let Some(url) = support::servers::server_url("IDEM_REDIS_URL", &support::test_name!()) else {
        return;
    };
    let stdout = run_example_with(
        "distributed_lock",
        &[
            ("IDEM_REDIS_URL", url.as_ref()),
            ("IDEM_POSTGRES_URL", "".as_ref()),
        ],
    );
    contains_all(
        "distributed_lock",
        &stdout,
        &[
            &format!("store: RedisStore at {url}"),
            "call 4 (worker-b): Executed { took_over: false }, key distributed-lock-v1:worker-b:",
            "every call got a unique key and ran: 4 executions",
        ],
    );
}

/// On PostgreSQL: the records in a `PostgresStore`, the counter a sequence.
#[test]
#[cfg(feature = "postgres")]
fn distributed_lock_on_postgres() {
    let Some(url) = support::servers::server_url("IDEM_POSTGRES_URL", &support::test_name!())
    else {
        return;
    };
    let stdout = run_example_with(
        "distributed_lock",
        &[
            ("IDEM_REDIS_URL", "".as_ref()),
            ("IDEM_POSTGRES_URL", url.as_ref()),
        ],
    );
    contains_all(
        "distributed_lock",
        &stdout,
        &[
            &format!("store: PostgresStore at {url}"),
            "call 4 (worker-b): Executed { took_over: false }, key distributed-lock-v1:worker-b:",
            "every call got a unique key and ran: 4 executions",
        ],
    );
}

/// Runs the example with the server variables unset: in process.
fn run_example_without_servers(name: &str) -> String {
    run_example_with(
        name,
        &[
            ("IDEM_REDIS_URL", "".as_ref()),
            ("IDEM_POSTGRES_URL", "".as_ref()),
        ],
    )
}

#[test]
fn migration() {
    check(
        "migration",
        &[
            r#"canonical envelope: {"args":{"transaction_id":"txn-0001"},"session":"s-1","tool":"payment-processor-v1","user":"alice","v":1}"#,
            "derived key:        6ae6aae9e180c3f151f34eeaabb99b058bb1e3fc5452b7857ab759536d7a9a73",
            "runtime key:        6ae6aae9e180c3f151f34eeaabb99b058bb1e3fc5452b7857ab759536d7a9a73",
            "all three agree",
            "JSON call with key_fields, no generator: Replayed { args_differ: false }",
            "explicit FieldsStrategy: key fb5f9548c85a45ebea520fad031352eede67603dbeeea9880d4f8192282e5d7b",
            "charges: 3",
        ],
    );
}

#[cfg(feature = "rig")]
#[test]
fn rig_tools() {
    check(
        "rig_tools",
        &[
            r#"tools the agent advertises: ["process_payment", "register_user"]"#,
            r#"  -> executed: output {"receipt_id":"rcpt-1","transaction_id":"txn-5001","amount":59.9}"#,
            r#"  -> replayed: output {"receipt_id":"rcpt-1","transaction_id":"txn-5001","amount":59.9}"#,
            "  -> arguments_mismatch: error an earlier call with the same `transaction_id` had other arguments",
            "  -> tool_error: error the card was declined: ask the customer for another card",
            "  -> previously_failed: error this same call already failed",
            "payment requests sent to the card network: 2 (for 5 calls)",
            r#"  -> replayed: output {"user_id":"u-1","username":"ada"}"#,
            "accounts created: 2 (for 3 calls)",
        ],
    );
}
