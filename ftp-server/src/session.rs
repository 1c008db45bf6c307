//! One control connection: bytes to the protocol machine, its actions to storage, the
//! authenticator and transfer tasks, their outcomes back. No protocol decisions live here.

use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Buf, BytesMut};
use ftp_proto::listing::DirEntry;
use ftp_proto::server::{AddressFamily, FailureKind, Refusal};
use ftp_proto::{
    Action, ActionId, Arg, ConnectionInfo, LogSafe, Outcome, Secret, ServerConnection, UserAccess,
    VirtualPath,
};
use futures_channel::{mpsc, oneshot};
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::future::FutureExt;
use futures_util::io::AsyncWriteExt;
use futures_util::stream::StreamExt;

use ftp_runtime::Timer;
use ftp_runtime::tls::MaybeTls;

use crate::auth::{AuthError, Authenticator, Credentials, Principal};
use crate::shared::{Held, Shared};
use crate::storage::{DirLister, Storage, StorageError};
use crate::tls::SessionTls;
use crate::transfer::{self, Job, PassiveData, TransferEvent};

/// A transfer running on its own task.
struct Running {
    id: ActionId,
    events: mpsc::UnboundedReceiver<TransferEvent>,
    go: Option<oneshot::Sender<Option<PassiveData>>>,
    abort: Option<oneshot::Sender<()>>,
}

struct Session<S, A> {
    shared: Arc<Shared<S, A>>,
    conn: ServerConnection,
    peer: SocketAddr,
    local: SocketAddr,
    principal: Option<Principal>,
    /// The passive listener's data connection, accepted (and under `PROT P` handshaken) as soon
    /// as it arrives.
    passive: Option<PassiveData>,
    transfer: Option<Running>,
    /// The session's TLS state, from its first handshake on.
    tls: Option<Arc<SessionTls>>,
    /// The one timer, armed at the machine's next deadline; made at the first wait.
    timer: Option<Box<dyn Timer>>,
    /// The places this session holds (boxed: room in every session's future).
    slots: Box<Slots>,
}

/// Where a session counts: among the connections not logged in (until its login succeeds),
/// then among its user's sessions.
struct Slots {
    pre_auth: Option<Held<IpAddr>>,
    user: Option<Held<String>>,
}

enum Event {
    Read(io::Result<usize>),
    Transfer(Option<TransferEvent>),
    Timer,
    Shutdown,
    Deadline,
}

pub(crate) async fn run<S: Storage, A: Authenticator, C>(
    shared: Arc<Shared<S, A>>,
    control: C,
    peer: SocketAddr,
    local: SocketAddr,
    implicit: bool,
    pre_auth: Held<IpAddr>,
) where
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let info = ConnectionInfo { local, peer };
    let config = Arc::clone(&shared.config);
    let conn = ServerConnection::new(config, info, shared.options.max_line_len, Instant::now());
    let mut session = Session {
        shared,
        conn,
        peer,
        local,
        principal: None,
        passive: None,
        transfer: None,
        tls: None,
        timer: None,
        slots: Box::new(Slots {
            pre_auth: Some(pre_auth),
            user: None,
        }),
    };
    if let Err(e) = session.drive(control, implicit).await {
        tracing::debug!(%peer, error = %e, "control connection ended");
    }
    session.abort_transfer();
}

/// Reads what the control connection has into `input`, through a scratch buffer of the
/// thread's: an idle session then holds no read buffer of its own (1 KiB each, a quarter of
/// an idle session's memory).
fn read_into<C: AsyncRead + Unpin>(
    control: &mut C,
    cx: &mut Context<'_>,
    input: &mut BytesMut,
) -> Poll<io::Result<usize>> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<[u8; 1024]> = const { std::cell::RefCell::new([0; 1024]) };
    }
    SCRATCH.with_borrow_mut(|buf| {
        let polled = Pin::new(control).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            input.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
        polled
    })
}

impl<S: Storage, A: Authenticator> Session<S, A> {
    async fn drive<C: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        control: C,
        implicit: bool,
    ) -> io::Result<()> {
        let mut control = if implicit {
            // Boxed: the handshake's state would otherwise sit in every session's future.
            match Box::pin(self.implicit_handshake(control)).await {
                Some(stream) => stream,
                None => return Ok(()),
            }
        } else {
            MaybeTls::Plain(control)
        };
        let mut input = BytesMut::new();
        let mut output = BytesMut::new();
        let mut shutdown = self.shared.shutdown_signal();
        let mut shutdown_seen = false;
        let mut deadline = self.shared.deadline_signal();
        let mut deadline_seen = false;
        let peer = self.peer;
        let log = |cmd: &Result<ftp_proto::Command<'_>, ftp_proto::ParseError>| match cmd {
            Ok(cmd) => tracing::debug!(%peer, "<- {cmd}"),
            Err(e) => tracing::debug!(%peer, "<- unparsable command: {e}"),
        };
        loop {
            // The machine owns every deadline: it learns the time at each wake-up.
            self.conn.handle_timeout(Instant::now());
            // A session that ended gives its passive port back before its last words: a
            // client that reconnects on the 221 finds the port free (one-port ranges).
            if self.conn.session().is_closed() {
                if let Some(passive) = self.passive.take() {
                    Box::pin(passive.close()).await;
                }
            }
            self.conn
                .poll_transmit_with(&mut output, |r| tracing::debug!(%peer, "-> {r}"));
            // Every reply is written before the next action: a 150 before its data, a 234
            // before the TLS handshake, the last words before a close. Mostly at once; the
            // wait for a client slow to read is boxed, so its state does not sit in every
            // session's future.
            if !output.is_empty() && !write_now(&mut control, &mut output).await? {
                Box::pin(self.flush(&mut control, &mut output)).await?;
            }
            if self.conn.is_abandoned() {
                tracing::info!(%peer, "replies not read: connection dropped");
                self.abort_transfer();
                return Ok(());
            }
            // The control connection's own actions are taken apart from the others, so that
            // no `Action` (a few hundred bytes) lives across their waits in every session's
            // future.
            match self.conn.poll_action() {
                Some(Action::Close) => {
                    self.abort_transfer();
                    let _ = control.close().await;
                    return Ok(());
                }
                Some(Action::UpgradeTls { id }) => {
                    let outcome = Box::pin(self.upgrade(&mut control, &mut input)).await;
                    let _ = self.conn.handle_outcome(id, outcome);
                    continue;
                }
                Some(action) => {
                    // Boxed: its state (storage calls, the login) would otherwise sit inline
                    // in every session's future for the session's whole life, idle or not.
                    Box::pin(self.perform(action)).await;
                    continue;
                }
                None => {}
            }
            // Commands read earlier but held while an action ran.
            if !input.is_empty() && self.conn.wants_read() {
                let before = input.len();
                self.conn.handle_input_with(&mut input, log);
                if input.len() != before {
                    continue;
                }
            }
            let due = self.conn.poll_timeout();
            let mut timer = arm(&mut self.timer, &*self.shared.runtime, due);
            let event = {
                let conn = &self.conn;
                let transfer = &mut self.transfer;
                let control = &mut control;
                let input = &mut input;
                poll_fn(|cx| {
                    if !shutdown_seen && shutdown.poll_unpin(cx).is_ready() {
                        return Poll::Ready(Event::Shutdown);
                    }
                    if !deadline_seen && deadline.poll_unpin(cx).is_ready() {
                        return Poll::Ready(Event::Deadline);
                    }
                    if let Some(t) = transfer.as_mut() {
                        if let Poll::Ready(ev) = t.events.poll_next_unpin(cx) {
                            return Poll::Ready(Event::Transfer(ev));
                        }
                    }
                    if conn.wants_read() {
                        if let Poll::Ready(r) = read_into(&mut *control, cx, input) {
                            return Poll::Ready(Event::Read(r));
                        }
                    }
                    if let Some(timer) = timer.as_deref_mut() {
                        if timer.poll_unpin(cx).is_ready() {
                            return Poll::Ready(Event::Timer);
                        }
                    }
                    Poll::Pending
                })
                .await
            };
            match event {
                Event::Read(Ok(0)) => self.conn.handle_eof(&mut input),
                Event::Read(Ok(_)) => {
                    self.conn.handle_timeout(Instant::now());
                    self.conn.handle_input_with(&mut input, log);
                }
                Event::Read(Err(e)) => return Err(e),
                Event::Transfer(event) => {
                    self.conn.handle_timeout(Instant::now());
                    self.transfer_event(event);
                }
                // The loop's next turn tells the machine the time.
                Event::Timer => {}
                Event::Shutdown => {
                    shutdown_seen = true;
                    self.conn.session_mut().handle_shutdown();
                }
                Event::Deadline => {
                    deadline_seen = true;
                    tracing::info!(%peer, "closed at the shutdown deadline");
                    self.conn.session_mut().handle_shutdown_deadline();
                }
            }
        }
    }

    /// Writes `output` out, telling the machine how it goes: a client that reads none of it
    /// until the machine's deadline gets the session abandoned (then this returns at once).
    async fn flush<C: AsyncWrite + Unpin>(
        &mut self,
        control: &mut C,
        output: &mut BytesMut,
    ) -> io::Result<()> {
        if output.is_empty() {
            return Ok(());
        }
        loop {
            // Unsent until shown otherwise: the machine counts from the first wait.
            self.conn.handle_write(0, output.len());
            let deadline = self.conn.poll_timeout();
            let mut timer = arm(&mut self.timer, &*self.shared.runtime, deadline);
            let written = poll_fn(|cx| {
                let polled = if output.is_empty() {
                    Pin::new(&mut *control).poll_flush(cx).map_ok(|()| 0)
                } else {
                    Pin::new(&mut *control).poll_write(cx, output)
                };
                if let Poll::Ready(r) = polled {
                    return Poll::Ready(Some(r));
                }
                match timer.as_deref_mut().map(|t| t.poll_unpin(cx)) {
                    Some(Poll::Ready(())) => Poll::Ready(None),
                    _ => Poll::Pending,
                }
            })
            .await;
            match written {
                Some(Ok(0)) if output.is_empty() => {
                    self.conn.handle_write(0, 0);
                    return Ok(());
                }
                Some(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Some(Ok(n)) => {
                    output.advance(n);
                    self.conn.handle_timeout(Instant::now());
                    self.conn.handle_write(n, output.len());
                }
                Some(Err(e)) => return Err(e),
                None => {
                    self.conn.handle_timeout(Instant::now());
                    if self.conn.is_abandoned() {
                        output.clear();
                        return Ok(());
                    }
                }
            }
        }
    }

    fn transfer_event(&mut self, event: Option<TransferEvent>) {
        let Some(running) = self.transfer.as_ref() else {
            return;
        };
        let id = running.id;
        let outcome = match event {
            Some(TransferEvent::Started { unique_name }) => {
                Outcome::TransferStarting { unique_name }
            }
            Some(TransferEvent::Connected) => Outcome::DataConnected,
            Some(TransferEvent::Progress) => Outcome::TransferProgress,
            Some(TransferEvent::Finished(result)) => {
                self.transfer = None;
                match result {
                    Ok(bytes) => Outcome::TransferComplete { bytes },
                    Err(kind) => Outcome::Failed(kind),
                }
            }
            Some(TransferEvent::Checksummed(result)) => {
                self.transfer = None;
                result.map_or_else(Outcome::Failed, Outcome::Checksum)
            }
            // The task ended without a word: it can only have panicked.
            None => {
                self.transfer = None;
                Outcome::Failed(FailureKind::LocalError)
            }
        };
        let _ = self.conn.handle_outcome(id, outcome);
    }

    fn abort_transfer(&mut self) {
        if let Some(abort) = self.transfer.as_mut().and_then(|t| t.abort.take()) {
            let _ = abort.send(());
        }
    }

    async fn perform(&mut self, action: Action) {
        let storage = &*self.shared.storage;
        let (id, outcome) = match action {
            Action::Authenticate {
                id,
                user,
                password,
                host,
            } => (id, self.login(user, password, host).await),
            // The built-in flow never asks for accounts (no Outcome::NeedAccount is given).
            Action::Account { id, .. } => (id, Outcome::LoginRejected),
            Action::OpenPassive {
                id,
                family,
                admits,
                protected,
            } => (id, self.open_passive(family, admits, protected).await),
            Action::CloseDataChannel => {
                if let Some(old) = self.passive.take() {
                    old.close().await;
                }
                return;
            }
            Action::Transfer(t) => {
                self.start_transfer(t);
                return;
            }
            Action::Checksum {
                id,
                path,
                algorithm,
                offset,
                length,
            } => {
                self.start_checksum(id, &path, algorithm, offset, length);
                return;
            }
            Action::StartData { .. } => {
                if let Some(go) = self.transfer.as_mut().and_then(|t| t.go.take()) {
                    let _ = go.send(self.passive.take());
                }
                return;
            }
            Action::Abort { .. } => {
                self.abort_transfer();
                return;
            }
            Action::Metadata { id, path } => {
                let r = match self.user_path(&path) {
                    Ok((user, p)) => storage.metadata(user, &p).await.map_err(kind),
                    Err(f) => Err(f),
                };
                (
                    id,
                    r.map_or_else(Outcome::Failed, |m| Outcome::Metadata(Box::new(m))),
                )
            }
            Action::ProbeDirectory { id, path } => {
                let r = match self.user_path(&path) {
                    Ok((user, p)) => storage.list(user, &p).await.map(drop).map_err(kind),
                    Err(f) => Err(f),
                };
                (id, done(r))
            }
            Action::StatusListing { id, path, max } => (id, self.status_listing(&path, max).await),
            Action::MakeDirectory { id, path } => {
                let r = match self.user_path(&path) {
                    Ok((user, p)) => storage.mkdir(user, &p).await.map_err(kind),
                    Err(f) => Err(f),
                };
                self.audit("directory created", &path, None, &r);
                (id, done(r))
            }
            Action::RemoveDirectory { id, path } => {
                let r = match self.user_path(&path) {
                    Ok((user, p)) => storage.rmdir(user, &p).await.map_err(kind),
                    Err(f) => Err(f),
                };
                self.audit("directory removed", &path, None, &r);
                (id, done(r))
            }
            Action::Delete { id, path } => {
                let r = match self.user_path(&path) {
                    Ok((user, p)) => storage.delete(user, &p).await.map_err(kind),
                    Err(f) => Err(f),
                };
                self.audit("file deleted", &path, None, &r);
                (id, done(r))
            }
            Action::Rename { id, from, to } => {
                let r = match (self.user_path(&from), self.user_path(&to)) {
                    (Ok((user, from)), Ok((_, to))) => {
                        storage.rename(user, &from, &to).await.map_err(kind)
                    }
                    (Err(f), _) | (_, Err(f)) => Err(f),
                };
                self.audit("renamed", &from, Some(&to), &r);
                (id, done(r))
            }
            Action::SetModified { id, path, time } => {
                let r = match self.user_path(&path) {
                    Ok((user, p)) => storage
                        .set_modified(user, &p, time.to_system_time())
                        .await
                        .map_err(kind),
                    Err(f) => Err(f),
                };
                self.audit("modification time set", &path, None, &r);
                (id, done(r))
            }
            Action::Refused(refusal) => {
                let user = self
                    .principal
                    .as_ref()
                    .map(|p| LogSafe(&p.name).to_string());
                match refusal {
                    Refusal::Bounce { to } => tracing::warn!(
                        target: "ftp_server::audit",
                        peer = %self.peer,
                        user,
                        %to,
                        "refused: PORT to another host (bounce)"
                    ),
                    Refusal::PrivilegedPort { to } => tracing::warn!(
                        target: "ftp_server::audit",
                        peer = %self.peer,
                        user,
                        %to,
                        "refused: PORT to a privileged port"
                    ),
                    _ => {
                        tracing::warn!(target: "ftp_server::audit", peer = %self.peer, ?refusal, "refused")
                    }
                }
                return;
            }
            // UpgradeTls and Close are the control connection's, done in `drive`.
            _ => return,
        };
        if let Err(e) = self.conn.handle_outcome(id, outcome) {
            tracing::error!(error = %e, "outcome refused by the session");
        }
    }

    /// The audit trail of changes to files: who changed what, at INFO under the target
    /// `ftp_server::audit` (uploads are logged by the transfer, with their bytes).
    fn audit(
        &self,
        what: &'static str,
        path: &VirtualPath,
        to: Option<&VirtualPath>,
        result: &Result<(), FailureKind>,
    ) {
        let user = self
            .principal
            .as_ref()
            .map(|p| LogSafe(&p.name).to_string());
        // A change the quota's count does not follow: counted again at the next upload.
        if let (Ok(()), Some(p)) = (result, &self.principal) {
            let (bytes, files) = self.shared.options.user_quota;
            if bytes.is_some() || files.is_some() {
                self.shared.forget_usage(&p.name);
            }
        }
        match (result, to) {
            (Ok(()), None) => {
                tracing::info!(target: "ftp_server::audit", peer = %self.peer, user, %path, "{what}");
            }
            (Ok(()), Some(to)) => {
                tracing::info!(target: "ftp_server::audit", peer = %self.peer, user, from = %path, %to, "{what}");
            }
            (Err(failure), _) => {
                tracing::debug!(target: "ftp_server::audit", peer = %self.peer, user, %path, %failure, "{what}: refused");
            }
        }
    }

    /// The logged-in principal and where `path` (in the user's view) lies in the storage
    /// namespace. The machine asks nothing of storage before a login, so no principal is a
    /// driver bug, refused.
    fn user_path(&self, path: &VirtualPath) -> Result<(&Principal, VirtualPath), FailureKind> {
        let user = self
            .principal
            .as_ref()
            .ok_or(FailureKind::PermissionDenied)?;
        Ok((user, storage_path(user, path)))
    }

    async fn login(
        &mut self,
        user: Arg<'_>,
        password: Secret<Arg<'_>>,
        host: Option<Arg<'_>>,
    ) -> Outcome {
        let credentials = Credentials {
            user: user.as_bytes().to_vec(),
            password: Secret::new(password.expose_secret().as_bytes().to_vec()),
            host: host.map(|h| h.as_bytes().to_vec()),
            peer: self.peer.ip(),
        };
        let ip = self.peer.ip();
        // A banned address gets no verdict at all (no hash is verified for it), on the
        // connections it already has too: the same 530 as for a wrong password.
        if self
            .shared
            .throttle()
            .banned_until(ip, Instant::now())
            .is_some()
        {
            tracing::debug!(peer = %self.peer, "login from a banned address refused");
            return Outcome::LoginRejected;
        }
        match self.shared.auth.authenticate(&credentials).await {
            Ok(principal) => {
                self.shared.throttle().succeeded(ip, Instant::now());
                // One place among the user's sessions (a new login of the same user on this
                // connection keeps its place).
                let same_user = self.principal.as_ref().map(|p| &p.name) == Some(&principal.name);
                if !(same_user && self.slots.user.is_some()) {
                    let max = self.shared.options.max_sessions_per_user;
                    let Some(slot) =
                        self.shared
                            .user_sessions
                            .take(principal.name.clone(), usize::MAX, max)
                    else {
                        tracing::warn!(
                            peer = %self.peer,
                            user = %LogSafe(&principal.name),
                            max,
                            "login refused: too many sessions for the user"
                        );
                        return Outcome::Failed(FailureKind::TooManySessions);
                    };
                    self.slots.user = Some(slot);
                }
                // Logged in: no longer among the connections waiting to.
                self.slots.pre_auth = None;
                tracing::info!(
                    peer = %self.peer,
                    user = %LogSafe(&principal.name),
                    "logged in"
                );
                let mut access = UserAccess::new(principal.permissions);
                if let Some(dir) = &principal.upload_only {
                    access = access.with_upload_only(dir.clone());
                }
                access.anonymous = principal.anonymous;
                access.require_tls = principal.require_tls;
                access.require_protected_data = principal.require_protected_data;
                self.principal = Some(principal);
                Outcome::LoggedIn(access)
            }
            Err(AuthError::Busy) => {
                tracing::warn!(peer = %self.peer, "login refused: too many logins at once");
                Outcome::Failed(FailureKind::Busy)
            }
            Err(e) => {
                // The machine holds the 530 for the failed-login delay; the throttle adds a
                // delay that grows with the address's failures, the same for unknown users
                // and wrong passwords.
                tracing::info!(peer = %self.peer, user = %user, error = %e, "login failed");
                let failure = self.shared.throttle().failed(ip, Instant::now());
                if let Some(until) = failure.banned_until {
                    let secs = until.saturating_duration_since(Instant::now()).as_secs();
                    tracing::warn!(
                        peer = %self.peer,
                        failures = failure.count,
                        ban_secs = secs,
                        "address banned after failed logins"
                    );
                }
                if !failure.delay.is_zero() {
                    ftp_runtime::sleep(&*self.shared.runtime, failure.delay).await;
                }
                Outcome::LoginRejected
            }
        }
    }

    /// Implicit FTPS: the handshake comes before the greeting, within the machine's limit for
    /// handshakes. A plain client here, or one that sends nothing, is closed.
    async fn implicit_handshake<C>(&mut self, control: C) -> Option<MaybeTls<C>>
    where
        C: AsyncRead + AsyncWrite + Unpin,
    {
        let tls = self.session_tls()?;
        let limit = self.shared.config.tls_handshake_timeout;
        let handshake = tls.accept_control(bytes::Bytes::new(), control);
        let peer = self.peer;
        match ftp_runtime::timeout(&*self.shared.runtime, limit, handshake).await {
            Some(Ok(stream)) => {
                self.conn.session_mut().set_implicit_tls();
                Some(stream)
            }
            Some(Err(e)) => {
                tracing::info!(%peer, error = %e, "implicit TLS handshake failed");
                None
            }
            None => {
                tracing::info!(%peer, "implicit TLS handshake timed out");
                None
            }
        }
    }

    /// The session's TLS state, made at its first handshake.
    fn session_tls(&mut self) -> Option<Arc<SessionTls>> {
        if self.tls.is_none() {
            let config = self.shared.options.tls.as_ref()?;
            match config.session() {
                Ok(tls) => self.tls = Some(Arc::new(tls)),
                Err(e) => {
                    tracing::error!(error = %e, "no TLS state for the session");
                    return None;
                }
            }
        }
        self.tls.clone()
    }

    /// `AUTH TLS`: the handshake on the control connection, within the machine's deadline.
    /// What the client sent after `AUTH` and the machine did not read is the handshake's start.
    async fn upgrade<C: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        control: &mut MaybeTls<C>,
        input: &mut BytesMut,
    ) -> Outcome {
        let failed = Outcome::Failed(FailureKind::LocalError);
        let Some(tls) = self.session_tls() else {
            return failed;
        };
        let Some(plain) = control.take_plain() else {
            return failed;
        };
        let prefix = input.split().freeze();
        let due = self.conn.poll_timeout();
        let timer = arm(&mut self.timer, &*self.shared.runtime, due);
        let handshake = std::pin::pin!(tls.accept_control(prefix, plain));
        let done = match timer {
            Some(timer) => match futures_util::future::select(handshake, timer).await {
                futures_util::future::Either::Left((done, _)) => Some(done),
                futures_util::future::Either::Right(_) => None,
            },
            None => Some(handshake.await),
        };
        match done {
            Some(Ok(stream)) => {
                *control = stream;
                tracing::debug!(peer = %self.peer, "control connection secured");
                Outcome::Done
            }
            Some(Err(e)) => {
                tracing::info!(peer = %self.peer, error = %e, "TLS handshake failed");
                failed
            }
            None => {
                // The machine closes the session at its deadline.
                self.conn.handle_timeout(Instant::now());
                tracing::info!(peer = %self.peer, "TLS handshake timed out");
                failed
            }
        }
    }

    async fn open_passive(
        &mut self,
        family: AddressFamily,
        admits: ftp_proto::server::DataEndpoint,
        protected: bool,
    ) -> Outcome {
        // The old listener (if any) goes first, freeing its slot and its port.
        if let Some(old) = self.passive.take() {
            // Boxed: the wait is rare, and would grow every session's future.
            Box::pin(old.close()).await;
        }
        let peer_ip = self.peer.ip();
        let max = self.shared.options.max_passive_per_ip;
        let Some(slot) = self.shared.passive.slot(peer_ip, max) else {
            tracing::warn!(peer = %self.peer, max, "refused: too many passive listeners for one address");
            return Outcome::Failed(FailureKind::Busy);
        };
        let ports = self.shared.options.passive_ports.as_ref();
        let start = ftp_runtime::random_start();
        let runtime = &*self.shared.runtime;
        let bound = ftp_runtime::bind_in_range(runtime, self.local.ip(), ports, start)
            .await
            .ok();
        let Some(listener) = bound else {
            tracing::warn!(peer = %self.peer, "no passive port available");
            return Outcome::Failed(FailureKind::LocalError);
        };
        let Ok(addr) = listener.local_addr() else {
            return Outcome::Failed(FailureKind::LocalError);
        };
        let tls = if protected { self.session_tls() } else { None };
        self.passive = Some(transfer::accept_passive(
            &self.shared,
            listener,
            slot,
            admits,
            tls,
        ));
        let announced = match (family, self.shared.options.masquerade_address) {
            (AddressFamily::V4, Some(public)) => SocketAddr::new(public.into(), addr.port()),
            _ => addr,
        };
        Outcome::PassiveListening(announced)
    }

    /// `STAT path`: the first `max` entries of a directory, or the path itself.
    async fn status_listing(&self, path: &VirtualPath, max: usize) -> Outcome {
        let (user, p) = match self.user_path(path) {
            Ok(r) => r,
            Err(f) => return Outcome::Failed(f),
        };
        let storage = &self.shared.storage;
        let now = transfer::wall_clock();
        let meta = match storage.metadata(user, &p).await {
            Ok(m) => m,
            Err(e) => return Outcome::Failed(kind(e)),
        };
        if !meta.is_dir() {
            let entries = vec![DirEntry::for_path(path, meta)];
            return Outcome::Listed { entries, now };
        }
        let mut lister = match storage.list(user, &p).await {
            Ok(l) => l,
            Err(e) => return Outcome::Failed(kind(e)),
        };
        let mut entries = Vec::new();
        while entries.len() < max {
            match lister.next_page().await {
                Ok(page) if page.is_empty() => break,
                Ok(page) => {
                    let room = max - entries.len();
                    entries.extend(page.into_iter().take(room));
                }
                Err(e) => return Outcome::Failed(kind(e)),
            }
        }
        Outcome::Listed { entries, now }
    }

    /// Runs a checksum as a background task, held as the running transfer is (its events,
    /// its abort).
    fn start_checksum(
        &mut self,
        id: ActionId,
        path: &VirtualPath,
        algorithm: ftp_proto::checksum::HashAlgorithm,
        offset: u64,
        length: u64,
    ) {
        let (principal, path) = match self.user_path(path) {
            Ok((user, p)) => (user.clone(), p),
            Err(f) => {
                let _ = self.conn.handle_outcome(id, Outcome::Failed(f));
                return;
            }
        };
        let (events_tx, events_rx) = mpsc::unbounded();
        let (abort_tx, abort_rx) = oneshot::channel();
        self.transfer = Some(Running {
            id,
            events: events_rx,
            go: None,
            abort: Some(abort_tx),
        });
        let job = crate::checksum::Job {
            principal,
            path,
            algorithm,
            offset,
            length,
        };
        let shared = Arc::clone(&self.shared);
        self.shared.runtime.spawn(Box::pin(crate::checksum::run(
            shared, job, events_tx, abort_rx,
        )));
    }

    fn start_transfer(&mut self, t: ftp_proto::server::Transfer) {
        let id = t.id;
        let resolved = self.user_path(&t.path).map(|(user, p)| (user.clone(), p));
        let (principal, path) = match resolved {
            Ok(r) => r,
            Err(f) => {
                let _ = self.conn.handle_outcome(id, Outcome::Failed(f));
                return;
            }
        };
        let (events_tx, events_rx) = mpsc::unbounded();
        let (go_tx, go_rx) = oneshot::channel();
        let (abort_tx, abort_rx) = oneshot::channel();
        let tls = if t.protected {
            self.session_tls()
        } else {
            None
        };
        let job = Job {
            plan: transfer::UploadPlan::default(),
            client_path: t.path.clone(),
            transfer: t,
            principal,
            path,
            tls,
            local_ip: self.local.ip(),
        };
        self.transfer = Some(Running {
            id,
            events: events_rx,
            go: Some(go_tx),
            abort: Some(abort_tx),
        });
        let shared = Arc::clone(&self.shared);
        self.shared.runtime.spawn(Box::pin(transfer::run(
            shared, job, events_tx, go_rx, abort_rx,
        )));
    }
}

/// Writes and flushes what `output` holds as far as the connection takes it without waiting;
/// `true` when all of it went.
async fn write_now<C: AsyncWrite + Unpin>(
    control: &mut C,
    output: &mut BytesMut,
) -> io::Result<bool> {
    poll_fn(|cx| {
        while !output.is_empty() {
            match Pin::new(&mut *control).poll_write(cx, output) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => output.advance(n),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Ready(Ok(false)),
            }
        }
        match Pin::new(&mut *control).poll_flush(cx) {
            Poll::Ready(r) => Poll::Ready(r.map(|()| true)),
            Poll::Pending => Poll::Ready(Ok(false)),
        }
    })
    .await
}

/// The session's one timer, set to the machine's next deadline (`None`: no deadline, no
/// timer to poll); made at the first wait, moved afterwards.
fn arm<'a>(
    timer: &'a mut Option<Box<dyn Timer>>,
    runtime: &dyn ftp_runtime::Runtime,
    deadline: Option<Instant>,
) -> Option<&'a mut Box<dyn Timer>> {
    let deadline = deadline?;
    match timer {
        Some(timer) => timer.reset(deadline),
        None => *timer = Some(runtime.timer(deadline)),
    }
    timer.as_mut()
}

/// A client path in the user's view mapped into the storage namespace under the user's home.
/// Both are normalised, so the result stays under the home.
fn storage_path(user: &Principal, path: &VirtualPath) -> VirtualPath {
    let relative = path
        .as_bytes()
        .strip_prefix(b"/")
        .unwrap_or(path.as_bytes());
    user.home.resolve(relative)
}

fn kind(e: StorageError) -> FailureKind {
    crate::shared::log_storage_failure(&e, "storage operation failed");
    e.kind()
}

fn done(r: Result<(), FailureKind>) -> Outcome {
    r.map_or_else(Outcome::Failed, |()| Outcome::Done)
}
