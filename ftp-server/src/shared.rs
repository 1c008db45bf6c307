//! What every connection of a server shares: the runtime, the storage, the authenticator, the
//! settings, and the shutdown signals and connection counts (the [`Lifecycle`]).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, PoisonError};

use ftp_proto::ServerConfig;
use ftp_proto::rate::TokenBucket;
use ftp_proto::server::LoginThrottle;
use ftp_runtime::Runtime;
use futures_channel::oneshot;
use futures_util::future::{FutureExt, Shared as SharedFuture};

use crate::options::ServerOptions;

pub(crate) struct Shared<S, A> {
    pub(crate) runtime: Arc<dyn Runtime>,
    /// The protocol machine's settings, one copy for every session.
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) storage: Arc<S>,
    pub(crate) auth: A,
    pub(crate) options: ServerOptions,
    pub(crate) life: Arc<Lifecycle>,
    pub(crate) passive: PassivePorts,
    /// Failed logins per address, shared by every session.
    pub(crate) throttle: Mutex<LoginThrottle>,
    /// Connections not logged in yet, per client address.
    pub(crate) unauthenticated: Arc<Counted<IpAddr>>,
    /// Logged-in sessions per user name.
    pub(crate) user_sessions: Arc<Counted<String>>,
    /// The buckets of the per-user and per-server bandwidth limits.
    pub(crate) bandwidth: Mutex<Bandwidth>,
    /// What each user stores, for the quota: counted once, kept up to date by uploads.
    pub(crate) usage: Mutex<HashMap<String, Usage>>,
    /// Checksums (`HASH`) running at once: one per CPU.
    pub(crate) checksums: crate::checksum::Turns,
}

/// What a user stores under their home.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Usage {
    pub(crate) bytes: u64,
    pub(crate) files: u64,
}

impl<S: crate::storage::Storage, A> Shared<S, A> {
    /// A user's usage: the cached count, or their home walked page by page.
    pub(crate) async fn usage_of(&self, user: &crate::auth::Principal) -> Usage {
        if let Some(u) = self.usage_lock().get(&user.name) {
            return *u;
        }
        let mut usage = Usage::default();
        let mut dirs = vec![user.home.clone()];
        while let Some(dir) = dirs.pop() {
            let Ok(mut lister) = self.storage.list(user, &dir).await else {
                continue;
            };
            while let Ok(page) = crate::storage::DirLister::next_page(&mut lister).await {
                if page.is_empty() {
                    break;
                }
                for entry in page {
                    match entry.metadata.kind {
                        ftp_proto::listing::FileKind::File => {
                            usage.bytes = usage.bytes.saturating_add(entry.metadata.size);
                            usage.files += 1;
                        }
                        ftp_proto::listing::FileKind::Directory
                            if entry.name.as_ref() != b"." && entry.name.as_ref() != b".." =>
                        {
                            dirs.push(dir.join(&entry.name));
                        }
                        _ => {}
                    }
                }
            }
        }
        self.usage_lock().insert(user.name.clone(), usage);
        usage
    }

    /// Forgets a user's count (counted again at their next upload).
    pub(crate) fn forget_usage(&self, user: &str) {
        self.usage_lock().remove(user);
    }

    pub(crate) fn usage_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Usage>> {
        self.usage.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The shared token buckets, for uploads (`[0]`) and downloads (`[1]`): the server's, and one
/// pair per user that has transferred (bounded by the users the authenticator knows).
#[derive(Default)]
pub(crate) struct Bandwidth {
    pub(crate) server: [Option<TokenBucket>; 2],
    pub(crate) users: HashMap<String, [Option<TokenBucket>; 2]>,
}

/// A bucket for `rate` bytes per second, if there is a limit: a burst of a quarter second's
/// worth, at least 64 KiB.
pub(crate) fn bucket(rate: Option<u64>, now: std::time::Instant) -> Option<TokenBucket> {
    rate.map(|rate| TokenBucket::new(rate, (rate / 4).max(64 << 10), now))
}

impl<S, A> Shared<S, A> {
    /// The login throttle, locked (never across an await).
    pub(crate) fn throttle(&self) -> std::sync::MutexGuard<'_, LoginThrottle> {
        self.throttle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How many passive listeners each client address holds (where they go:
/// [`ftp_runtime::random_start`]).
#[derive(Default)]
pub(crate) struct PassivePorts {
    per_ip: Arc<Counted<IpAddr>>,
}

impl PassivePorts {
    /// A slot for one more listener of `ip`, if it has fewer than `max`; freed when dropped.
    pub(crate) fn slot(&self, ip: IpAddr, max: usize) -> Option<PassiveSlot> {
        self.per_ip.take(ip, usize::MAX, max)
    }
}

/// One passive listener counted against its client address.
pub(crate) type PassiveSlot = Held<IpAddr>;

/// Things held (connections not logged in, sessions of a user, passive listeners), counted in
/// all and per key under limits; each [`Held`] gives its place back when dropped.
pub(crate) struct Counted<K: Hash + Eq> {
    counts: Mutex<(usize, HashMap<K, usize>)>,
}

impl<K: Hash + Eq> Default for Counted<K> {
    fn default() -> Self {
        Self {
            counts: Mutex::new((0, HashMap::new())),
        }
    }
}

impl<K: Hash + Eq + Clone> Counted<K> {
    /// A place for one more under `key`, if fewer than `max_total` are held in all and fewer
    /// than `max_per_key` under `key`.
    pub(crate) fn take(
        self: &Arc<Self>,
        key: K,
        max_total: usize,
        max_per_key: usize,
    ) -> Option<Held<K>> {
        let mut guard = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let (total, per_key) = &mut *guard;
        let mine = per_key.get(&key).copied().unwrap_or(0);
        if *total >= max_total || mine >= max_per_key {
            return None;
        }
        *total += 1;
        per_key.insert(key.clone(), mine + 1);
        Some(Held {
            from: Arc::clone(self),
            key,
        })
    }
}

/// One place of a [`Counted`].
pub(crate) struct Held<K: Hash + Eq> {
    from: Arc<Counted<K>>,
    key: K,
}

impl<K: Hash + Eq> Drop for Held<K> {
    fn drop(&mut self) {
        let mut guard = self
            .from
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (total, per_key) = &mut *guard;
        *total = total.saturating_sub(1);
        if let Some(n) = per_key.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per_key.remove(&self.key);
            }
        }
    }
}

/// What the server's connections share that knows nothing of storage or users: the shutdown
/// signals and the connection counts, held by the `ShutdownHandle` too.
pub(crate) struct Lifecycle {
    pub(crate) runtime: Arc<dyn Runtime>,
    shutdown_rx: SharedFuture<oneshot::Receiver<()>>,
    pub(crate) shutdown_tx: Mutex<Option<oneshot::Sender<()>>>,
    deadline_rx: SharedFuture<oneshot::Receiver<()>>,
    pub(crate) deadline_tx: Mutex<Option<oneshot::Sender<()>>>,
    /// Control connections open.
    pub(crate) active: AtomicUsize,
    /// Control connections open, per client address.
    pub(crate) per_ip: Mutex<HashMap<IpAddr, usize>>,
}

impl Lifecycle {
    pub(crate) fn new(runtime: Arc<dyn Runtime>) -> Self {
        let (tx, rx) = oneshot::channel();
        let (deadline_tx, deadline_rx) = oneshot::channel();
        Self {
            runtime,
            shutdown_rx: rx.shared(),
            shutdown_tx: Mutex::new(Some(tx)),
            deadline_rx: deadline_rx.shared(),
            deadline_tx: Mutex::new(Some(deadline_tx)),
            active: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
        }
    }
}

impl<S, A> Shared<S, A> {
    /// Completes when shutdown starts.
    pub(crate) fn shutdown_signal(&self) -> SharedFuture<oneshot::Receiver<()>> {
        self.life.shutdown_rx.clone()
    }

    /// Completes when the shutdown deadline has passed: sessions still open must close now.
    pub(crate) fn deadline_signal(&self) -> SharedFuture<oneshot::Receiver<()>> {
        self.life.deadline_rx.clone()
    }
}

/// Fires a one-time signal (a no-op if it fired before).
pub(crate) fn fire(tx: &Mutex<Option<oneshot::Sender<()>>>) {
    if let Some(tx) = tx.lock().unwrap_or_else(PoisonError::into_inner).take() {
        let _ = tx.send(());
    }
}

/// Logs a back-end's refusal: at debug, or at WARN under `ftp_server::audit` when it is
/// cap-std's refusal of a path (a symbolic link, say) that leads outside the root, an attempt
/// at traversal.
pub(crate) fn log_storage_failure(e: &crate::storage::StorageError, what: &str) {
    let source = std::error::Error::source(e);
    if source.is_some_and(|s| s.to_string().contains("outside of the filesystem")) {
        tracing::warn!(target: "ftp_server::audit", error = %e, "refused: a path leads outside the root");
    } else {
        tracing::debug!(error = %e, source = ?source, "{what}");
    }
}
