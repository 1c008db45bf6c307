//! What every connection of a server shares: the runtime, the storage, the authenticator, the
//! settings, and the shutdown signals and connection counts (the [`Lifecycle`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use ftp_proto::ServerConfig;
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
    pub(crate) next_passive_port: AtomicUsize,
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
    if let Some(tx) = tx
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
    {
        let _ = tx.send(());
    }
}
