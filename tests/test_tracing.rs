//! The `idem.execute` span of every call: the OpenTelemetry GenAI fields
//! (`gen_ai.operation.name`, `gen_ai.tool.name`), the tool id, the key, and `idem.outcome`
//! recorded when the call ends, as a `tracing` subscriber sees them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use idem::executor::{ExecuteError, Executor, OnFailure};
use idem::spec::{IdempotencyConfig, ToolSpec};
use idem::store::MemoryStore;
use idem::{Context, Idempotent};
use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Subscriber, subscriber::DefaultGuard};
use tracing_subscriber::layer::{Context as LayerContext, Layer, SubscriberExt};
use tracing_subscriber::registry::{LookupSpan, Registry};

/// Charge a customer's card.
#[derive(Idempotent, Serialize, Clone, Debug)]
#[idem(
    tool = "payment-processor-v1",
    name = "process_payment",
    strategy = "fields"
)]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
    amount: f64,
}

fn payment(txn: &str, amount: f64) -> ProcessPayment {
    ProcessPayment {
        transaction_id: txn.into(),
        amount,
    }
}

/// A closed span: its name and its fields as text.
#[derive(Debug, Clone)]
struct ClosedSpan {
    name: &'static str,
    fields: BTreeMap<String, String>,
}

impl ClosedSpan {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// The fields a span was created or recorded with.
#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// A layer that keeps every closed span with its fields.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<ClosedSpan>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(fields);
        }
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            let fields = span.extensions_mut().remove::<Fields>().unwrap_or_default();
            self.0.lock().unwrap().push(ClosedSpan {
                name: span.name(),
                fields: fields.0,
            });
        }
    }
}

impl Capture {
    /// Captures the spans of this thread until the guard is dropped.
    fn install() -> (Self, DefaultGuard) {
        let capture = Capture::default();
        let guard = tracing::subscriber::set_default(Registry::default().with(capture.clone()));
        (capture, guard)
    }

    /// The `idem.execute` spans closed so far, in the order they closed.
    fn calls(&self) -> Vec<ClosedSpan> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|span| span.name == "idem.execute")
            .cloned()
            .collect()
    }
}

#[derive(Debug)]
struct Declined;

impl fmt::Display for Declined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("card declined")
    }
}

fn spec() -> ToolSpec {
    ToolSpec::for_args::<ProcessPayment>().build().unwrap()
}

#[tokio::test]
async fn a_call_and_its_replay_carry_the_gen_ai_fields_the_key_and_their_outcome() {
    let (capture, _guard) = Capture::install();
    let executor = Executor::new(MemoryStore::new());
    let spec = spec();
    let ctx = Context::new();
    let charge = || async { Ok::<_, Declined>("ch-1".to_owned()) };
    let first = executor
        .execute(&spec, &ctx, &payment("txn-1", 10.0), charge)
        .await
        .unwrap();
    let again = executor
        .execute(&spec, &ctx, &payment("txn-1", 10.0), charge)
        .await
        .unwrap();

    let calls = capture.calls();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    let key = first.key.as_ref().unwrap().as_str();
    assert_eq!(again.key.as_ref().unwrap().as_str(), key);
    for (span, outcome) in calls.iter().zip(["executed", "replayed"]) {
        assert_eq!(span.field("gen_ai.operation.name"), Some("execute_tool"));
        assert_eq!(span.field("gen_ai.tool.name"), Some("process_payment"));
        assert_eq!(
            span.field("otel.name"),
            Some("execute_tool process_payment")
        );
        assert_eq!(span.field("tool"), Some("payment-processor-v1"));
        assert_eq!(span.field("key"), Some(key));
        assert_eq!(span.field("idem.outcome"), Some(outcome));
    }
}

#[tokio::test]
async fn errors_are_recorded_by_kind() {
    let (capture, _guard) = Capture::install();
    let executor = Executor::new(MemoryStore::new());
    let spec = spec();
    let ctx = Context::new();
    let remember = |_: &Declined| OnFailure::Remember;
    let declined = || async { Err::<String, _>(Declined) };

    let err = executor
        .execute_with(&spec, &ctx, &payment("txn-2", 5.0), remember, declined)
        .await
        .unwrap_err();
    assert!(matches!(err, ExecuteError::Tool(Declined)));
    let err = executor
        .execute_with(&spec, &ctx, &payment("txn-2", 5.0), remember, declined)
        .await
        .unwrap_err();
    assert!(matches!(err, ExecuteError::PreviouslyFailed { .. }));

    let charge = || async { Ok::<_, Declined>("ch-3".to_owned()) };
    executor
        .execute(&spec, &ctx, &payment("txn-3", 5.0), charge)
        .await
        .unwrap();
    let err = executor
        .execute(&spec, &ctx, &payment("txn-3", 7.0), charge)
        .await
        .unwrap_err();
    assert!(matches!(err, ExecuteError::ArgumentsMismatch { .. }));

    // An empty key field: no key, so no `key` field, and the tool does not run.
    let err = executor
        .execute(&spec, &ctx, &payment("", 5.0), charge)
        .await
        .unwrap_err();
    assert!(matches!(err, ExecuteError::Key(_)));

    let outcomes: Vec<_> = capture
        .calls()
        .iter()
        .map(|span| {
            (
                span.field("idem.outcome").map(str::to_owned),
                span.fields.contains_key("key"),
            )
        })
        .collect();
    let expected = [
        ("tool_error", true),
        ("previously_failed", true),
        ("executed", true),
        ("arguments_mismatch", true),
        ("key_error", false),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(outcome, keyed)| (Some((*outcome).to_owned()), *keyed))
        .collect();
    assert_eq!(outcomes, expected);
}

#[tokio::test]
async fn a_duplicate_that_joins_a_running_call_is_recorded_as_joined() {
    let (capture, _guard) = Capture::install();
    let executor = Executor::new(MemoryStore::new());
    let spec = spec();
    let ctx = Context::new();
    let runs = AtomicUsize::new(0);
    let gate = tokio::sync::Notify::new();
    let charge = || async {
        runs.fetch_add(1, Ordering::SeqCst);
        gate.notified().await;
        Ok::<_, Declined>("ch-4".to_owned())
    };
    let args = payment("txn-4", 1.0);
    let open_when_joined = async {
        while executor.metrics().waits == 0 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
    };
    let (first, second, ()) = tokio::join!(
        executor.execute(&spec, &ctx, &args, charge),
        executor.execute(&spec, &ctx, &args, charge),
        open_when_joined,
    );
    assert_eq!(first.unwrap().output, second.unwrap().output);
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    let mut outcomes: Vec<_> = capture
        .calls()
        .iter()
        .map(|span| span.field("idem.outcome").unwrap().to_owned())
        .collect();
    outcomes.sort();
    assert_eq!(outcomes, ["executed", "joined"]);
}

#[tokio::test]
async fn a_panicking_tool_is_recorded_as_an_unknown_outcome_before_the_panic_goes_on() {
    let (capture, _guard) = Capture::install();
    let executor = Arc::new(Executor::new(MemoryStore::new()));
    let spec = spec();
    // The test runtime runs on this thread: the spawned call is captured too.
    let task = tokio::spawn({
        let executor = Arc::clone(&executor);
        let spec = spec.clone();
        async move {
            let panics = || async {
                if true {
                    panic!("gateway driver bug");
                }
                Ok::<String, Declined>(String::new())
            };
            executor
                .execute(&spec, &Context::new(), &payment("txn-5", 1.0), panics)
                .await
        }
    });
    assert!(task.await.unwrap_err().is_panic());

    let calls = capture.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].field("idem.outcome"), Some("outcome_unknown"));
    assert_eq!(calls[0].field("gen_ai.tool.name"), Some("process_payment"));
}

#[tokio::test]
async fn a_tool_without_idempotency_still_runs_in_a_span_without_a_key() {
    let (capture, _guard) = Capture::install();
    let executor = Executor::new(MemoryStore::new());
    let spec = ToolSpec::function("weather-v1", "get_weather")
        .idempotency(IdempotencyConfig::disabled())
        .build()
        .unwrap();
    let args = serde_json::json!({"city": "Paris"});
    let report = || async { Ok::<_, Declined>("sunny".to_owned()) };
    executor
        .execute(&spec, &Context::new(), &args, report)
        .await
        .unwrap();

    let calls = capture.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(
        calls[0].field("gen_ai.operation.name"),
        Some("execute_tool")
    );
    assert_eq!(calls[0].field("gen_ai.tool.name"), Some("get_weather"));
    assert_eq!(calls[0].field("tool"), Some("weather-v1"));
    assert_eq!(calls[0].field("idem.outcome"), Some("not_idempotent"));
    assert_eq!(calls[0].field("key"), None);
}
