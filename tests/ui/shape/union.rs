use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1")]
union ProcessPayment {
    cents: u64,
    units: u32,
}

fn main() {}
