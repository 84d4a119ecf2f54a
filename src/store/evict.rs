//! Which key to evict when memory is over `maxmemory`: Redis's approximation of the policies.
//!
//! Ranking every key on each eviction would cost O(keys), so, as Redis's `evict.c` does, each
//! choice samples `maxmemory-samples` keys per database (only keys with an expiry under the
//! `volatile-*` policies), scores them (idle time, inverse access frequency, or nearness of the
//! expiry) and offers them to a pool of the [`POOL_SIZE`] best candidates seen so far, which
//! survives between choices: the pool makes a few samples per choice approximate the true
//! order well. The best candidate still present is evicted. The random policies pick a random
//! key of the next database that has one.
//!
//! The choice reads the per-key access words ([`super::access`]) by position, so sampling a key
//! costs no hashing under the `allkeys-*` policies (one lookup per sample under `volatile-*`,
//! to find the key's word from its expiry entry).

use super::keyspace::{Key, Keyspace};
use rand::Rng;

/// Which keys the cold tier may drop the value of (see [`EvictionPool::choose_where`]).
pub type Accept<'a> = &'a mut dyn FnMut(&Keyspace, usize, &[u8]) -> bool;

/// Which keys sampling looks at: only those with an expiry (`volatile`), and not cold ones
/// (`skip_cold`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Sampling {
    pub volatile: bool,
    pub skip_cold: bool,
}

/// Candidates the pool keeps between choices, as Redis's `EVPOOL_SIZE`.
pub const POOL_SIZE: usize = 16;

/// `maxmemory-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictionPolicy {
    NoEviction,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

impl EvictionPolicy {
    /// The policy Redis names `name` (lowercase, as the configuration stores it).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "noeviction" => Self::NoEviction,
            "allkeys-lru" => Self::AllKeysLru,
            "allkeys-lfu" => Self::AllKeysLfu,
            "allkeys-random" => Self::AllKeysRandom,
            "volatile-lru" => Self::VolatileLru,
            "volatile-lfu" => Self::VolatileLfu,
            "volatile-random" => Self::VolatileRandom,
            "volatile-ttl" => Self::VolatileTtl,
            _ => return None,
        })
    }

    /// True if only keys with an expiry may be evicted.
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            Self::VolatileLru | Self::VolatileLfu | Self::VolatileRandom | Self::VolatileTtl
        )
    }

    /// How keys are ranked: `None` for the random policies (and `noeviction`).
    fn ranking(self) -> Option<Ranking> {
        match self {
            Self::AllKeysLru | Self::VolatileLru => Some(Ranking::Idle),
            Self::AllKeysLfu | Self::VolatileLfu => Some(Ranking::Rarity),
            Self::VolatileTtl => Some(Ranking::Expiry),
            Self::NoEviction | Self::AllKeysRandom | Self::VolatileRandom => None,
        }
    }
}

/// What makes a key a better candidate (a higher score).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranking {
    /// Longer since its last access (LRU).
    Idle,
    /// Fewer accesses: 255 less its decayed LFU counter.
    Rarity,
    /// Sooner expiry: `u64::MAX` less its expiry time.
    Expiry,
}

#[derive(Debug, Clone)]
struct Candidate {
    score: u64,
    db: usize,
    key: Key,
}

/// The best candidates seen, ordered by score (best last), and where the random policies
/// look next. Kept between choices, as Redis's `EvictionPoolLRU`.
#[derive(Debug, Default)]
pub struct EvictionPool {
    candidates: Vec<Candidate>,
    /// The database the random policies try next (Redis's static `next_db`).
    next_db: usize,
}

impl EvictionPool {
    /// Forgets every candidate (after the policy changed: their scores mean something else).
    pub fn clear(&mut self) {
        self.candidates.clear();
    }

    pub fn len(&self) -> usize {
        self.candidates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.candidates.is_empty()
    }

    /// Offers a sampled key: kept if the pool has room or it beats the worst candidate (which
    /// then leaves). A key already in the pool only gets its score updated. O(POOL_SIZE).
    pub fn offer(&mut self, score: u64, db: usize, key: &[u8]) {
        if self.candidates.len() == POOL_SIZE && self.candidates[0].score >= score {
            // Not better than the worst candidate (most samples, once the pool is full).
            return;
        }
        if let Some(at) = self
            .candidates
            .iter()
            .position(|c| c.db == db && &*c.key == key)
        {
            self.candidates.remove(at);
        } else if self.candidates.len() == POOL_SIZE {
            self.candidates.remove(0);
        }
        let at = self.candidates.partition_point(|c| c.score < score);
        self.candidates.insert(
            at,
            Candidate {
                score,
                db,
                key: key.into(),
            },
        );
    }

    /// Takes the best candidate out of the pool (the best of database `only_db` if given).
    /// O(POOL_SIZE).
    fn pop_best(&mut self, only_db: Option<usize>) -> Option<(usize, Key)> {
        let at = match only_db {
            None => self.candidates.len().checked_sub(1)?,
            Some(db) => self.candidates.iter().rposition(|c| c.db == db)?,
        };
        let c = self.candidates.remove(at);
        Some((c.db, c.key))
    }

    /// Chooses the key `policy` evicts next (in database `only_db` if given), sampling
    /// `samples` keys per database for the ranked policies; `None` when no key may be evicted
    /// (`noeviction`, no key, or no key with an expiry under a `volatile-*` policy).
    /// O(databases × samples).
    pub fn choose(
        &mut self,
        ks: &mut Keyspace,
        policy: EvictionPolicy,
        samples: usize,
        only_db: Option<usize>,
        rng: &mut impl Rng,
    ) -> Option<(usize, Key)> {
        self.choose_where(ks, policy, samples, only_db, rng, None)
    }

    /// [`Self::choose`] for the cold tier when `accept` is given: cold keys are not sampled,
    /// and only a key `accept` takes is chosen (one whose value MongoDB holds); the random
    /// policies try up to `samples` keys per database. O(databases × samples).
    pub fn choose_where(
        &mut self,
        ks: &mut Keyspace,
        policy: EvictionPolicy,
        samples: usize,
        only_db: Option<usize>,
        rng: &mut impl Rng,
        mut accept: Option<Accept<'_>>,
    ) -> Option<(usize, Key)> {
        let skip_cold = accept.is_some();
        let mut accepted = |ks: &Keyspace, db: usize, key: &[u8]| match accept.as_mut() {
            None => true,
            Some(accept) => ks.cold_epoch(db, key).is_none() && accept(ks, db, key),
        };
        if policy == EvictionPolicy::NoEviction {
            return None;
        }
        let volatile = policy.volatile_only();
        let Some(ranking) = policy.ranking() else {
            let tries = if skip_cold { samples.max(1) } else { 1 };
            let mut pick = |ks: &Keyspace, db: usize| {
                (0..tries).find_map(|_| {
                    ks.random_evictable(db, volatile, rng)
                        .filter(|key| accepted(ks, db, key))
                })
            };
            if let Some(db) = only_db {
                return pick(ks, db).map(|key| (db, key));
            }
            let dbs = ks.db_count();
            for _ in 0..dbs {
                self.next_db = (self.next_db + 1) % dbs;
                if let Some(key) = pick(ks, self.next_db) {
                    return Some((self.next_db, key));
                }
            }
            return None;
        };
        // Keys in the pool may have gone since they were sampled (deleted, or evicted as
        // another's duplicate): a second round samples afresh before giving up.
        for _ in 0..2 {
            let mut sampled = 0;
            let dbs = match only_db {
                Some(db) => db..db + 1,
                None => 0..ks.db_count(),
            };
            for db in dbs {
                let sampling = Sampling {
                    volatile,
                    skip_cold,
                };
                sampled += ks.sample_for_eviction(db, sampling, ranking, samples, rng, self);
            }
            if sampled == 0 {
                return None;
            }
            while let Some((db, key)) = self.pop_best(only_db) {
                if ks.is_evictable(db, &key, volatile) && accepted(ks, db, &key) {
                    return Some((db, key));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Value;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    fn string(s: &str) -> Value {
        Value::Str(s.as_bytes().into(), Default::default())
    }

    #[test]
    fn the_pool_keeps_the_best_candidates_in_order() {
        let mut pool = EvictionPool::default();
        for score in 0..40u64 {
            pool.offer(score * 7 % 40, 0, format!("k{score}").as_bytes());
        }
        assert_eq!(pool.len(), POOL_SIZE);
        let scores: Vec<u64> = pool.candidates.iter().map(|c| c.score).collect();
        assert_eq!(scores, (24..40).collect::<Vec<_>>());
        pool.offer(1, 0, b"worse");
        assert_eq!(pool.len(), POOL_SIZE);
        assert!(pool.candidates.iter().all(|c| &*c.key != b"worse"));
        // A key offered again is not held twice.
        let best = pool.candidates[POOL_SIZE - 1].key.clone();
        pool.offer(100, 0, &best);
        assert_eq!(pool.len(), POOL_SIZE);
        assert_eq!(pool.pop_best(None), Some((0, best)));
    }

    #[test]
    fn volatile_policies_choose_only_keys_with_an_expiry() {
        let mut ks = Keyspace::new(2);
        ks.set_clock(1_000_000);
        let mut rng = SmallRng::seed_from_u64(7);
        {
            let mut db = ks.db(1);
            for i in 0..50 {
                db.insert(format!("plain{i}").as_bytes(), string("v"), None);
            }
            db.insert(b"soon", string("v"), Some(2_000_000));
            db.insert(b"late", string("v"), Some(9_000_000));
        }
        let mut pool = EvictionPool::default();
        for policy in [
            EvictionPolicy::VolatileLru,
            EvictionPolicy::VolatileLfu,
            EvictionPolicy::VolatileRandom,
            EvictionPolicy::VolatileTtl,
        ] {
            pool.clear();
            let (db, key) = pool.choose(&mut ks, policy, 5, None, &mut rng).unwrap();
            assert_eq!(db, 1);
            assert!(&*key == b"soon" || &*key == b"late", "{policy:?}");
        }
        pool.clear();
        let chosen = pool.choose(&mut ks, EvictionPolicy::VolatileTtl, 5, None, &mut rng);
        assert_eq!(chosen, Some((1, Key::from(&b"soon"[..]))));
        assert_eq!(
            pool.choose(&mut ks, EvictionPolicy::NoEviction, 5, None, &mut rng),
            None
        );
        let mut empty = Keyspace::new(2);
        for policy in [EvictionPolicy::AllKeysLru, EvictionPolicy::AllKeysRandom] {
            assert_eq!(pool.choose(&mut empty, policy, 5, None, &mut rng), None);
        }
        ks.db(1).remove(b"soon");
        ks.db(1).remove(b"late");
        pool.clear();
        assert_eq!(
            pool.choose(&mut ks, EvictionPolicy::VolatileLru, 5, None, &mut rng),
            None
        );
    }

    #[test]
    fn lru_eviction_takes_the_least_recently_used_keys() {
        let mut ks = Keyspace::new(1);
        let mut rng = SmallRng::seed_from_u64(11);
        ks.set_clock(10_000_000);
        for i in 0..100 {
            ks.db(0)
                .insert(format!("old{i}").as_bytes(), string("v"), None);
        }
        ks.set_clock(10_100_000);
        for i in 0..100 {
            ks.db(0)
                .insert(format!("new{i}").as_bytes(), string("v"), None);
        }
        let mut pool = EvictionPool::default();
        let mut old = 0;
        for _ in 0..50 {
            let (db, key) = pool
                .choose(&mut ks, EvictionPolicy::AllKeysLru, 5, None, &mut rng)
                .unwrap();
            old += usize::from(key.starts_with(b"old"));
            ks.evict(db, &key);
        }
        // With 16 candidates kept, nearly every choice is an old key.
        assert!(old >= 45, "{old}");
        assert_eq!(ks.stats.evicted_keys, 50);
        assert_eq!(ks.db(0).len(), 150);
    }

    #[test]
    fn the_cold_tier_chooses_only_hot_accepted_values() {
        let mut ks = Keyspace::new(1);
        let mut rng = SmallRng::seed_from_u64(5);
        ks.set_clock(10_000_000);
        for i in 0..100 {
            ks.db(0)
                .insert(format!("k{i}").as_bytes(), string("v"), None);
        }
        for i in 0..90 {
            ks.drop_value(0, format!("k{i}").as_bytes(), 1);
        }
        let mut pool = EvictionPool::default();
        for policy in [EvictionPolicy::AllKeysLru, EvictionPolicy::AllKeysRandom] {
            let mut refuse_k95 = |_: &Keyspace, _: usize, key: &[u8]| key != b"k95";
            for _ in 0..20 {
                let chosen =
                    pool.choose_where(&mut ks, policy, 5, None, &mut rng, Some(&mut refuse_k95));
                let Some((_, key)) = chosen else { continue };
                let n: usize = std::str::from_utf8(&key[1..]).unwrap().parse().unwrap();
                assert!(n >= 90 && n != 95, "{policy:?} chose {n}");
            }
            let mut refuse_all = |_: &Keyspace, _: usize, _: &[u8]| false;
            assert_eq!(
                pool.choose_where(&mut ks, policy, 5, None, &mut rng, Some(&mut refuse_all)),
                None
            );
        }
    }

    #[test]
    fn a_choice_can_be_kept_to_one_database() {
        let mut ks = Keyspace::new(3);
        let mut rng = SmallRng::seed_from_u64(3);
        ks.set_clock(10_000_000);
        for i in 0..20 {
            ks.db(0)
                .insert(format!("old{i}").as_bytes(), string("v"), None);
        }
        ks.set_clock(10_100_000);
        for i in 0..20 {
            ks.db(2)
                .insert(format!("new{i}").as_bytes(), string("v"), None);
        }
        let mut pool = EvictionPool::default();
        for policy in [EvictionPolicy::AllKeysLru, EvictionPolicy::AllKeysRandom] {
            for _ in 0..5 {
                let (db, _) = pool.choose(&mut ks, policy, 5, Some(2), &mut rng).unwrap();
                assert_eq!(db, 2);
            }
            assert_eq!(pool.choose(&mut ks, policy, 5, Some(1), &mut rng), None);
        }
        // Unrestricted, the old keys of database 0 go first.
        let (db, _) = pool
            .choose(&mut ks, EvictionPolicy::AllKeysLru, 5, None, &mut rng)
            .unwrap();
        assert_eq!(db, 0);
    }
}
