//! The server: the accept loop, per-connection limits and graceful shutdown.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ftp_proto::server::Features;
use ftp_proto::{ConnectionInfo, ServerConfig, ServerConnection};
use ftp_runtime::{IntoRuntime, Listener};
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::future::{Either, select};
use futures_util::io::AsyncWriteExt;

use crate::auth::Authenticator;
use crate::options::ServerOptions;
use crate::session;
use crate::shared::{Lifecycle, Shared, fire};
use crate::storage::Storage;

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

impl<S: Storage, A: Authenticator> Server<S, A> {
    /// A server on `runtime`, serving `storage` to the users `auth` admits.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// use ftp_server::auth::{AnonymousPolicy, UserTable};
    /// use ftp_server::runtime::tokio::{TokioListener, TokioRuntime};
    /// use ftp_server::storage::memory::MemoryStorage;
    /// use ftp_server::{ServerOptions, Server};
    ///
    /// let users = UserTable::new().with_anonymous(AnonymousPolicy::ReadOnly, Default::default());
    /// let options = ServerOptions::default().greeting("Welcome.").passive_ports(50000..=50100);
    /// let server = Server::new(TokioRuntime, MemoryStorage::new(), users, options);
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:2121").await?;
    /// server.serve(TokioListener::new(listener)).await
    /// # }
    /// ```
    /// `runtime` is any [`Runtime`](ftp_runtime::Runtime), or one shared as `Arc<dyn Runtime>`.
    pub fn new(runtime: impl IntoRuntime, storage: S, auth: A, options: ServerOptions) -> Self {
        let runtime = runtime.into_runtime();
        let life = Arc::new(Lifecycle::new(Arc::clone(&runtime)));
        let config = Arc::new(machine_config(&options, &storage));
        let throttle = ftp_proto::server::LoginThrottle::new(options.login_throttle.clone());
        let now = Instant::now();
        let limits = &options.rate_limits;
        let bandwidth = crate::shared::Bandwidth {
            server: [
                crate::shared::bucket(limits.server_up, now),
                crate::shared::bucket(limits.server_down, now),
            ],
            users: std::collections::HashMap::new(),
        };
        Self {
            shared: Arc::new(Shared {
                runtime,
                config,
                storage: Arc::new(storage),
                auth,
                options,
                life,
                passive: crate::shared::PassivePorts::default(),
                throttle: std::sync::Mutex::new(throttle),
                unauthenticated: Arc::default(),
                user_sessions: Arc::default(),
                bandwidth: std::sync::Mutex::new(bandwidth),
                usage: std::sync::Mutex::default(),
                checksums: crate::checksum::Turns::new(
                    std::thread::available_parallelism().map_or(2, usize::from),
                ),
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
        self.serve_as(listener, false).await
    }

    /// Like [`serve`](Self::serve), for implicit FTPS (port 990 by custom): every connection
    /// starts with a TLS handshake, before the greeting.
    ///
    /// # Errors
    /// At once when the options hold no [`TlsConfig`](crate::TlsConfig).
    pub async fn serve_implicit_tls(&self, listener: impl Listener) -> io::Result<()> {
        if self.shared.options.tls.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "implicit TLS needs a certificate: ServerOptions::tls",
            ));
        }
        self.serve_as(listener, true).await
    }

    async fn serve_as(&self, listener: impl Listener, implicit: bool) -> io::Result<()> {
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
                        server.handle(stream, peer, local, implicit).await;
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
    /// Set `SO_OOBINLINE` on a TCP socket before handing it over
    /// ([`keep_urgent_data_inline`](crate::runtime::keep_urgent_data_inline); [`serve`](Self::serve) does): clients send
    /// `ABOR` with TCP urgent data, which the kernel otherwise takes out of the stream.
    ///
    /// Cancel safety: dropping the future closes the connection and aborts its transfer.
    pub async fn handle_connection<C>(&self, stream: C, peer: SocketAddr, local: SocketAddr)
    where
        C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        self.handle(stream, peer, local, false).await;
    }

    /// [`handle_connection`](Self::handle_connection) for implicit FTPS: the connection starts
    /// with a TLS handshake (a server without a [`TlsConfig`](crate::TlsConfig) closes it).
    pub async fn handle_implicit_tls_connection<C>(
        &self,
        stream: C,
        peer: SocketAddr,
        local: SocketAddr,
    ) where
        C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        self.handle(stream, peer, local, true).await;
    }

    /// The client behind a trusted balancer's connection, or `None` once the connection is
    /// refused and closed.
    async fn behind_proxy<C>(
        &self,
        trusted: &[crate::TrustedProxy],
        mut stream: C,
        peer: SocketAddr,
    ) -> Option<(C, SocketAddr)>
    where
        C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let runtime = &*self.shared.runtime;
        let client = if crate::proxy::trusted(trusted, peer.ip()) {
            crate::proxy::client_behind(runtime, &mut stream, peer).await
        } else {
            tracing::warn!(target: "ftp_server::audit", %peer, "refused: not a trusted proxy (the PROXY protocol is on)");
            None
        };
        match client {
            Some(client) => Some((stream, client)),
            None => {
                let _ = ftp_runtime::timeout(runtime, CLOSE_GRACE, stream.close()).await;
                None
            }
        }
    }

    /// Sends a refusal's `421` and closes, bounded in time.
    async fn refuse<C>(
        &self,
        mut stream: C,
        mut refused: ServerConnection,
        implicit: bool,
        now: Instant,
    ) where
        C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        if implicit {
            // A TLS client reads no plain 421; a handshake costs more than the refusal.
            let _ = stream.close().await;
            return;
        }
        let mut out = BytesMut::new();
        refused.poll_transmit(&mut out);
        // A client that reads nothing cannot hold the refusal up: the machine's deadline
        // for unread replies bounds the write.
        refused.handle_write(0, out.len());
        let limit = refused
            .poll_timeout()
            .map_or(Duration::ZERO, |t| t.saturating_duration_since(now));
        let write = async {
            let _ = stream.write_all(&out).await;
            let _ = stream.close().await;
        };
        let _ = ftp_runtime::timeout(&*self.shared.runtime, limit, write).await;
    }

    async fn handle<C>(&self, stream: C, peer: SocketAddr, local: SocketAddr, implicit: bool)
    where
        C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        // Boxed and apart: the header read is over before the session starts, and every
        // session's future would otherwise keep room for it (96 bytes inline, 40 so; taking
        // the stream by reference costs more, as it then cannot share its slot).
        let (stream, peer) = match &self.shared.options.trusted_proxies {
            None => (stream, peer),
            Some(trusted) => match Box::pin(self.behind_proxy(trusted, stream, peer)).await {
                Some(proxied) => proxied,
                None => return,
            },
        };
        let limits = (
            self.shared.options.max_connections,
            self.shared.options.max_connections_per_ip,
        );
        let now = Instant::now();
        let info = ConnectionInfo { local, peer };
        let max_line = self.shared.options.max_line_len;
        let banned = self.shared.throttle().banned_until(peer.ip(), now);
        if let Some(until) = banned {
            let secs = until.saturating_duration_since(now).as_secs();
            tracing::warn!(%peer, remaining_secs = secs, "refused: address banned after failed logins");
            let config = Arc::clone(&self.shared.config);
            let refused = ServerConnection::banned(config, info, max_line, now);
            return self.refuse(stream, refused, implicit, now).await;
        }
        let Some(_slot) = Slot::take(&self.shared.life, peer.ip(), limits) else {
            tracing::warn!(%peer, "refused: too many connections");
            let config = Arc::clone(&self.shared.config);
            let refused = ServerConnection::over_limit(config, info, max_line, now);
            return self.refuse(stream, refused, implicit, now).await;
        };
        // Apart from those logged in, so that a flood of idle connections cannot lock users
        // out: a place until the login succeeds.
        let options = &self.shared.options;
        let pre_auth = self.shared.unauthenticated.take(
            peer.ip(),
            options.max_unauthenticated,
            options.max_unauthenticated_per_ip,
        );
        let Some(pre_auth) = pre_auth else {
            tracing::warn!(%peer, "refused: too many connections not logged in");
            let config = Arc::clone(&self.shared.config);
            let refused = ServerConnection::over_limit(config, info, max_line, now);
            return self.refuse(stream, refused, implicit, now).await;
        };
        tracing::debug!(%peer, "connected");
        let session = session::run(
            Arc::clone(&self.shared),
            stream,
            peer,
            local,
            implicit,
            pre_auth,
        );
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
fn machine_config(options: &ServerOptions, storage: &impl Storage) -> ServerConfig {
    let mut features = Features::default();
    features.tls = options.tls.is_some();
    features.mfmt = storage.capabilities().set_modified;
    features.mlst = crate::transfer::SUPPORTED_FACTS;
    let mut config = options.protocol().clone();
    config.features(features);
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
