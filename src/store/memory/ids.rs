//! The hashing of task ids for the shards' maps.
//!
//! A task id is 16 bytes, most of them random: std's SipHash spends about
//! a tenth of a claim-and-complete cycle hashing them. An id hashes here
//! as two 64-bit words folded by one 128-bit multiplication with keys
//! drawn at random for each map, so that ids chosen by a caller cannot be
//! aimed at one bucket without the keys. Strings (owners, resources,
//! kinds) keep std's hasher.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// A map by task id with [`IdHashing`].
pub(super) type IdMap<V> = HashMap<crate::id::TaskId, V, IdHashing>;

/// The high and low halves of the 128-bit product of `a` and `b`, xored.
fn folded(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// Builds [`IdHasher`]s with the keys drawn when the map was made.
#[derive(Clone, Debug)]
pub(super) struct IdHashing {
    keys: [u64; 2],
}

impl Default for IdHashing {
    fn default() -> Self {
        // std's random keys, drawn per map, read through its hasher.
        let random = RandomState::new();
        IdHashing {
            keys: [random.hash_one(0u8), random.hash_one(1u8)],
        }
    }
}

impl BuildHasher for IdHashing {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher {
            state: self.keys[0],
            key: self.keys[1],
        }
    }
}

/// Folds each word written into the state, with the map's keys.
#[derive(Debug)]
pub(super) struct IdHasher {
    state: u64,
    key: u64,
}

impl IdHasher {
    fn word(&mut self, word: u64) {
        self.state = folded(self.state ^ word, self.key | 1);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.word(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.word(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.word(n as u64);
    }

    fn finish(&self) -> u64 {
        // One more fold: the last word written reaches every bit.
        folded(self.state, self.key ^ 0x9E37_79B9_7F4A_7C15)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::IdHashing;
    use crate::id::IdGenerator;

    #[test]
    fn ids_spread_over_buckets_and_maps_draw_their_own_keys() {
        let at = chrono::DateTime::UNIX_EPOCH;
        let mut ids = IdGenerator::seeded(7);
        let ids: Vec<_> = (0..4096).map(|_| ids.next_id(at)).collect();
        let hashing = IdHashing::default();
        // The low 10 bits pick the bucket among 1 024, the top 7 the
        // control byte: both spread.
        let buckets: HashSet<u64> = ids.iter().map(|id| hashing.hash_one(id) & 1023).collect();
        assert!(buckets.len() > 900, "{} buckets of 1024", buckets.len());
        let tags: HashSet<u64> = ids.iter().map(|id| hashing.hash_one(id) >> 57).collect();
        assert_eq!(tags.len(), 128);
        let other = IdHashing::default();
        assert_ne!(hashing.hash_one(ids[0]), other.hash_one(ids[0]));
    }
}
