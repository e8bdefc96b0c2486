//! Duplicates racing in one process share one execution: the first becomes the leader, the others
//! wait on a channel for its result instead of polling the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::sync::Notify;

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

/// One execution in flight: its result once published, and the waiters to wake then.
#[derive(Debug, Default)]
pub(crate) struct Flight {
    result: OnceLock<Shared>,
    done: Notify,
}

impl Flight {
    /// The leader's result, once it is published.
    pub(crate) async fn wait(&self) -> Shared {
        loop {
            if let Some(shared) = self.result.get() {
                return shared.clone();
            }
            let notified = self.done.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the second look: a publish in between still wakes this waiter.
            notified.as_mut().enable();
            if let Some(shared) = self.result.get() {
                return shared.clone();
            }
            notified.await;
        }
    }

    fn publish(&self, shared: Shared) {
        // Only the leader publishes, once: a second value is impossible and would be ignored.
        let _ = self.result.set(shared);
        self.done.notify_waiters();
    }
}

/// The executions in flight in this process, by (tool, key).
#[derive(Debug, Default)]
pub(crate) struct Flights {
    map: Mutex<HashMap<String, Arc<Flight>>>,
}

/// The role of a call in its flight.
pub(crate) enum Role<'a> {
    /// First in: runs the state machine and publishes the result.
    Leader(FlightGuard<'a>),
    /// A duplicate: waits for the leader's result.
    Follower(Arc<Flight>),
}

impl Flights {
    pub(crate) fn join(&self, key: String) -> Role<'_> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(flight) = map.get(&key) {
            return Role::Follower(Arc::clone(flight));
        }
        let flight = Arc::new(Flight::default());
        map.insert(key.clone(), Arc::clone(&flight));
        Role::Leader(FlightGuard {
            flights: self,
            key,
            flight,
            published: false,
        })
    }
}

/// Held by the leader; publishing the result (or dropping the guard, which publishes
/// [`Shared::Retry`]) wakes every follower and closes the flight.
pub(crate) struct FlightGuard<'a> {
    flights: &'a Flights,
    key: String,
    flight: Arc<Flight>,
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
        self.flight.publish(shared);
    }
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        self.publish(Shared::Retry);
    }
}
