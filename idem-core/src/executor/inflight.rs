//! Duplicates racing in one process share one execution: the first becomes the leader, the others
//! wait for its result instead of polling the store.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use hashbrown::hash_map::EntryRef;
use hashbrown::{Equivalent, HashMap};
use tokio::sync::Notify;

use crate::store::RecordKey;

/// What a leader hands to the duplicates that waited for it.
#[derive(Debug)]
pub(crate) enum Shared {
    /// The output (serialized), and the fingerprint of the call that produced it.
    Output {
        bytes: Vec<u8>,
        fingerprint: Box<str>,
    },
    /// The call completed with a marker only.
    Marker,
    /// The call failed with a remembered error.
    Failed(String),
    /// Whether the call took effect is unknown (the leader's tool panicked, or an earlier run
    /// did); the reason, and when the record expires.
    Unknown {
        reason: String,
        expires_at: crate::store::UnixMillis,
    },
    /// The leader's tool ran (or may have) and the call failed with this error: its duplicates
    /// share that fate instead of running the tool again.
    Fate(String),
    /// The tool did not run (a store failure before it, a wait that gave up, a cancelled
    /// leader that had not claimed): each duplicate tries for itself.
    Retry,
}

/// One execution in flight: its result once published, whether its tool has started, and the
/// waiters to wake when either happens.
#[derive(Debug, Default)]
pub(crate) struct Flight {
    result: OnceLock<Shared>,
    tool_started: AtomicBool,
    done: Notify,
}

impl Flight {
    /// The leader's result, once it is published.
    pub(crate) async fn wait(&self) -> &Shared {
        loop {
            if let Some(shared) = self.wait_for(false).await {
                return shared;
            }
        }
    }

    /// The leader's result, or `None` as soon as the leader's tool runs: a leader that only
    /// claims and replays is waited for (a duplicate of a finished call gets its output), one
    /// that runs the tool is not.
    pub(crate) async fn wait_unless_running(&self) -> Option<&Shared> {
        self.wait_for(true).await
    }

    async fn wait_for(&self, unless_running: bool) -> Option<&Shared> {
        let ready = || match self.result.get() {
            Some(shared) => Some(Some(shared)),
            None if unless_running && self.tool_started.load(Ordering::Acquire) => Some(None),
            None => None,
        };
        loop {
            if let Some(answer) = ready() {
                return answer;
            }
            let notified = self.done.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the second look: a publish (or the tool's start) in between
            // still wakes this waiter.
            notified.as_mut().enable();
            if let Some(answer) = ready() {
                return answer;
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

/// A flight's address, (tool, key), in one allocation: the tool id then the key.
#[derive(Debug, PartialEq, Eq)]
struct FlightKey {
    joined: Box<str>,
    tool_len: usize,
}

impl FlightKey {
    fn new(key: RecordKey<'_>) -> Self {
        FlightKey {
            joined: [key.tool, key.key].concat().into(),
            tool_len: key.tool.len(),
        }
    }

    fn parts(&self) -> RecordKey<'_> {
        let (tool, key) = self.joined.split_at(self.tool_len);
        RecordKey { tool, key }
    }
}

impl Hash for FlightKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Lookup(self.parts()).hash(state);
    }
}

/// A borrowed flight address, to look a flight up without allocating.
struct Lookup<'a>(RecordKey<'a>);

impl Hash for Lookup<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.tool.hash(state);
        self.0.key.hash(state);
    }
}

impl Equivalent<FlightKey> for Lookup<'_> {
    fn equivalent(&self, flight: &FlightKey) -> bool {
        flight.parts() == self.0
    }
}

/// The executions in flight in this process, by (tool, key).
#[derive(Debug, Default)]
pub(crate) struct Flights {
    map: Mutex<HashMap<FlightKey, Arc<Flight>>>,
}

/// The role of a call in its flight.
pub(crate) enum Role<'a> {
    /// First in: runs the state machine and publishes the result.
    Leader(FlightGuard<'a>),
    /// A duplicate: waits for the leader's result.
    Follower(Arc<Flight>),
}

impl Flights {
    pub(crate) fn join<'a>(&'a self, key: RecordKey<'a>) -> Role<'a> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let flight = match map.entry_ref(&Lookup(key)) {
            EntryRef::Occupied(occupied) => return Role::Follower(Arc::clone(occupied.get())),
            EntryRef::Vacant(vacant) => {
                Arc::clone(vacant.insert_with_key(FlightKey::new(key), Arc::default()))
            }
        };
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
    key: RecordKey<'a>,
    flight: Arc<Flight>,
    published: bool,
}

impl FlightGuard<'_> {
    /// The leader's tool starts: duplicates that do not wait for a running call stop waiting.
    pub(crate) fn tool_started(&self) {
        self.flight.tool_started.store(true, Ordering::Release);
        self.flight.done.notify_waiters();
    }

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
            .remove(&Lookup(self.key));
        // Followers take their handle under the map's lock, so after the removal the count is
        // final: with nobody waiting, there is nothing to hand over.
        if Arc::strong_count(&self.flight) > 1 {
            self.flight.publish(shared);
        }
    }
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        self.publish(Shared::Retry);
    }
}
