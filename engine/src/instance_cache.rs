//! The instances this process keeps between workflow tasks, so that the
//! next task of a workflow continues its instance instead of replaying
//! history, and an activity's outcome can run the workflow task it wakes
//! at once (an eager commit).
//!
//! A task runs ahead of its commit and its instance comes back only once
//! the commit is answered; but the commit hands this process the
//! activities it scheduled as soon as it is durable, and an instant
//! activity can finish before its workflow's instance is back. So a key
//! whose instance is being committed holds a [`Marker`], and an outcome
//! that finds one waits for the instance (bounded) instead of giving up
//! on the eager commit: without the wait ~3 % of activity outcomes in the
//! benchmark committed alone and stored a workflow task.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use crate::instance::Instance;

/// A workflow run: its id and run number.
pub(crate) type Key = (String, u32);

/// How long an outcome waits for an instance being committed before it
/// commits alone. A commit is answered within milliseconds unless the
/// database is in trouble, and then committing alone waits as long.
const WAIT_FOR_COMMIT: Duration = Duration::from_secs(1);

enum Slot {
    Kept(Instance),
    /// A task of this run is being committed; its instance follows.
    Committing(Arc<Notify>),
}

/// Instances by workflow run, at most `capacity` of them. Cheap to clone.
#[derive(Clone)]
pub(crate) struct InstanceCache {
    slots: Arc<Mutex<HashMap<Key, Slot>>>,
    capacity: usize,
}

impl InstanceCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            slots: Arc::default(),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the instance of `key`, if one is kept.
    pub(crate) fn take(&self, key: &Key) -> Option<Instance> {
        take_kept(&mut self.lock(), key)
    }

    /// Takes the instance of `key`; if it is being committed, first waits
    /// (at most [`WAIT_FOR_COMMIT`]) until that commit is answered.
    pub(crate) async fn take_after_commit(&self, key: &Key) -> Option<Instance> {
        let mut answered = {
            let mut slots = self.lock();
            let Some(Slot::Committing(notify)) = slots.get(key) else {
                return take_kept(&mut slots, key);
            };
            // Registered under the lock, so the marker's notification,
            // sent after it leaves the map, cannot be missed.
            let mut answered = Box::pin(notify.clone().notified_owned());
            answered.as_mut().enable();
            answered
        };
        let _ = tokio::time::timeout(WAIT_FOR_COMMIT, answered.as_mut()).await;
        self.take(key)
    }

    /// Keeps `instance` for its next task, evicting another if full.
    fn put(&self, key: Key, instance: Instance) {
        let mut slots = self.lock();
        if slots.len() >= self.capacity {
            // Evict an arbitrary kept instance: it will replay from history
            // if needed. Markers stay: their commits are in flight.
            let victim = slots
                .iter()
                .find(|(_, slot)| matches!(slot, Slot::Kept(_)))
                .map(|(key, _)| key.clone());
            if let Some(victim) = victim {
                slots.remove(&victim);
            }
        }
        slots.insert(key, Slot::Kept(instance));
    }

    /// Marks `key` as being committed until the returned marker keeps the
    /// instance ([`Marker::keep`]) or is dropped. A key that already holds
    /// an instance or a marker is left as it is until then.
    pub(crate) fn committing(&self, key: Key) -> Marker {
        let notify = match self.lock().entry(key.clone()) {
            Entry::Vacant(slot) => {
                let notify = Arc::new(Notify::new());
                slot.insert(Slot::Committing(notify.clone()));
                Some(notify)
            }
            Entry::Occupied(_) => None,
        };
        Marker {
            cache: self.clone(),
            key,
            notify,
        }
    }
}

/// The instance kept under `key`, taken out; a marker stays where it is.
fn take_kept(slots: &mut HashMap<Key, Slot>, key: &Key) -> Option<Instance> {
    match slots.get(key) {
        Some(Slot::Kept(_)) => match slots.remove(key) {
            Some(Slot::Kept(instance)) => Some(instance),
            _ => None,
        },
        _ => None,
    }
}

/// A key's "being committed" mark. [`keep`](Self::keep) replaces it with
/// the committed instance; dropping it instead removes it. Either way
/// whoever waits for the instance is woken once the slot is settled.
pub(crate) struct Marker {
    cache: InstanceCache,
    key: Key,
    notify: Option<Arc<Notify>>,
}

impl Marker {
    /// Keeps `instance` under the marked key for its next task.
    pub(crate) fn keep(mut self, instance: Instance) {
        self.cache.put(std::mem::take(&mut self.key), instance);
        if let Some(notify) = self.notify.take() {
            notify.notify_waiters();
        }
    }
}

impl Drop for Marker {
    fn drop(&mut self) {
        let Some(notify) = self.notify.take() else {
            return;
        };
        {
            let mut slots = self.cache.lock();
            if matches!(slots.get(&self.key), Some(Slot::Committing(mark)) if Arc::ptr_eq(mark, &notify))
            {
                slots.remove(&self.key);
            }
        }
        notify.notify_waiters();
    }
}
