//! A verified-credentials cache, as Dovecot's auth cache: after a password passed its Argon2
//! check, a keyed hash of it (BLAKE2b-MAC with a key drawn at random for the process) is kept
//! for a while, so that the same user with the same password logs in again without another
//! Argon2 run. FTP clients open many sessions with the same credentials (FileZilla's transfer
//! connections, parallel mirrors, backup tools that reconnect per file).
//!
//! Bounded in time (each entry's `ttl`) and in count (one entry per user, at most
//! `max_entries`, the oldest dropped first); failures are never cached, so a wrong password
//! always pays the full hash; an entry names the account's stored hash, so a changed
//! password (a reloaded table) never matches an old entry. The plaintext is never kept. The
//! trade-off, as with Dovecot's: whoever can read the process's memory gets MACs that are
//! fast to test guesses against, where the stored Argon2 hashes are slow to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blake2::Blake2bMac512;
use blake2::digest::{KeyInit, Mac};

/// The cache's settings: how long a verified password is remembered, and for how many users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CredentialCacheConfig {
    /// How long after its Argon2 check a password is accepted without one (default 10 min).
    pub ttl: Duration,
    /// Users remembered at once (default 1,024); past it the oldest entry goes.
    pub max_entries: usize,
}

impl Default for CredentialCacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(600),
            max_entries: 1024,
        }
    }
}

struct Entry {
    /// MAC of the user's name and password under the process key.
    tag: [u8; 64],
    /// The stored hash the password was checked against.
    hash: Arc<str>,
    expires: Instant,
}

pub(crate) struct CredentialCache {
    config: CredentialCacheConfig,
    key: [u8; 64],
    entries: Mutex<HashMap<String, Entry>>,
}

impl CredentialCache {
    pub(crate) fn new(config: CredentialCacheConfig) -> Self {
        let mut key = [0u8; 64];
        // No randomness, no cache: every login then runs Argon2.
        let config = match getrandom::fill(&mut key) {
            Ok(()) => config,
            Err(_) => CredentialCacheConfig {
                max_entries: 0,
                ..config
            },
        };
        Self {
            config,
            key,
            entries: Mutex::default(),
        }
    }

    fn mac(&self, user: &str, password: &[u8]) -> Blake2bMac512 {
        let mut mac = Blake2bMac512::new_from_slice(&self.key).expect("a 64-byte key fits");
        mac.update(&(user.len() as u64).to_le_bytes());
        mac.update(user.as_bytes());
        mac.update(password);
        mac
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `password` is the one `user` logged in with lately, against `hash`.
    pub(crate) fn verified(
        &self,
        user: &str,
        hash: &Arc<str>,
        password: &[u8],
        now: Instant,
    ) -> bool {
        if self.config.max_entries == 0 {
            return false;
        }
        let mut entries = self.lock();
        let Some(entry) = entries.get(user) else {
            return false;
        };
        if entry.expires <= now || *entry.hash != **hash {
            entries.remove(user);
            return false;
        }
        // Compared in constant time.
        self.mac(user, password).verify_slice(&entry.tag).is_ok()
    }

    /// Remembers that `password` passed the check against `hash`.
    pub(crate) fn remember(&self, user: &str, hash: &Arc<str>, password: &[u8], now: Instant) {
        if self.config.max_entries == 0 {
            return;
        }
        let tag: [u8; 64] = self.mac(user, password).finalize().into_bytes().into();
        let mut entries = self.lock();
        if !entries.contains_key(user) && entries.len() >= self.config.max_entries {
            entries.retain(|_, e| e.expires > now);
            if entries.len() >= self.config.max_entries {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, e)| e.expires)
                    .map(|(name, _)| name.clone());
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(
            user.to_owned(),
            Entry {
                tag,
                hash: Arc::clone(hash),
                expires: now + self.config.ttl,
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(ttl: u64, max: usize) -> CredentialCache {
        CredentialCache::new(CredentialCacheConfig {
            ttl: Duration::from_secs(ttl),
            max_entries: max,
        })
    }

    #[test]
    fn remembers_the_right_password_only_for_its_time() {
        let (c, h, t0) = (cache(60, 8), Arc::from("$argon2id$a"), Instant::now());
        assert!(
            !c.verified("alice", &h, b"pw", t0),
            "nothing before a check"
        );
        c.remember("alice", &h, b"pw", t0);
        assert!(c.verified("alice", &h, b"pw", t0 + Duration::from_secs(59)));
        assert!(!c.verified("alice", &h, b"PW", t0), "another password");
        assert!(!c.verified("bob", &h, b"pw", t0), "another user");
        // A changed stored hash (a new password in a reloaded table) never matches.
        assert!(!c.verified("alice", &Arc::from("$argon2id$b"), b"pw", t0));
        c.remember("alice", &h, b"pw", t0);
        assert!(
            !c.verified("alice", &h, b"pw", t0 + Duration::from_secs(60)),
            "expired"
        );
        assert_eq!(c.len(), 0, "the expired entry is gone");
    }

    #[test]
    fn bounded_in_count_and_off_at_zero() {
        let (c, h, t0) = (cache(60, 2), Arc::from("h"), Instant::now());
        for (i, user) in ["a", "b", "c"].into_iter().enumerate() {
            c.remember(user, &h, b"pw", t0 + Duration::from_secs(i as u64));
        }
        assert_eq!(c.len(), 2);
        assert!(!c.verified("a", &h, b"pw", t0), "the oldest went");
        assert!(c.verified("c", &h, b"pw", t0));
        let off = cache(60, 0);
        off.remember("a", &h, b"pw", t0);
        assert!(!off.verified("a", &h, b"pw", t0));
    }

    #[test]
    fn keys_differ_per_process_instance() {
        let (a, b, h, t0) = (cache(60, 4), cache(60, 4), Arc::from("h"), Instant::now());
        a.remember("u", &h, b"pw", t0);
        let tag_a = a.lock()["u"].tag;
        b.remember("u", &h, b"pw", t0);
        assert_ne!(tag_a, b.lock()["u"].tag, "a random key per cache");
    }
}
