use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1")]
struct ProcessPayment(String, u64);

fn main() {}
