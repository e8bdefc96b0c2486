//! The checks of the suite, one behaviour each, by concept.

mod claims;
mod completions;
mod leases;
mod lifetime;
mod unreadable;

pub use claims::{addresses, claim_absent, claim_race};
pub use completions::{
    complete_failed, complete_marker, complete_null, complete_output, complete_unknown,
    complete_without_claim, large_output, output_not_json, token_decides,
};
pub use leases::{late_completion, lease_takeover, renewal, stale_completion, store_clock};
pub use lifetime::{list_delete_purge, many_keys, purge_all, release, ttl_expiry};
pub use unreadable::{corrupt_records, other_format};
