//! API tokens recently resolved, so that a busy client's requests do not
//! each read its token, user and organisation again.
//!
//! Rules:
//! - An entry is the stored row as read; every check (revoked, expired on
//!   the application clock, user active) runs again on each use.
//! - An entry lives at most [`TOKEN_CACHE_TTL`]: a change made by another
//!   process (a second server, the CLI) is seen within that time.
//! - Every change this process makes to tokens, users or the organisation
//!   tree calls [`TokenCache::forget_all`] after its commit. A read that
//!   started before such a change is not kept (the generation moved on), so
//!   a revoked token stops working at once.
//! - Bounded: past [`TOKEN_CACHE_MAX`] entries it starts afresh.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a resolved token is trusted without reading it again.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(1);

/// Most tokens kept.
const TOKEN_CACHE_MAX: usize = 10_000;

#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    generation: AtomicU64,
    entries: Mutex<HashMap<String, (Instant, super::TokenHolder)>>,
}

impl TokenCache {
    /// The generation to hand back to [`TokenCache::keep`] after a read.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The row read for `token_hash` less than a TTL ago.
    pub(crate) fn get(&self, token_hash: &str) -> Option<super::TokenHolder> {
        let entries = self.entries.lock().ok()?;
        let (read_at, holder) = entries.get(token_hash)?;
        (read_at.elapsed() < TOKEN_CACHE_TTL).then(|| holder.clone())
    }

    /// Keeps a row read at `generation`, unless something changed since.
    pub(crate) fn keep(&self, token_hash: &str, generation: u64, holder: super::TokenHolder) {
        let Ok(mut entries) = self.entries.lock() else { return };
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= TOKEN_CACHE_MAX {
            entries.clear();
        }
        entries.insert(token_hash.to_owned(), (Instant::now(), holder));
    }

    /// Forgets every entry (after a committed change to tokens, users or organisations).
    pub(crate) fn forget_all(&self) {
        let Ok(mut entries) = self.entries.lock() else { return };
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(role: &str) -> super::super::TokenHolder {
        super::super::TokenHolder {
            token_id: uuid::Uuid::nil(),
            access: "write".to_owned(),
            expires_at: chrono::DateTime::<chrono::Utc>::MAX_UTC,
            last_used_at: None,
            revoked_at: None,
            user_id: uuid::Uuid::nil(),
            username: "shi".to_owned(),
            role: role.to_owned(),
            active: true,
            org_id: uuid::Uuid::nil(),
            org_path: "/".to_owned(),
        }
    }

    #[test]
    fn keeps_what_was_read_and_forgets_on_change() {
        let cache = TokenCache::default();
        let generation = cache.generation();
        cache.keep("h", generation, holder("city_staff"));
        assert_eq!(cache.get("h").map(|h| h.role), Some("city_staff".to_owned()));
        cache.forget_all();
        assert!(cache.get("h").is_none());
    }

    #[test]
    fn a_read_from_before_a_change_is_not_kept() {
        let cache = TokenCache::default();
        // A request reads the row, then a change commits and clears the cache,
        // then the request tries to keep what it read: it must not.
        let generation = cache.generation();
        cache.forget_all();
        cache.keep("h", generation, holder("city_staff"));
        assert!(cache.get("h").is_none());
        cache.keep("h", cache.generation(), holder("partner"));
        assert_eq!(cache.get("h").map(|h| h.role), Some("partner".to_owned()));
    }
}
