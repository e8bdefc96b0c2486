use idem::executor::Executor;
use idem::spec::ToolSpec;
use idem::store::MemoryStore;
use idem::{Context, Idempotent};

// The tool's output is stored and replayed, so it must derive serde's `Serialize` and
// `Deserialize`: forgetting them is one error about the output, not one per serde trait.

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "fields")]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
}

#[derive(Debug)]
struct Receipt {
    charge_id: String,
}

async fn pay(executor: &Executor, spec: &ToolSpec, payment: &ProcessPayment) {
    let run = executor
        .execute(spec, &Context::new(), payment, || async {
            Ok::<_, std::io::Error>(Receipt { charge_id: "ch_1".to_owned() })
        })
        .await;
    let _ = run.map(|run| run.output.charge_id);
}

fn main() {
    let executor = Executor::new(MemoryStore::new());
    let _ = pay(&executor, &ToolSpec::for_args::<ProcessPayment>().build().unwrap(), &ProcessPayment {
        transaction_id: "txn-0001".to_owned(),
    });
}
