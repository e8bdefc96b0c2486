//! A derived key of a struct of strings and numbers allocates nothing: counted by a counting
//! global allocator around the key computation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use idem::{Context, Idempotent};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is added.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "fields")]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
    customer_id: String,
    amount: f64,
    currency: String,
}

#[derive(Idempotent)]
#[idem(
    tool = "payment-processor-v1",
    strategy = "hash",
    algorithm = "sha512",
    include_session = true,
    window = "1m"
)]
struct AllFields {
    transaction_id: String,
    customer_id: String,
    amount: f64,
    quantity: u64,
    refund: bool,
    currency: Option<String>,
}

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    f();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn derived_keys_allocate_nothing() {
    let ctx = Context::new()
        .with_tenant("acme")
        .with_user("alice")
        .with_session("s-1");
    let payment = ProcessPayment {
        transaction_id: "txn-0001".into(),
        customer_id: "cust-7".into(),
        amount: 10.5,
        currency: "EUR".into(),
    };
    let all = AllFields {
        transaction_id: "txn-0001".into(),
        customer_id: "cust-\"7\"\n".into(),
        amount: 333_333_333.333_333_3,
        quantity: u64::MAX,
        refund: false,
        currency: None,
    };
    // Warm up anything lazily initialised (none is expected, but it must not be counted).
    let _ = payment.idempotency_key(&ctx);
    let _ = all.idempotency_key(&ctx);

    let mut keys = Vec::with_capacity(2);
    let count = allocations_during(|| {
        keys.push(payment.idempotency_key(&ctx).ok().map(|k| k.as_str().len()));
        keys.push(all.idempotency_key(&ctx).ok().map(|k| k.as_str().len()));
    });
    assert_eq!(keys, [Some(64), Some(128)]);
    assert_eq!(count, 0, "a derived key allocated {count} times");
    // The counter does count: a JSON round trip of the same arguments allocates.
    let json = allocations_during(|| {
        let args = serde_json::json!({"transaction_id": payment.transaction_id});
        std::hint::black_box(
            idem::key::JsonArgs::new(&args)
                .map(|a| idem::key::Arguments::field_count(&a))
                .ok(),
        );
    });
    assert!(json > 0, "the counting allocator saw nothing");
}
