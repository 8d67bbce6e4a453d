//! Where the gift writer's random values come from: the ids of donors,
//! gifts and journal entries (UUID v7) and the commitments' salts. In
//! service they are random, exactly as `Uuid::now_v7()` and 16 random bytes
//! make them. A store seeded with [`Store::with_seeded_draws`] (tests only)
//! derives each one from a hash of the seed, the kind of value and how many
//! of that kind it drew before, and dates ids by the time it is given, so
//! that two stores given the same gifts in the same order write the same
//! bytes however the gifts were batched (tests/store/writer.rs).

use crate::Store;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The kinds of value drawn; each counts apart, so that the order in which
/// kinds are drawn (all donors of a batch first, or gift by gift) does not
/// change what any one of them gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drawn {
    Donor = 0,
    Gift = 1,
    JournalEntry = 2,
    Salt = 3,
}

/// The source of a store's random values.
#[derive(Debug, Default)]
pub(crate) enum Draws {
    #[default]
    Random,
    Seeded {
        seed: u64,
        counts: [AtomicU64; 4],
    },
}

impl Draws {
    /// 16 bytes: random, or the next of `kind` from the seed.
    fn bytes(&self, kind: Drawn) -> [u8; 16] {
        match self {
            Draws::Random => rand::random(),
            Draws::Seeded { seed, counts } => {
                let n = counts[kind as usize].fetch_add(1, Ordering::Relaxed);
                let digest = Sha256::new()
                    .chain_update(b"boai draws\0")
                    .chain_update(seed.to_be_bytes())
                    .chain_update([kind as u8])
                    .chain_update(n.to_be_bytes())
                    .finalize();
                let mut out = [0; 16];
                out.copy_from_slice(&digest[..16]);
                out
            }
        }
    }

    /// A new time-ordered id (seeded: dated `at`).
    pub(crate) fn id(&self, kind: Drawn, at: DateTime<Utc>) -> uuid::Uuid {
        match self {
            Draws::Random => uuid::Uuid::now_v7(),
            Draws::Seeded { .. } => {
                let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
                let mut random = [0; 10];
                random.copy_from_slice(&self.bytes(kind)[..10]);
                uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
            }
        }
    }

    /// A commitment's salt: 16 bytes in lowercase hex.
    pub(crate) fn salt(&self) -> String {
        hex::encode(self.bytes(Drawn::Salt))
    }
}

impl Store {
    /// Draws ids and salts from `seed` instead of at random (tests only: two
    /// stores seeded alike write the same gifts byte for byte). Call it
    /// before the store writes anything.
    pub fn with_seeded_draws(mut self, seed: u64) -> Store {
        self.draws = Arc::new(Draws::Seeded {
            seed,
            counts: Default::default(),
        });
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn seeded_draws_repeat_per_kind_and_random_ones_do_not() {
        let at = DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap();
        let seeded = || Draws::Seeded {
            seed: 7,
            counts: Default::default(),
        };
        let (a, b) = (seeded(), seeded());
        // Kinds count apart: interleaving does not change a kind's values.
        let first = a.id(Drawn::Gift, at);
        let _ = a.id(Drawn::Donor, at);
        assert_eq!(b.id(Drawn::Gift, at), first);
        assert_eq!(first.get_version_num(), 7);
        assert_eq!(a.salt(), b.salt());
        assert_eq!(a.salt().len(), 32);
        assert_ne!(a.id(Drawn::Gift, at), first);
        assert_ne!(Draws::Random.salt(), Draws::Random.salt());
        assert_ne!(Draws::Random.id(Drawn::Gift, at), Draws::Random.id(Drawn::Gift, at));
    }
}
