//! Duplicates racing in one process share one execution: the first becomes the leader, the others
//! wait on a channel for its result instead of polling the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

/// What a leader hands to the duplicates that waited for it.
#[derive(Debug, Clone)]
pub(crate) enum Shared {
    /// The output (serialized), and the fingerprint of the call that produced it.
    Output {
        bytes: Arc<Vec<u8>>,
        fingerprint: Arc<str>,
    },
    /// The call completed with a marker only.
    Marker,
    /// The call failed with a remembered error.
    Failed(Arc<str>),
    /// Nothing to share (a retryable failure, an error, a cancelled leader): try again.
    Retry,
}

type Slot = watch::Receiver<Option<Shared>>;

/// The executions in flight in this process, by (tool, key).
#[derive(Debug, Default)]
pub(crate) struct Flights {
    map: Mutex<HashMap<String, Slot>>,
}

/// The role of a call in its flight.
pub(crate) enum Role<'a> {
    /// First in: runs the state machine and publishes the result.
    Leader(FlightGuard<'a>),
    /// A duplicate: waits for the leader's result.
    Follower(Slot),
}

impl Flights {
    pub(crate) fn join(&self, key: String) -> Role<'_> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = map.get(&key) {
            return Role::Follower(slot.clone());
        }
        let (tx, rx) = watch::channel(None);
        map.insert(key.clone(), rx);
        Role::Leader(FlightGuard {
            flights: self,
            key,
            tx,
            published: false,
        })
    }
}

/// Held by the leader; publishing the result (or dropping the guard, which publishes
/// [`Shared::Retry`]) wakes every follower and closes the flight.
pub(crate) struct FlightGuard<'a> {
    flights: &'a Flights,
    key: String,
    tx: watch::Sender<Option<Shared>>,
    published: bool,
}

impl FlightGuard<'_> {
    pub(crate) fn publish(&mut self, shared: Shared) {
        if self.published {
            return;
        }
        self.published = true;
        // Close the flight first: a call arriving from now on starts afresh (and finds the
        // result in the store).
        self.flights
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
        self.tx.send_replace(Some(shared));
    }
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        self.publish(Shared::Retry);
    }
}
