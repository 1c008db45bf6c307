//! The client: one control connection and the commands a program needs.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use ftp_proto::address::is_same_ip;
use ftp_proto::checksum::{Digest, HashAlgorithm, parse_hash_reply, parse_legacy_reply};
use ftp_proto::client::{parse_mlst, parse_modified, parse_pathname, parse_size};
use ftp_proto::listing::MlsxEntry;
use ftp_proto::{
    Arg, Command, DataSetup, DataTarget, FeatureList, ListArgs, OpId, Opts, Progress, Reply,
    Secret, Timestamp, TransferRequest, TransferType, Verb,
};
use ftp_runtime::tls::MaybeTls;
use ftp_runtime::tls::rustls::pki_types::ServerName;
use ftp_runtime::{IntoRuntime, Listener, Runtime, TcpStream, timeout};
use futures_io::{AsyncRead, AsyncWrite};

use crate::control::Control;
use crate::error::{Error, Result, Stage};
use crate::options::{ClientOptions, DataMode};
use crate::tls::{ClientTls, server_name};

/// A data connection: plain, or TLS (`PROT P`) with this end the client.
pub type DataStream = MaybeTls<TcpStream>;

/// How a connection is secured (RFC 4217).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsMode {
    /// `AUTH TLS` after the greeting, on the usual port (21): explicit FTPS.
    Explicit,
    /// TLS from the first byte, on a port of its own (990): implicit FTPS, `ftps://` URLs.
    Implicit,
}

/// The TLS state of a secured client.
pub(crate) struct TlsState {
    /// The control connection's connector, with its own session cache.
    connector: ftp_runtime::tls::futures_rustls::TlsConnector,
    /// The control connection's server name: data connections use it too, so that the
    /// session cache finds the session to resume.
    name: ServerName<'static>,
}

/// What a reply did to the operation awaited.
#[derive(Debug)]
pub(crate) enum Event {
    /// A 1yz reply, or a step of a dialogue.
    Continuing,
    /// The final, positive reply.
    Done(Reply),
    /// The data channel is negotiated.
    Data(DataTarget),
    /// The transfer command's preliminary reply: the data moves now.
    Started(Reply),
}

/// A data connection opened for a transfer command that the server accepted.
pub(crate) struct Opened<T> {
    pub(crate) stream: T,
    pub(crate) op: OpId,
    /// The preliminary reply (`150`; for `STOU` it names the file).
    pub(crate) preliminary: Option<Reply>,
    /// The final reply, when the server sent it without a preliminary one.
    pub(crate) done: Option<Reply>,
}

/// An FTP client on one control connection.
///
/// The runtime (see [`crate::runtime`]) brings data connections and timers; `S` is the control
/// stream, by default a TCP stream of the runtime. Every method waits at most the timeouts of its
/// [`ClientOptions`]. A method that fails with a server reply ([`Error::Server`]) leaves the
/// connection usable; a timeout or an unreadable reply leaves it [`Error::Broken`].
pub struct Client<S = TcpStream> {
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) control: Control<S>,
    pub(crate) options: ClientOptions,
    peer: SocketAddr,
    local: SocketAddr,
    greeting: Reply,
    pub(crate) transfer_type: TransferType,
    pub(crate) broken: bool,
    /// The progress hook of the file helpers.
    pub(crate) progress: Option<Box<dyn crate::observer::ProgressObserver>>,
    /// Set once TLS secures the control connection.
    pub(crate) tls: Option<TlsState>,
    /// The server's `FEAT`, asked once for the checksum commands.
    features: Option<FeatureList>,
    /// The algorithm `HASH` uses now, when known (from `FEAT`'s star or our `OPTS HASH`).
    hash_selected: Option<HashAlgorithm>,
}

impl<S> std::fmt::Debug for Client<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("peer", &self.peer)
            .field("local", &self.local)
            .field("transfer_type", &self.transfer_type)
            .field("data_mode", &self.options.data_mode)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to `host` (a name or an address literal) on `port`, trying each address it
    /// resolves to, and reads the greeting.
    ///
    /// `runtime` is any [`Runtime`], or one shared as `Arc<dyn Runtime>`.
    pub async fn connect(
        runtime: impl IntoRuntime,
        host: &str,
        port: u16,
        options: ClientOptions,
    ) -> Result<Self> {
        let runtime = runtime.into_runtime();
        let (stream, addr) = Self::connect_tcp(&runtime, host, port, &options).await?;
        let local = stream.local_addr();
        Self::with_stream(runtime, stream, addr, local, options).await
    }

    /// Connects to `host` on `port` with FTPS: explicit (`AUTH TLS` after the greeting) or
    /// implicit (TLS first). The server's certificate must name `host` (unless `tls` checks
    /// none); then `PBSZ 0` and `PROT P` protect the data connections too.
    pub async fn connect_tls(
        runtime: impl IntoRuntime,
        host: &str,
        port: u16,
        options: ClientOptions,
        tls: ClientTls,
        mode: TlsMode,
    ) -> Result<Self> {
        let runtime = runtime.into_runtime();
        let name = server_name(host).map_err(Error::Tls)?;
        let (stream, addr) = Self::connect_tcp(&runtime, host, port, &options).await?;
        Self::secure_stream(runtime, stream, addr, name, options, tls, mode).await
    }

    /// [`connect_tls`](Self::connect_tls) to an address already resolved; the server's
    /// certificate must name `server_name` (a DNS name or an address literal).
    pub async fn connect_tls_addr(
        runtime: impl IntoRuntime,
        addr: SocketAddr,
        server_name: &str,
        options: ClientOptions,
        tls: ClientTls,
        mode: TlsMode,
    ) -> Result<Self> {
        let runtime = runtime.into_runtime();
        let name = crate::tls::server_name(server_name).map_err(Error::Tls)?;
        let limit = options.connect_timeout;
        let stream = timeout(&*runtime, limit, runtime.connect(addr, None))
            .await
            .ok_or(Error::Timeout(Stage::Connect))??;
        Self::secure_stream(runtime, stream, addr, name, options, tls, mode).await
    }

    async fn secure_stream(
        runtime: Arc<dyn Runtime>,
        stream: TcpStream,
        addr: SocketAddr,
        name: ServerName<'static>,
        options: ClientOptions,
        tls: ClientTls,
        mode: TlsMode,
    ) -> Result<Self> {
        let local = stream.local_addr();
        let mut client = match mode {
            TlsMode::Explicit => {
                let mut client = Self::with_stream(runtime, stream, addr, local, options).await?;
                client.auth_tls_as(tls, name).await?;
                client
            }
            _ => {
                let limit = options.reply_timeout;
                let (control, connector) =
                    control_handshake(&*runtime, limit, &tls, &name, stream).await?;
                let mut client = Self::with_control(runtime, control, addr, local, options).await?;
                client.tls = Some(TlsState { connector, name });
                client
            }
        };
        client.protect_data(true).await?;
        Ok(client)
    }

    async fn connect_tcp(
        runtime: &Arc<dyn Runtime>,
        host: &str,
        port: u16,
        options: &ClientOptions,
    ) -> Result<(TcpStream, SocketAddr)> {
        let limit = options.connect_timeout;
        let addrs = timeout(&**runtime, limit, runtime.resolve(host, port))
            .await
            .ok_or(Error::Timeout(Stage::Connect))??;
        let mut last = Error::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{host} resolves to no address"),
        ));
        for addr in addrs {
            match timeout(&**runtime, limit, runtime.connect(addr, None)).await {
                Some(Ok(stream)) => return Ok((stream, addr)),
                Some(Err(e)) => last = Error::Io(e),
                None => last = Error::Timeout(Stage::Connect),
            }
        }
        Err(last)
    }

    /// Connects to `addr` and reads the greeting.
    pub async fn connect_addr(
        runtime: impl IntoRuntime,
        addr: SocketAddr,
        options: ClientOptions,
    ) -> Result<Self> {
        let runtime = runtime.into_runtime();
        let limit = options.connect_timeout;
        let stream = timeout(&*runtime, limit, runtime.connect(addr, None))
            .await
            .ok_or(Error::Timeout(Stage::Connect))??;
        let local = stream.local_addr();
        Self::with_stream(runtime, stream, addr, local, options).await
    }
}

impl<S> Client<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    /// A client over a control stream the caller connected (a TLS stream, a proxy tunnel, a
    /// test pipe). `peer` is the server's address, which passive data connections go to and
    /// active ones must come from; `local` is the address active-mode listeners bind to.
    /// Reads the greeting.
    pub async fn with_stream(
        runtime: impl IntoRuntime,
        stream: S,
        peer: SocketAddr,
        local: SocketAddr,
        options: ClientOptions,
    ) -> Result<Self> {
        Self::with_control(runtime, MaybeTls::Plain(stream), peer, local, options).await
    }

    async fn with_control(
        runtime: impl IntoRuntime,
        stream: MaybeTls<S>,
        peer: SocketAddr,
        local: SocketAddr,
        options: ClientOptions,
    ) -> Result<Self> {
        let runtime = runtime.into_runtime();
        let mut control = Control::new(stream, options.replies.clone());
        // The greeting is read before the client exists, so that it holds a real one.
        let greeting = loop {
            let limit = options.reply_timeout;
            let op = ftp_proto::ClientSession::GREETING;
            if let Event::Done(reply) = next_event(&mut control, &*runtime, limit, op).await? {
                break reply;
            }
        };
        Ok(Self {
            runtime,
            control,
            options,
            peer,
            local,
            greeting,
            transfer_type: TransferType::Image,
            broken: false,
            progress: None,
            tls: None,
            features: None,
            hash_selected: None,
        })
    }

    /// Secures the control connection with `AUTH TLS` (RFC 4217 §4), checking that the
    /// server's certificate names `host`, then protects data connections (`PBSZ 0`,
    /// `PROT P`). A refused `AUTH` leaves the connection plain and usable; a failed handshake
    /// leaves it unusable.
    pub async fn secure(&mut self, tls: ClientTls, host: &str) -> Result<()> {
        let name = server_name(host).map_err(Error::Tls)?;
        self.auth_tls_as(tls, name).await?;
        self.protect_data(true).await
    }

    async fn auth_tls_as(&mut self, tls: ClientTls, name: ServerName<'static>) -> Result<()> {
        self.check_usable()?;
        if self.control.is_tls() {
            return Ok(());
        }
        // The machine sends nothing after the 234 until the handshake is done.
        let op = self.control.session().auth_tls();
        self.finish(op).await?;
        // And the server says nothing: bytes here would be plain text posing as TLS.
        if self.control.has_unread_input() {
            self.broken = true;
            return Err(Error::Broken);
        }
        let Some(plain) = self.control.stream_mut().take_plain() else {
            self.broken = true;
            return Err(Error::Broken);
        };
        let limit = self.options.reply_timeout;
        let done = control_handshake(&*self.runtime, limit, &tls, &name, plain).await;
        let (control, connector) = done.inspect_err(|_| self.broken = true)?;
        *self.control.stream_mut() = control;
        self.control.session().handshake_done();
        self.tls = Some(TlsState { connector, name });
        Ok(())
    }

    /// Turns the protection of data connections on (`PBSZ 0`, `PROT P`: the default once
    /// TLS is up) or off (`PROT C`: files and listings then cross the network in the clear).
    /// Needs a TLS control connection.
    pub async fn protect_data(&mut self, on: bool) -> Result<()> {
        if self.tls.is_none() {
            return Err(Error::Tls(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "data protection needs a TLS control connection",
            )));
        }
        if self.control.session().is_data_protected() == on {
            return Ok(());
        }
        self.check_usable()?;
        let op = self.control.session().protect_data(on);
        self.finish(op).await.map(drop)
    }

    /// Whether TLS protects the control connection.
    pub fn is_secure(&self) -> bool {
        self.control.is_tls()
    }

    /// Whether data connections use TLS (`PROT P`).
    pub fn is_data_protected(&self) -> bool {
        self.control.session_ref().is_data_protected()
    }

    /// The server's greeting (`220`).
    pub fn greeting(&self) -> &Reply {
        &self.greeting
    }

    /// The server's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The local address of the control connection.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The settings in use.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Switches between passive and active data connections for the transfers to come.
    pub fn set_data_mode(&mut self, mode: DataMode) {
        self.options.data_mode = mode;
    }

    /// Whether the server refused `EPSV`, so that passive mode uses `PASV` (IPv4 only).
    pub fn epsv_refused(&mut self) -> bool {
        self.control.session().epsv_refused()
    }

    /// Logs in with a user name and password.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<Reply> {
        self.login_inner(user, password, None).await
    }

    /// Logs in with a user name, password and account (for servers that answer `332`).
    pub async fn login_with_account(
        &mut self,
        user: &str,
        password: &str,
        account: &str,
    ) -> Result<Reply> {
        self.login_inner(user, password, Some(account)).await
    }

    /// Logs in anonymously (`anonymous`, with the conventional e-mail-like password).
    pub async fn login_anonymous(&mut self) -> Result<Reply> {
        self.login_inner("anonymous", "anonymous@", None).await
    }

    async fn login_inner(
        &mut self,
        user: &str,
        password: &str,
        account: Option<&str>,
    ) -> Result<Reply> {
        self.check_usable()?;
        let user = Arg::try_from(user)?;
        let password = Secret::new(Arg::try_from(password)?);
        let account = account.map(Arg::try_from).transpose()?.map(Secret::new);
        let op = self.control.session().login(user, password, account);
        self.finish(op).await
    }

    /// The server's features (`FEAT`); empty when the server does not know `FEAT`.
    pub async fn features(&mut self) -> Result<FeatureList> {
        let features = match self.run(Command::Feat).await {
            Ok(reply) => FeatureList::parse(&reply),
            Err(Error::Server(e)) => {
                FeatureList::from_refusal(e.reply()).ok_or(Error::Server(e))?
            }
            Err(e) => return Err(e),
        };
        self.hash_selected = features.hash_algorithms().and_then(|(_, s)| s);
        self.features = Some(features.clone());
        Ok(features)
    }

    /// Whether `HASH` gives `algorithm` (then it is selected with `OPTS HASH`, when another
    /// one is in use); `false`: only a legacy command can.
    pub(crate) async fn select_hash(&mut self, algorithm: HashAlgorithm) -> Result<bool> {
        let by_hash = self
            .known_features()
            .await?
            .hash_algorithms()
            .is_some_and(|(list, _)| list.contains(&algorithm));
        if by_hash && self.hash_selected != Some(algorithm) {
            let name = Arg::try_from(algorithm.name())?;
            let opts = Opts {
                name: Verb::new(&b"HASH"[..]).ok_or(Error::Broken)?,
                value: Some(name),
            };
            self.run(Command::Opts(opts)).await?;
            self.hash_selected = Some(algorithm);
        }
        Ok(by_hash)
    }

    /// The features, asked for once.
    async fn known_features(&mut self) -> Result<&FeatureList> {
        if self.features.is_none() {
            self.features().await?;
        }
        Ok(self.features.get_or_insert_with(FeatureList::default))
    }

    /// The checksum algorithms the server offers, through `HASH` or the legacy commands its
    /// `FEAT` lists, strongest first.
    pub async fn checksum_algorithms(&mut self) -> Result<Vec<HashAlgorithm>> {
        let features = self.known_features().await?;
        let by_hash = features
            .hash_algorithms()
            .map(|(list, _)| list)
            .unwrap_or_default();
        Ok(HashAlgorithm::ALL
            .into_iter()
            .filter(|a| by_hash.contains(a) || features.supports(a.x_verb()))
            .collect())
    }

    /// The server's checksum of a whole file, to compare with a local one: `HASH` (after
    /// `OPTS HASH` when another algorithm is in use) when the server's `FEAT` lists the
    /// algorithm for it, else the legacy command (`XSHA256`, `XMD5`, `XCRC`...), which some
    /// servers offer without listing it. A server with neither answers 500 or 502
    /// ([`Error::is_unsupported`]).
    pub async fn hash(
        &mut self,
        path: impl AsRef<[u8]>,
        algorithm: HashAlgorithm,
    ) -> Result<Digest> {
        let path = arg(path)?;
        if !self.select_hash(algorithm).await? {
            let reply = self
                .run(Command::XChecksum {
                    algorithm,
                    path,
                    range: None,
                })
                .await?;
            return parse_legacy_reply(&reply, algorithm).ok_or(Error::MalformedReply(reply));
        }
        let reply = self.run(Command::Hash(path)).await?;
        match parse_hash_reply(&reply) {
            Some(r) if r.algorithm == algorithm => Ok(r.digest),
            _ => Err(Error::MalformedReply(reply)),
        }
    }

    /// The working directory (`PWD`), as the server spells it.
    pub async fn pwd(&mut self) -> Result<Bytes> {
        let reply = self.run(Command::Pwd).await?;
        parse_pathname(&reply).ok_or(Error::MalformedReply(reply))
    }

    /// Changes the working directory (`CWD`).
    pub async fn cwd(&mut self, path: impl AsRef<[u8]>) -> Result<Reply> {
        self.run(Command::Cwd(arg(path)?)).await
    }

    /// Changes to the parent directory (`CDUP`).
    pub async fn cdup(&mut self) -> Result<Reply> {
        self.run(Command::Cdup).await
    }

    /// Creates a directory (`MKD`); gives the name the server reports for it.
    pub async fn mkdir(&mut self, path: impl AsRef<[u8]>) -> Result<Bytes> {
        let path = arg(path)?;
        let reply = self.run(Command::Mkd(path.clone())).await?;
        // Not every server quotes the new name (RFC 959 asks for it in 257); fall back to ours.
        Ok(parse_pathname(&reply).unwrap_or_else(|| path.into_bytes()))
    }

    /// Removes a directory (`RMD`).
    pub async fn rmdir(&mut self, path: impl AsRef<[u8]>) -> Result<Reply> {
        self.run(Command::Rmd(arg(path)?)).await
    }

    /// Deletes a file (`DELE`).
    pub async fn delete(&mut self, path: impl AsRef<[u8]>) -> Result<Reply> {
        self.run(Command::Dele(arg(path)?)).await
    }

    /// Renames a file or directory (`RNFR`, then `RNTO`, as one operation of the machine).
    pub async fn rename(&mut self, from: impl AsRef<[u8]>, to: impl AsRef<[u8]>) -> Result<Reply> {
        let (from, to) = (arg(from)?, arg(to)?);
        self.check_usable()?;
        let op = self.control.session().rename(from, to);
        self.finish(op).await
    }

    /// A file's size in bytes (`SIZE`, RFC 3659), in binary mode so that it counts the bytes a
    /// download gives (some servers refuse `SIZE` in ASCII mode).
    pub async fn size(&mut self, path: impl AsRef<[u8]>) -> Result<u64> {
        let path = arg(path)?;
        self.check_usable()?;
        self.ensure_type(TransferType::Image).await?;
        let reply = self.run(Command::Size(path)).await?;
        parse_size(&reply).ok_or(Error::MalformedReply(reply))
    }

    /// A file's size in bytes, from wherever the server gives it: `SIZE`, else (where `SIZE`
    /// is refused but the file was not reported missing: the aioftp server has no `SIZE`) the
    /// `size` fact of `MLST`, else the one entry of `LIST path`. What resuming uses.
    pub async fn file_size(&mut self, path: impl AsRef<[u8]>) -> Result<u64> {
        let path = path.as_ref();
        let refused = match self.size(path).await {
            Err(e @ Error::Server(_)) if !e.is_not_found() => e,
            other => return other,
        };
        // A 550 from either is the answer: the file is not there.
        match self.mlst(path).await {
            Ok(entry) => {
                if let Some(size) = entry.facts.size {
                    return Ok(size);
                }
            }
            Err(e) if e.is_not_found() => return Err(e),
            Err(_) => {}
        }
        match self.list(path).await {
            Ok(entries) => match entries.as_slice() {
                [entry] if entry.kind == ftp_proto::listing::EntryKind::File => {
                    entry.size.ok_or(refused)
                }
                _ => Err(refused),
            },
            Err(e) if e.is_not_found() => Err(e),
            Err(_) => Err(refused),
        }
    }

    /// A file's modification time (`MDTM`, RFC 3659), in UTC.
    pub async fn mdtm(&mut self, path: impl AsRef<[u8]>) -> Result<Timestamp> {
        let reply = self.run(Command::Mdtm(arg(path)?)).await?;
        parse_modified(&reply).ok_or(Error::MalformedReply(reply))
    }

    /// Sets a file's modification time (`MFMT`).
    pub async fn set_mtime(&mut self, path: impl AsRef<[u8]>, time: Timestamp) -> Result<Reply> {
        self.run(Command::Mfmt {
            time,
            path: arg(path)?,
        })
        .await
    }

    /// A site-specific command (`SITE CHMOD 644 file`, say: pass `CHMOD 644 file`).
    pub async fn site(&mut self, command: impl AsRef<[u8]>) -> Result<Reply> {
        self.run(Command::Site(arg(command)?)).await
    }

    /// `NOOP`: keeps the connection alive and checks that it is.
    pub async fn noop(&mut self) -> Result<Reply> {
        self.run(Command::Noop).await
    }

    /// The server's status, or with a path a listing sent on the control connection (`STAT`).
    ///
    /// An empty `path` asks for the server's status.
    pub async fn status(&mut self, path: impl AsRef<[u8]>) -> Result<Reply> {
        self.run(Command::Stat(opt_arg(path)?)).await
    }

    /// The system type (`SYST`), such as `UNIX Type: L8`.
    pub async fn system(&mut self) -> Result<Reply> {
        self.run(Command::Syst).await
    }

    /// Sends one command line as given (`"SITE UMASK 022"`, `"OPTS UTF8 ON"`) and waits for its
    /// final reply. The line is parsed first, so it cannot smuggle a second command; transfer
    /// commands belong to [`retr`](Self::retr) and friends, which open the data connection.
    pub async fn command(&mut self, line: &str) -> Result<Reply> {
        let cmd = Command::parse_owned(Bytes::copy_from_slice(line.as_bytes())).map_err(|e| {
            Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("not a command line: {e}"),
            ))
        })?;
        self.run(cmd).await
    }

    /// Says goodbye (`QUIT`) and closes the control connection.
    pub async fn quit(mut self) -> Result<Reply> {
        let reply = self.run(Command::Quit).await?;
        // The server closes too; a failure to close our end changes nothing for the caller.
        let _ = poll_fn(|cx| self.control.poll_close(cx)).await;
        Ok(reply)
    }

    /// The representation type for transfers to come: `TYPE I` (binary, the default) or
    /// `TYPE A` (ASCII: line ends are converted, CRLF on the wire, LF locally). Sent at once.
    pub async fn set_type(&mut self, transfer_type: TransferType) -> Result<()> {
        self.check_usable()?;
        self.transfer_type = transfer_type;
        self.ensure_type(transfer_type).await
    }

    /// The representation type transfers use.
    pub fn transfer_type(&self) -> TransferType {
        self.transfer_type
    }

    /// The facts of one file or directory (`MLST`, RFC 3659), sent on the control connection.
    /// An empty `path` names the working directory.
    pub async fn mlst(&mut self, path: impl AsRef<[u8]>) -> Result<MlsxEntry> {
        let reply = self.run(Command::Mlst(opt_arg(path)?)).await?;
        parse_mlst(&reply).ok_or(Error::MalformedReply(reply))
    }

    /// Sends one command and waits for its final reply.
    pub(crate) async fn run(&mut self, cmd: Command<'_>) -> Result<Reply> {
        self.check_usable()?;
        let op = self.control.session().command(cmd);
        self.finish(op).await
    }

    async fn ensure_type(&mut self, wanted: TransferType) -> Result<()> {
        if self.control.session().type_in_effect() != Some(wanted) {
            let op = self.control.session().command(Command::Type(wanted));
            self.finish(op).await?;
        }
        Ok(())
    }

    /// Runs the machine's transfer operation (`TYPE` when needed, the data channel, `REST` when
    /// `offset > 0`, the transfer command) and returns once the server accepted it (1yz) with
    /// the data connection open: the machine sequences the commands, this opens the socket.
    pub(crate) async fn open_data(
        &mut self,
        cmd: Command<'_>,
        offset: u64,
        set_type: bool,
    ) -> Result<Opened<DataStream>> {
        self.check_usable()?;
        let listener = match self.options.data_mode {
            DataMode::Passive => None,
            DataMode::Active { bind } => {
                let ip = bind.unwrap_or(self.local.ip());
                // A random port of the ephemeral range by name, not port 0: Linux's search
                // for port 0 slows down with every socket in TIME_WAIT (see bind_in_range).
                let runtime = &*self.runtime;
                let start = ftp_runtime::random_start();
                Some(ftp_runtime::bind_in_range(runtime, ip, None, start).await?)
            }
        };
        let setup = match &listener {
            None => DataSetup::Passive,
            Some(l) => DataSetup::Active(l.local_addr()?),
        };
        let mut request = TransferRequest::new(cmd, setup).with_offset(offset);
        if set_type {
            request = request.with_representation(self.transfer_type);
        }
        let op = self.control.session().transfer(request);
        let target = loop {
            match self.wait(op).await? {
                Event::Data(target) => break target,
                Event::Continuing => continue,
                Event::Done(_) | Event::Started(_) => return Err(self.unexpected_data_target()),
            }
        };
        // Passive: connect before the transfer command goes out, as curl does.
        let mut stream = None;
        if listener.is_none() {
            let Some(addr) = target.passive_addr(self.peer.ip(), self.options.pasv_address) else {
                return Err(self.unexpected_data_target());
            };
            let limit = self.options.data_timeout;
            let connected = timeout(&*self.runtime, limit, self.runtime.connect(addr, None))
                .await
                .ok_or(Error::Timeout(Stage::DataConnect))
                .and_then(|r| r.map_err(Error::Io));
            match connected {
                Ok(s) => stream = Some(s),
                Err(e) => {
                    self.control.session().cancel_transfer(op);
                    return Err(e);
                }
            }
        }
        self.control.session().data_connected(op);
        let (preliminary, done) = loop {
            match self.wait(op).await? {
                Event::Started(reply) => break (Some(reply), None),
                Event::Done(reply) => break (None, Some(reply)),
                Event::Continuing => continue,
                Event::Data(_) => return Err(self.unexpected_data_target()),
            }
        };
        let stream = match (stream, listener) {
            (Some(stream), _) => stream,
            (None, Some(listener)) => {
                let limit = self.options.data_timeout;
                let accepted =
                    Self::accept_from_server(&*self.runtime, limit, self.peer.ip(), &*listener);
                match accepted.await {
                    Ok(stream) => stream,
                    Err(e) => {
                        // The server will wait for a connection that never comes: the machine
                        // aborts the transfer before the next command.
                        self.control.session().abandon_transfer(op, false);
                        return Err(e);
                    }
                }
            }
            (None, None) => return Err(self.unexpected_data_target()),
        };
        let protected = self.control.session().is_data_protected();
        let stream = match self.tls.as_ref().filter(|_| protected) {
            // RFC 4217 §7: this end is the TLS client, whichever end connected. After the
            // 150: servers such as vsftpd start their side only once the command came.
            Some(tls) if done.is_none() => {
                let limit = self.options.data_timeout;
                let handshake = tls.connector.connect(tls.name.clone(), stream);
                match timeout(&*self.runtime, limit, handshake).await {
                    Some(Ok(stream)) => MaybeTls::Client(Box::new(stream)),
                    failed => {
                        let error = match failed {
                            Some(Err(e)) => Error::Tls(e),
                            _ => Error::Timeout(Stage::TlsHandshake),
                        };
                        // The server's reply (a 425 that says why) tells more than the
                        // handshake did; no data moved, so only that reply is owed.
                        self.control.session().abandon_transfer(op, true);
                        return match self.finish(op).await {
                            Err(e @ Error::Server(_)) => Err(e),
                            _ => Err(error),
                        };
                    }
                }
            }
            _ => MaybeTls::Plain(stream),
        };
        Ok(Opened {
            stream,
            op,
            preliminary,
            done,
        })
    }

    /// Accepts the server's data connection, refusing any from another host. (It takes only
    /// what it needs: a `&Self` held across the wait would make the future `!Send`, `Client`
    /// not being `Sync`.)
    async fn accept_from_server(
        runtime: &dyn Runtime,
        limit: std::time::Duration,
        peer: std::net::IpAddr,
        listener: &dyn Listener,
    ) -> Result<TcpStream> {
        let stream = timeout(runtime, limit, listener.accept())
            .await
            .ok_or(Error::Timeout(Stage::DataConnect))??;
        let from = stream.peer_addr();
        if !is_same_ip(from.ip(), peer) {
            return Err(Error::ForeignDataConnection(from));
        }
        Ok(stream)
    }

    fn unexpected_data_target(&mut self) -> Error {
        self.broken = true;
        Error::Broken
    }

    /// Before a command: a connection left out of step refuses it. (What a dropped transfer
    /// left owed, its `ABOR` and final replies, the machine sequences ahead of the command.)
    pub(crate) fn check_usable(&self) -> Result<()> {
        if self.broken {
            return Err(Error::Broken);
        }
        Ok(())
    }

    /// Aborts the transfer `op`: sends `ABOR`, then closes its data connection (`data`, when
    /// the caller still holds it), then takes the transfer's final reply and `ABOR`'s.
    ///
    /// `ABOR` goes out before the data connection closes so that a server receiving an upload
    /// does not take the close for the end of a complete file; servers that only look at the
    /// control connection between blocks (vsftpd without `async_abor_enable`) notice the close
    /// instead, answer `426` and then `ABOR`.
    pub(crate) async fn abort_op(&mut self, op: OpId, data: Option<DataStream>) -> Result<()> {
        let Some(abor) = self.control.session().abandon_transfer(op, false) else {
            // Nothing in flight to abort any more: the final reply is all that is owed.
            drop(data);
            return tolerate_refusal(self.finish(op).await);
        };
        let limit = self.options.reply_timeout;
        let sent = timeout(
            &*self.runtime,
            limit,
            poll_fn(|cx| self.control.poll_send(cx)),
        )
        .await;
        drop(data);
        match sent {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                self.broken = true;
                return Err(e.into());
            }
            None => {
                self.broken = true;
                return Err(Error::Timeout(Stage::Reply));
            }
        }
        tolerate_refusal(self.finish(op).await)?;
        tolerate_refusal(self.finish(abor).await)
    }

    /// Waits for the final reply of `op`.
    pub(crate) async fn finish(&mut self, op: OpId) -> Result<Reply> {
        loop {
            if let Event::Done(reply) = self.wait(op).await? {
                return Ok(reply);
            }
        }
    }

    /// Waits for the next step of `op`, within the reply timeout. Anything but a server's
    /// refusal (a timeout, an unreadable reply, a closing server) leaves the connection out of
    /// step: unusable.
    async fn wait(&mut self, op: OpId) -> Result<Event> {
        let limit = self.options.reply_timeout;
        let event = next_event(&mut self.control, &*self.runtime, limit, op).await;
        if matches!(&event, Err(e) if !matches!(e, Error::Server(_))) {
            self.broken = true;
        }
        event
    }

    /// What `progress` means for the awaited `op` (see [`classify`]); a server that is
    /// closing leaves the connection unusable.
    pub(crate) fn classify(&mut self, op: OpId, progress: Progress) -> Option<Result<Event>> {
        let event = classify(op, progress);
        if matches!(event, Some(Err(Error::Closed(_)))) {
            self.broken = true;
        }
        event
    }
}

/// The next step of `op` on `control`, each reply awaited at most `limit`; progress of other
/// operations (finished ones nobody waits for) is passed over.
async fn next_event<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut Control<S>,
    runtime: &dyn Runtime,
    limit: std::time::Duration,
    op: OpId,
) -> Result<Event> {
    loop {
        let next = poll_fn(|cx| control.poll_progress(cx));
        let progress = timeout(runtime, limit, next)
            .await
            .ok_or(Error::Timeout(Stage::Reply))??;
        if let Some(event) = classify(op, progress) {
            return event;
        }
    }
}

/// The TLS handshake of a control connection (explicit after `234`, or implicit), within
/// `limit`, with a connector of its own (its session cache serves the data connections).
async fn control_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    runtime: &dyn Runtime,
    limit: std::time::Duration,
    tls: &ClientTls,
    name: &ServerName<'static>,
    io: S,
) -> Result<(MaybeTls<S>, ftp_runtime::tls::futures_rustls::TlsConnector)> {
    let connector = tls.connector();
    let handshake = connector.connect(name.clone(), io);
    let stream = timeout(runtime, limit, handshake)
        .await
        .ok_or(Error::Timeout(Stage::TlsHandshake))?
        .map_err(Error::Tls)?;
    Ok((MaybeTls::Client(Box::new(stream)), connector))
}

/// What `progress` means for the awaited `op`; `None` when it concerns something else.
fn classify(op: OpId, progress: Progress) -> Option<Result<Event>> {
    match progress {
        Progress::Continuing { op: o, .. } if o == op => Some(Ok(Event::Continuing)),
        Progress::Done { op: o, reply } if o == op => Some(Ok(Event::Done(reply))),
        Progress::DataReady { op: o, target } if o == op => Some(Ok(Event::Data(target))),
        Progress::Started { op: o, reply } if o == op => Some(Ok(Event::Started(reply))),
        Progress::Failed { op: o, error } if o == op => Some(Err(Error::Server(error))),
        Progress::Closing(reply) => Some(Err(Error::Closed(Some(reply)))),
        // A stray reply, or the end of an operation nobody waits for any more.
        _ => None,
    }
}

/// A server's refusal settles a command as well as its success does.
fn tolerate_refusal(result: Result<Reply>) -> Result<()> {
    match result {
        Ok(_) | Err(Error::Server(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

pub(crate) fn arg(path: impl AsRef<[u8]>) -> Result<Arg<'static>> {
    Ok(Arg::new(Bytes::copy_from_slice(path.as_ref()))?)
}

/// The optional argument of `LIST`, `STAT` and the like: none for an empty path. Paths are
/// bytes, so a name that is not UTF-8 is sent as it is.
pub(crate) fn opt_arg(path: impl AsRef<[u8]>) -> Result<Option<Arg<'static>>> {
    let path = path.as_ref();
    if path.is_empty() {
        return Ok(None);
    }
    arg(path).map(Some)
}

pub(crate) fn list_args(path: impl AsRef<[u8]>) -> Result<ListArgs<'static>> {
    Ok(ListArgs {
        flags: None,
        path: opt_arg(path)?,
    })
}
