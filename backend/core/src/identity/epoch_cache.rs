//! Values kept in memory under the credentials epoch they were read in.
//!
//! Every change that can end or narrow a credential, and every change to who
//! belongs to an org and how they appear on its members page, moves
//! `credentials_epoch` forward in the transaction making it (database triggers:
//! migrations `m20261207_000010_credentials_epoch` and
//! `m20261211_000016_identity_links_epoch`). A request reads the epoch once; a
//! value remembered under that same epoch is what the database would answer
//! now, and one from another epoch is read again. Callers remember a value under
//! the epoch read *before* they read it, so a change that commits meanwhile can
//! never hide behind it.

use std::{hash::Hash, sync::Arc};

use chrono::{DateTime, Utc};
use quick_cache::{sync::Cache, Equivalent, Weighter};

use super::verified::Epoch;

/// One kind of value, each tagged with its epoch and the instant it ends.
pub struct EpochCache<K, V> {
    entries: Cache<K, Arc<Entry<V>>, ByWeight>,
}

struct Entry<V> {
    epoch: Epoch,
    until: Option<DateTime<Utc>>,
    weight: u64,
    value: Arc<V>,
}

/// Each entry weighs what it was put with (1 unless told otherwise).
#[derive(Clone)]
struct ByWeight;

impl<K, V> Weighter<K, Arc<Entry<V>>> for ByWeight {
    fn weight(&self, _: &K, entry: &Arc<Entry<V>>) -> u64 {
        entry.weight
    }
}

impl<K: Eq + Hash, V> EpochCache<K, V> {
    /// A cache holding entries of a total weight of at most `capacity`.
    pub fn new(capacity: u64) -> Self {
        Self {
            entries: Cache::with_weighter(capacity.min(1 << 20) as usize, capacity, ByWeight),
        }
    }

    /// The value remembered under `epoch`, if it has not ended by `now`.
    pub fn get<Q>(&self, key: &Q, epoch: Epoch, now: DateTime<Utc>) -> Option<Arc<V>>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.entries
            .get(key)
            .filter(|entry| entry.epoch == epoch && entry.until.is_none_or(|until| until > now))
            .map(|entry| entry.value.clone())
    }

    /// Remembers `value`, read under `epoch`, until `until` (if it ends).
    pub fn put(&self, key: K, epoch: Epoch, until: Option<DateTime<Utc>>, value: Arc<V>) {
        self.put_weighing(key, epoch, until, 1, value);
    }

    /// [`put`](Self::put) for a value that counts as `weight` entries.
    pub fn put_weighing(
        &self,
        key: K,
        epoch: Epoch,
        until: Option<DateTime<Utc>>,
        weight: u64,
        value: Arc<V>,
    ) {
        let entry = Entry {
            epoch,
            until,
            weight: weight.max(1),
            value,
        };
        self.entries.insert(key, Arc::new(entry));
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn an_entry_answers_only_in_its_own_epoch_and_before_its_end() {
        let cache: EpochCache<String, u32> = EpochCache::new(10);
        let now = Utc::now();
        cache.put(
            "a".into(),
            Epoch::new(3),
            Some(now + Duration::seconds(10)),
            Arc::new(7),
        );
        assert_eq!(cache.get("a", Epoch::new(3), now).as_deref(), Some(&7));
        assert!(
            cache.get("a", Epoch::new(4), now).is_none(),
            "a newer epoch reads again"
        );
        assert!(
            cache.get("a", Epoch::new(2), now).is_none(),
            "so does an older one"
        );
        assert!(
            cache
                .get("a", Epoch::new(3), now + Duration::seconds(10))
                .is_none(),
            "an ended value is no longer current"
        );
        assert!(cache.get("b", Epoch::new(3), now).is_none());
    }

    #[test]
    fn heavy_entries_take_their_weight_of_the_capacity() {
        let cache: EpochCache<u32, u32> = EpochCache::new(1_000);
        for key in 0..100 {
            cache.put_weighing(key, Epoch::new(1), None, 100, Arc::new(key));
        }
        let kept = (0..100)
            .filter(|key| cache.get(key, Epoch::new(1), Utc::now()).is_some())
            .count();
        assert!(
            kept <= 10,
            "at most 1,000 of weight stays: {kept} entries of 100 did"
        );
    }
}
