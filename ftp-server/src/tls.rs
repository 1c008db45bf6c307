//! FTPS for the server (RFC 4217): the certificate, the per-session TLS state, and the
//! protection of data connections against theft.
//!
//! Every control session gets its own rustls configuration whose session cache holds only
//! that session's sessions and tickets, and a random token stored inside them
//! (`set_resumption_data`). Its data connections use a configuration derived from it that can
//! resume only those sessions; a data connection is used only when its handshake resumed
//! (`handshake_kind() == Resumed`) and, under TLS 1.3, carried the token back
//! (`received_resumption_data()`): a connection from anyone else, even from the client's own
//! address (another user behind the same NAT), is refused with `425`.
//!
//! The caches are stateful (tickets are ids into them, never keys that outlive the session)
//! and a ticket can be presented again: OpenSSL (curl), GnuTLS (lftp) and Python's `ssl`
//! reuse the control connection's one session for every data connection. rustls gives
//! stateful TLS 1.3 tickets a lifetime of 24 hours, longer than any session (against the
//! uploads that fail once a ticket expires mid-session, ProFTPD#1931).
//!
//! Data connections issue no tickets unless the client asks for them (RFC 9149
//! `ticket_request`, which our client sends): an unread ticket on an upload-only connection
//! is what makes a client's kernel reset the connection and the server lose the end of the
//! upload (pyftpdlib#602, curl#6149). Tickets a data connection issues are kept only once that
//! connection proved to resume the control session.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ftp_proto::server::FailureKind;
use ftp_runtime::tls::futures_rustls::TlsAcceptor;
use ftp_runtime::tls::rustls::pki_types::pem::PemObject;
use ftp_runtime::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use ftp_runtime::tls::rustls::server::{ProducesTickets, StoresServerSessions};
use ftp_runtime::tls::rustls::{self, HandshakeKind, ProtocolVersion, ServerConfig};
use ftp_runtime::tls::{MaybeTls, Rewind};
use ftp_runtime::{Runtime, TcpStream};
use futures_io::{AsyncRead, AsyncWrite};

/// Sessions (and TLS 1.3 tickets) kept per control session: the control connection's, and
/// those data connections asked for.
const SESSIONS_PER_CONTROL: usize = 8;
/// TLS 1.3 tickets the control connection's handshake issues (clients that ask for a number
/// get up to it). Each data connection needs one for a rustls client; others reuse one.
const CONTROL_TICKETS: usize = 4;

/// The server's TLS settings: its certificate, and whether data connections must resume the
/// control connection's TLS session (on by default).
#[derive(Clone)]
pub struct TlsConfig {
    base: Arc<ServerConfig>,
    require_session_reuse: bool,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("require_session_reuse", &self.require_session_reuse)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// A certificate chain and its private key, both PEM (a `-----BEGIN CERTIFICATE-----`
    /// chain, leaf first; a PKCS#8, PKCS#1 or SEC1 key).
    ///
    /// # Errors
    /// When either does not parse, or the key does not suit the certificate.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> io::Result<Self> {
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(format!("certificate: {e}")))?;
        if certs.is_empty() {
            return Err(invalid("no certificate in the PEM input".into()));
        }
        let key =
            PrivateKeyDer::from_pem_slice(key).map_err(|e| invalid(format!("private key: {e}")))?;
        let config = ServerConfig::builder_with_provider(ftp_runtime::tls::provider()?)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(Self::from_rustls(config))
    }

    /// [`from_pem`](Self::from_pem) of two files.
    ///
    /// # Errors
    /// When a file cannot be read or does not parse.
    pub fn from_pem_files(cert_chain: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Self> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))
        };
        Self::from_pem(&read(cert_chain.as_ref())?, &read(key.as_ref())?)
    }

    /// A rustls configuration of the caller's (certificate resolver, versions, cipher suites).
    /// Its session storage, ticketer and ticket counts are replaced, session by session, as
    /// the [module docs](self) say.
    pub fn from_rustls(config: ServerConfig) -> Self {
        Self {
            base: Arc::new(config),
            require_session_reuse: true,
        }
    }

    /// Whether a protected data connection must resume the TLS session of its control
    /// connection (default: yes). Turn it off only for clients that cannot resume, such as
    /// Python's `ftplib.FTP_TLS` without a subclass that passes the session on: then anyone
    /// who reaches the passive port from the client's address first gets the data.
    #[must_use]
    pub fn require_session_reuse(mut self, on: bool) -> Self {
        self.require_session_reuse = on;
        self
    }

    /// Whether data connections must resume the control connection's session.
    pub fn requires_session_reuse(&self) -> bool {
        self.require_session_reuse
    }

    /// The TLS state of one control session.
    pub(crate) fn session(&self) -> io::Result<SessionTls> {
        let cache = Arc::new(SessionCache::default());
        let mut token = [0u8; 32];
        self.base
            .crypto_provider()
            .secure_random
            .fill(&mut token)
            .map_err(|_| io::Error::other("no random numbers for a TLS session token"))?;
        let mut control = (*self.base).clone();
        control.session_storage = Arc::clone(&cache) as Arc<dyn StoresServerSessions>;
        control.ticketer = Arc::new(NoTickets);
        control.send_tls13_tickets = CONTROL_TICKETS;
        control.max_tls13_tickets = CONTROL_TICKETS;
        control.max_early_data_size = 0;
        let mut data = control.clone();
        data.send_tls13_tickets = 0;
        data.max_tls13_tickets = 1;
        Ok(SessionTls {
            control: Arc::new(control),
            data,
            cache,
            token,
            require_reuse: self.require_session_reuse,
        })
    }
}

fn invalid(text: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, text)
}

/// The TLS state of one control session: see the [module docs](self).
pub(crate) struct SessionTls {
    control: Arc<ServerConfig>,
    /// The data connections' configuration, but for its session storage (one per connection).
    data: ServerConfig,
    cache: Arc<SessionCache>,
    token: [u8; 32],
    require_reuse: bool,
}

impl fmt::Debug for SessionTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTls")
            .field("require_reuse", &self.require_reuse)
            .finish_non_exhaustive()
    }
}

impl SessionTls {
    /// The handshake of the control connection; `prefix` holds bytes already read from it.
    pub(crate) async fn accept_control<S>(&self, prefix: Bytes, io: S) -> io::Result<MaybeTls<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let token = self.token;
        let acceptor = TlsAcceptor::from(Arc::clone(&self.control));
        let stream = acceptor
            .accept_with(Rewind::new(prefix, io), |conn| {
                conn.set_resumption_data(&token);
            })
            .await?;
        Ok(MaybeTls::Server(Box::new(stream)))
    }

    /// The handshake of a data connection (this end the TLS server, whoever connected),
    /// within `limit`, and the check that it resumed this control session.
    pub(crate) async fn accept_data(
        &self,
        runtime: &dyn Runtime,
        limit: Duration,
        io: TcpStream,
    ) -> Result<MaybeTls<TcpStream>, FailureKind> {
        let peer = io.peer_addr();
        let store = Arc::new(DataSessions::new(Arc::clone(&self.cache)));
        let mut config = self.data.clone();
        config.session_storage = Arc::clone(&store) as Arc<dyn StoresServerSessions>;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let token = self.token;
        let handshake = acceptor.accept_with(Rewind::new(Bytes::new(), io), |conn| {
            conn.set_resumption_data(&token);
        });
        let stream = match ftp_runtime::timeout(runtime, limit, handshake).await {
            Some(Ok(stream)) => stream,
            Some(Err(e)) => {
                tracing::info!(%peer, error = %e, "data connection TLS handshake failed");
                return Err(FailureKind::DataTlsFailed);
            }
            None => {
                tracing::info!(%peer, "data connection TLS handshake timed out");
                return Err(FailureKind::DataTlsFailed);
            }
        };
        let conn = stream.get_ref().1;
        if self.require_reuse {
            if let Err(why) = self.check_resumed(conn) {
                // An attempt to take another session's data, or a client that cannot resume.
                tracing::warn!(%peer, why, "data connection refused: TLS session not resumed");
                return Err(FailureKind::DataTlsNotResumed);
            }
        }
        store.commit();
        Ok(MaybeTls::Server(Box::new(stream)))
    }

    fn check_resumed(&self, conn: &rustls::ServerConnection) -> Result<(), &'static str> {
        if conn.handshake_kind() != Some(HandshakeKind::Resumed) {
            return Err("full handshake");
        }
        // Under TLS 1.2, rustls 0.23 returns no resumption data; the cache, which holds only
        // this control session's sessions, is the proof there.
        if conn.protocol_version() == Some(ProtocolVersion::TLSv1_3)
            && conn.received_resumption_data() != Some(&self.token[..])
        {
            return Err("resumed another session");
        }
        Ok(())
    }
}

/// One control session's TLS sessions: bounded, oldest dropped first.
#[derive(Debug, Default)]
struct SessionCache {
    entries: Mutex<VecDeque<(Vec<u8>, Vec<u8>)>>,
}

impl SessionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(Vec<u8>, Vec<u8>)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl StoresServerSessions for SessionCache {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let mut entries = self.lock();
        entries.retain(|(k, _)| *k != key);
        if entries.len() >= SESSIONS_PER_CONTROL {
            entries.pop_front();
        }
        entries.push_back((key, value));
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.lock()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// Not removed: a stateful TLS 1.3 ticket is single-use in rustls' own cache (RFC 8446
    /// §8.1 against 0-RTT replay, and 0-RTT is off here), but FTP clients present the control
    /// connection's ticket on every data connection.
    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.get(key)
    }

    fn can_cache(&self) -> bool {
        true
    }
}

/// A data connection's view of its control session's cache: it resumes from it; it issues a
/// TLS 1.3 ticket only on a handshake that is resuming (a full one, a stranger's or a client's
/// that lost its session, gets none, so no client is left holding a ticket nothing honours),
/// and keeps it only once the connection proved itself ([`DataSessions::commit`]). It issues
/// no TLS 1.2 session ids (`can_cache` false): a full TLS 1.2 handshake on a data connection
/// is refused anyway, and a client given a new id would forget the control session's.
#[derive(Debug)]
struct DataSessions {
    control: Arc<SessionCache>,
    pending: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
    /// A session of the control connection was found for this handshake.
    resuming: std::sync::atomic::AtomicBool,
}

impl DataSessions {
    fn new(control: Arc<SessionCache>) -> Self {
        Self {
            control,
            pending: Mutex::new(Vec::new()),
            resuming: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn found(&self, value: Option<Vec<u8>>) -> Option<Vec<u8>> {
        if value.is_some() {
            self.resuming
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        value
    }

    fn commit(&self) {
        let pending = std::mem::take(
            &mut *self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for (key, value) in pending {
            self.control.put(key, value);
        }
    }
}

impl StoresServerSessions for DataSessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        if !self.resuming.load(std::sync::atomic::Ordering::Relaxed) {
            return false;
        }
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pending.len() >= 2 {
            return false;
        }
        pending.push((key, value));
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.found(self.control.get(key))
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.found(self.control.take(key))
    }

    fn can_cache(&self) -> bool {
        false
    }
}

/// No stateless tickets: keys that would outlive the session, or rotate under it.
#[derive(Debug)]
struct NoTickets;

impl ProducesTickets for NoTickets {
    fn enabled(&self) -> bool {
        false
    }

    fn lifetime(&self) -> u32 {
        0
    }

    fn encrypt(&self, _plain: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn decrypt(&self, _cipher: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_bounded_and_tickets_can_be_presented_again() {
        let cache = SessionCache::default();
        for i in 0..20u8 {
            assert!(cache.put(vec![i], vec![i, i]));
        }
        assert_eq!(cache.lock().len(), SESSIONS_PER_CONTROL);
        assert_eq!(cache.get(&[0]), None, "the oldest went first");
        assert_eq!(cache.take(&[19]), Some(vec![19, 19]));
        assert_eq!(cache.take(&[19]), Some(vec![19, 19]), "not consumed");
    }

    #[test]
    fn a_data_connection_stores_nothing_until_it_proved_itself() {
        let control = Arc::new(SessionCache::default());
        let data = DataSessions::new(Arc::clone(&control));
        assert!(!data.put(vec![9], vec![9]), "no ticket on a full handshake");
        control.put(vec![7], vec![7]);
        assert_eq!(data.take(&[7]), Some(vec![7]));
        assert!(data.put(vec![1], vec![1]));
        assert!(data.put(vec![2], vec![2]));
        assert!(!data.put(vec![3], vec![3]), "bounded");
        assert_eq!(control.get(&[1]), None);
        data.commit();
        assert_eq!(control.get(&[1]), Some(vec![1]));
        assert_eq!(data.get(&[2]), Some(vec![2]));
    }
}
