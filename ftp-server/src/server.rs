//! The server: options, the accept loop, per-connection limits and graceful shutdown.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ftp_proto::server::Features;
use ftp_proto::{ConnectionInfo, ServerConfig, ServerConnection};
use futures_channel::oneshot;
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::future::{Either, FutureExt, Shared as SharedFuture, select};
use futures_util::io::AsyncWriteExt;

use ftp_runtime::{IntoRuntime, Listener, Runtime};

use crate::auth::Authenticator;
use crate::session;
use crate::storage::Storage;

/// Server settings. `Default` gives safe values: no public address, passive ports from the OS,
/// five minutes of idle time, a one-second pause after each failed login.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// Text of the `220` greeting.
    pub greeting: String,
    /// Ports for passive listeners; `None`: any free port.
    pub passive_ports: Option<RangeInclusive<u16>>,
    /// The IPv4 address to announce in `227` replies (the public address behind NAT).
    pub masquerade_address: Option<Ipv4Addr>,
    /// Local port for active-mode connections (20 by tradition; `None`: any).
    pub active_local_port: Option<u16>,
    /// Close a control connection not logged in this long after it opened (`421`).
    pub login_timeout: Duration,
    /// Close a control connection with no complete command for this long (`421`), or whose
    /// replies have not been read for this long.
    pub idle_timeout: Duration,
    /// How long to wait for a data connection to open.
    pub data_connect_timeout: Duration,
    /// How long a data connection may stall before the transfer fails.
    pub data_stall_timeout: Duration,
    /// Pause after a failed login, against password guessing.
    pub failed_login_delay: Duration,
    /// Failed logins before the connection is closed.
    pub max_login_failures: u32,
    /// Longest command line accepted.
    pub max_line_len: usize,
    /// Buffer size of a transfer (allocated only while it runs).
    pub transfer_buffer: usize,
    /// Most control connections at once.
    pub max_connections: usize,
    /// Most control connections from one address at once.
    pub max_connections_per_ip: usize,
    /// Most lines in a `STAT path` reply (it is held in memory).
    pub max_status_lines: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            greeting: "FTP server ready.".to_owned(),
            passive_ports: None,
            masquerade_address: None,
            active_local_port: None,
            login_timeout: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(300),
            data_connect_timeout: Duration::from_secs(30),
            data_stall_timeout: Duration::from_secs(300),
            failed_login_delay: Duration::from_secs(1),
            max_login_failures: 3,
            max_line_len: 4096,
            transfer_buffer: 64 * 1024,
            max_connections: 1024,
            max_connections_per_ip: 64,
            max_status_lines: 10_000,
        }
    }
}

impl Options {
    /// Sets [`greeting`](Self::greeting).
    pub fn greeting(&mut self, text: impl Into<String>) -> &mut Self {
        self.greeting = text.into();
        self
    }
    /// Sets [`passive_ports`](Self::passive_ports).
    pub fn passive_ports(&mut self, ports: RangeInclusive<u16>) -> &mut Self {
        self.passive_ports = Some(ports);
        self
    }
    /// Sets [`masquerade_address`](Self::masquerade_address).
    pub fn masquerade_address(&mut self, ip: Ipv4Addr) -> &mut Self {
        self.masquerade_address = Some(ip);
        self
    }
    /// Sets [`active_local_port`](Self::active_local_port).
    pub fn active_local_port(&mut self, port: u16) -> &mut Self {
        self.active_local_port = Some(port);
        self
    }
    /// Sets [`login_timeout`](Self::login_timeout).
    pub fn login_timeout(&mut self, value: Duration) -> &mut Self {
        self.login_timeout = value;
        self
    }
    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(&mut self, value: Duration) -> &mut Self {
        self.idle_timeout = value;
        self
    }
    /// Sets [`data_connect_timeout`](Self::data_connect_timeout).
    pub fn data_connect_timeout(&mut self, value: Duration) -> &mut Self {
        self.data_connect_timeout = value;
        self
    }
    /// Sets [`data_stall_timeout`](Self::data_stall_timeout).
    pub fn data_stall_timeout(&mut self, value: Duration) -> &mut Self {
        self.data_stall_timeout = value;
        self
    }
    /// Sets [`failed_login_delay`](Self::failed_login_delay).
    pub fn failed_login_delay(&mut self, value: Duration) -> &mut Self {
        self.failed_login_delay = value;
        self
    }
    /// Sets [`max_login_failures`](Self::max_login_failures).
    pub fn max_login_failures(&mut self, value: u32) -> &mut Self {
        self.max_login_failures = value;
        self
    }
    /// Sets [`max_line_len`](Self::max_line_len).
    pub fn max_line_len(&mut self, value: usize) -> &mut Self {
        self.max_line_len = value;
        self
    }
    /// Sets [`transfer_buffer`](Self::transfer_buffer).
    pub fn transfer_buffer(&mut self, value: usize) -> &mut Self {
        self.transfer_buffer = value.max(512);
        self
    }
    /// Sets [`max_connections`](Self::max_connections).
    pub fn max_connections(&mut self, value: usize) -> &mut Self {
        self.max_connections = value;
        self
    }
    /// Sets [`max_connections_per_ip`](Self::max_connections_per_ip).
    pub fn max_connections_per_ip(&mut self, value: usize) -> &mut Self {
        self.max_connections_per_ip = value;
        self
    }
}

pub(crate) struct Shared<S, A> {
    pub(crate) runtime: Arc<dyn Runtime>,
    /// The protocol machine's settings, one copy for every session.
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) storage: Arc<S>,
    pub(crate) auth: A,
    pub(crate) options: Options,
    life: Arc<Lifecycle>,
    pub(crate) next_passive_port: AtomicUsize,
}

/// What the server's connections share that knows nothing of storage or users: the shutdown
/// signals and the connection counts, held by the [`ShutdownHandle`] too.
struct Lifecycle {
    runtime: Arc<dyn Runtime>,
    shutdown_rx: SharedFuture<oneshot::Receiver<()>>,
    shutdown_tx: Mutex<Option<oneshot::Sender<()>>>,
    deadline_rx: SharedFuture<oneshot::Receiver<()>>,
    deadline_tx: Mutex<Option<oneshot::Sender<()>>>,
    active: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
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
fn fire(tx: &Mutex<Option<oneshot::Sender<()>>>) {
    if let Some(tx) = tx
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
    {
        let _ = tx.send(());
    }
}

/// How long a session may take, once the shutdown deadline has passed, to send its `421` and
/// close before it is dropped (with its connections) regardless: a client that reads nothing
/// cannot hold a shutdown up.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// An FTP server. Cheap to clone; clones share connections, limits and shutdown.
pub struct Server<S, A> {
    shared: Arc<Shared<S, A>>,
}

impl<S, A> Clone for Server<S, A> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S, A> std::fmt::Debug for Server<S, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("options", &self.shared.options)
            .field(
                "connections",
                &self.shared.life.active.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

/// Stops a server gracefully. Obtained from [`Server::shutdown_handle`].
#[derive(Clone)]
pub struct ShutdownHandle {
    life: Arc<Lifecycle>,
}

impl std::fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownHandle").finish_non_exhaustive()
    }
}

/// Builds a [`Server`]: the three parts it cannot do without, then options.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use ftp_server::Server;
/// use ftp_server::auth::{AnonymousPolicy, UserTable};
/// use ftp_server::runtime::tokio::{TokioListener, TokioRuntime};
/// use ftp_server::storage::memory::MemoryStorage;
///
/// let users = UserTable::new().with_anonymous(AnonymousPolicy::ReadOnly, Default::default());
/// let server = Server::builder(TokioRuntime, MemoryStorage::new(), users)
///     .greeting("Welcome.")
///     .passive_ports(50000..=50100)
///     .build();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:2121").await?;
/// server.serve(TokioListener::new(listener)).await
/// # }
/// ```
#[derive(Debug)]
#[must_use]
pub struct ServerBuilder<S, A> {
    runtime: Arc<dyn Runtime>,
    storage: S,
    auth: A,
    options: Options,
}

impl<S: Storage, A: Authenticator> ServerBuilder<S, A> {
    /// Replaces all options at once.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// Sets [`Options::greeting`].
    pub fn greeting(mut self, text: impl Into<String>) -> Self {
        self.options.greeting(text);
        self
    }

    /// Sets [`Options::passive_ports`].
    pub fn passive_ports(mut self, ports: RangeInclusive<u16>) -> Self {
        self.options.passive_ports(ports);
        self
    }

    /// Sets [`Options::masquerade_address`].
    pub fn masquerade_address(mut self, ip: Ipv4Addr) -> Self {
        self.options.masquerade_address(ip);
        self
    }

    /// The server.
    pub fn build(self) -> Server<S, A> {
        Server::new(self.runtime, self.storage, self.auth, self.options)
    }
}

impl<S: Storage, A: Authenticator> Server<S, A> {
    /// A builder for a server on `runtime`, serving `storage` to the users `auth` admits.
    pub fn builder(runtime: impl IntoRuntime, storage: S, auth: A) -> ServerBuilder<S, A> {
        ServerBuilder {
            runtime: runtime.into_runtime(),
            storage,
            auth,
            options: Options::default(),
        }
    }

    /// A server on `runtime`, serving `storage` to the users `auth` admits.
    /// `runtime` is any [`Runtime`](ftp_runtime::Runtime), or one shared as `Arc<dyn Runtime>`.
    pub fn new(runtime: impl IntoRuntime, storage: S, auth: A, options: Options) -> Self {
        let runtime = runtime.into_runtime();
        let (tx, rx) = oneshot::channel();
        let (deadline_tx, deadline_rx) = oneshot::channel();
        let life = Arc::new(Lifecycle {
            runtime: Arc::clone(&runtime),
            shutdown_rx: rx.shared(),
            shutdown_tx: Mutex::new(Some(tx)),
            deadline_rx: deadline_rx.shared(),
            deadline_tx: Mutex::new(Some(deadline_tx)),
            active: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
        });
        let config = Arc::new(machine_config(&options, &storage));
        Self {
            shared: Arc::new(Shared {
                runtime,
                config,
                storage: Arc::new(storage),
                auth,
                options,
                life,
                next_passive_port: AtomicUsize::new(0),
            }),
        }
    }

    /// The storage back-end.
    pub fn storage(&self) -> &S {
        &self.shared.storage
    }

    /// Control connections now open.
    pub fn connections(&self) -> usize {
        self.shared.life.active.load(Ordering::Acquire)
    }

    /// A handle that stops this server.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            life: Arc::clone(&self.shared.life),
        }
    }

    /// Accepts connections on `listener` and serves each on its own task until shutdown
    /// starts. Errors accepting one connection are logged and do not stop the loop.
    pub async fn serve(&self, listener: impl Listener) -> io::Result<()> {
        let local = listener.local_addr()?;
        let mut shutdown = self.shared.shutdown_signal();
        loop {
            let accepted = match select(std::pin::pin!(listener.accept()), &mut shutdown).await {
                Either::Left((accepted, _)) => accepted,
                Either::Right(_) => return Ok(()),
            };
            match accepted {
                Ok(stream) => {
                    let peer = stream.peer_addr();
                    let server = self.clone();
                    self.shared.runtime.spawn(Box::pin(async move {
                        server.handle_connection(stream, peer, local).await;
                    }));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    // Out of file descriptors and the like: back off instead of spinning.
                    ftp_runtime::sleep(&*self.shared.runtime, Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Serves one control connection that the caller accepted, until it closes. `peer` and
    /// `local` are the connection's two ends: `local` decides the passive listeners' address and
    /// the address family, `peer` the only address data connections may come from or go to.
    ///
    /// Cancel safety: dropping the future closes the connection and aborts its transfer.
    pub async fn handle_connection<C>(&self, mut stream: C, peer: SocketAddr, local: SocketAddr)
    where
        C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let limits = (
            self.shared.options.max_connections,
            self.shared.options.max_connections_per_ip,
        );
        let Some(_slot) = Slot::take(&self.shared.life, peer.ip(), limits) else {
            tracing::info!(%peer, "refused: too many connections");
            let info = ConnectionInfo { local, peer };
            let max_line = self.shared.options.max_line_len;
            let now = Instant::now();
            let mut refused =
                ServerConnection::over_limit(ServerConfig::default(), info, max_line, now);
            let mut out = BytesMut::new();
            refused.poll_transmit(&mut out);
            // A client that reads nothing cannot hold the refusal up.
            let limit = self
                .shared
                .options
                .idle_timeout
                .min(Duration::from_secs(10));
            let write = async {
                let _ = stream.write_all(&out).await;
                let _ = stream.close().await;
            };
            let _ = ftp_runtime::timeout(&*self.shared.runtime, limit, write).await;
            return;
        };
        tracing::debug!(%peer, "connected");
        let session = session::run(Arc::clone(&self.shared), stream, peer, local);
        // After the shutdown deadline the session sends 421 and closes by itself; this is the
        // backstop for one stuck on a client that reads nothing or a storage call that hangs.
        let deadline = self.shared.deadline_signal();
        let backstop = async {
            let _ = deadline.await;
            ftp_runtime::sleep(&*self.shared.runtime, CLOSE_GRACE).await;
        };
        if let Either::Right(_) = select(std::pin::pin!(session), std::pin::pin!(backstop)).await {
            tracing::info!(%peer, "session dropped after the shutdown deadline");
        }
        tracing::debug!(%peer, "disconnected");
    }
}

/// The machine's settings from the server's options and what the back-end can do.
fn machine_config(options: &Options, storage: &impl Storage) -> ServerConfig {
    let mut features = Features::default();
    features.mfmt = storage.capabilities().set_modified;
    features.mlst = crate::transfer::SUPPORTED_FACTS;
    let mut config = ServerConfig::default();
    config
        .greeting(Bytes::from(options.greeting.clone()))
        .features(features)
        .max_login_failures(options.max_login_failures)
        .max_status_lines(options.max_status_lines)
        .login_timeout(options.login_timeout)
        .idle_timeout(options.idle_timeout)
        .data_connect_timeout(options.data_connect_timeout)
        .data_stall_timeout(options.data_stall_timeout)
        .failed_login_delay(options.failed_login_delay);
    config
}

/// A counted place among the open connections; freed on drop.
struct Slot<'a> {
    shared: &'a Lifecycle,
    ip: IpAddr,
}

impl<'a> Slot<'a> {
    /// A place for a connection from `ip`, within the limits (in all, from one address).
    fn take(shared: &'a Lifecycle, ip: IpAddr, (max, max_per_ip): (usize, usize)) -> Option<Self> {
        let mut per_ip = shared
            .per_ip
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mine = per_ip.entry(ip).or_insert(0);
        if *mine >= max_per_ip || shared.active.load(Ordering::Acquire) >= max {
            return None;
        }
        *mine += 1;
        shared.active.fetch_add(1, Ordering::AcqRel);
        Some(Self { shared, ip })
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut per_ip = self
            .shared
            .per_ip
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
        self.shared.active.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ShutdownHandle {
    /// Stops accepting, asks every connection to close (`421` once idle, after its running
    /// transfer), and waits until all are closed or `deadline` passes. Connections still open
    /// then are closed: a running transfer is aborted (`426`), the session gets `421`, and one
    /// that cannot even take that within a second is dropped. Returns whether all had closed
    /// by themselves before the deadline.
    ///
    /// Cancel safety: dropping the future after shutdown started leaves the sessions closing
    /// gracefully; the deadline is then never enforced.
    pub async fn shutdown(&self, deadline: Duration) -> bool {
        let life = &*self.life;
        let runtime = &*life.runtime;
        fire(&life.shutdown_tx);
        let start = Instant::now();
        let open = || life.active.load(Ordering::Acquire) > 0;
        while open() {
            if start.elapsed() >= deadline {
                fire(&life.deadline_tx);
                // Every session is gone within CLOSE_GRACE (the backstop); wait a little
                // longer for their tasks to be scheduled.
                let forced = Instant::now();
                while open() && forced.elapsed() < CLOSE_GRACE * 3 {
                    ftp_runtime::sleep(runtime, Duration::from_millis(20)).await;
                }
                return false;
            }
            ftp_runtime::sleep(runtime, Duration::from_millis(20)).await;
        }
        true
    }
}
