//! # ftp-proto: the FTP protocol without I/O
//!
//! This crate knows FTP (RFC 959 and its extensions) and nothing else: no sockets, no async
//! runtime, no clock, no file system. Bytes go in, typed values and bytes come out; drivers such
//! as `ftp-server` and `ftp-client` move the bytes.
//!
//! ```text
//!  control bytes ─► LineDecoder ─► Command::parse ─► ServerSession ─► Reply::encode ─► bytes
//!                   (framing)      (grammar)          │        ▲
//!                                                     ▼        │
//!                                                   Action   Outcome      (the driver's I/O)
//! ```
//!
//! Three layers:
//! - **Framing**: [`LineDecoder`] cuts the control stream into lines (CRLF or bare LF, Telnet
//!   IAC removed, bounded length); [`ReplyDecoder`] assembles multi-line replies.
//! - **Grammar**: [`Command`] and [`Reply`] parse and encode every verb and reply form;
//!   [`address`] handles `PORT`/`EPRT`/`227`/`229`, [`listing`] handles `LIST` and MLSx, and
//!   [`VirtualPath`] keeps paths inside a root.
//! - **Machines**: [`ServerSession`] and [`ClientSession`] decide replies and commands;
//!   [`ServerConnection`] and [`ClientConnection`] add the framing for drivers.
//!
//! Driving a server session by hand: after every `handle_*`, drain `poll_reply` and
//! `poll_action` to `None`, then wait for input.
//!
//! ```
//! use ftp_proto::{Action, Command, ConnectionInfo, Outcome, Permissions, ServerConfig, ServerSession};
//!
//! let info = ConnectionInfo { local: "127.0.0.1:21".parse()?, peer: "127.0.0.1:50000".parse()? };
//! let mut session = ServerSession::new(ServerConfig::default(), info, std::time::Instant::now());
//! assert_eq!(session.poll_reply().unwrap().code().as_u16(), 220);
//!
//! session.handle_command(Command::parse("USER alice")?);
//! assert_eq!(session.poll_reply().unwrap().code().as_u16(), 331);
//!
//! session.handle_command(Command::parse("PASS secret")?);
//! // The machine never judges passwords: it asks the driver.
//! let Some(Action::Authenticate { id, user, .. }) = session.poll_action() else { unreachable!() };
//! assert_eq!(user.as_bytes(), b"alice");
//! session.handle_outcome(id, Outcome::LoggedIn(Permissions::READ_ONLY.into()))?;
//! assert_eq!(session.poll_reply().unwrap().code().as_u16(), 230);
//!
//! // Read-only users cannot delete; the machine answers without asking the driver.
//! session.handle_command(Command::parse("DELE notes.txt")?);
//! assert_eq!(session.poll_reply().unwrap().code().as_u16(), 550);
//! assert!(session.poll_action().is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Run loop
//!
//! Both machines are driven the same way (the contract of str0m's "Run loop", with the verbs of
//! quinn-proto):
//!
//! 1. **Feed** what arrived: [`ServerConnection::handle_input`] /
//!    [`ClientConnection::handle_input`], or an outcome with `handle_outcome`.
//! 2. **Drain** everything the machine has to say, to `None`: `poll_transmit` (write those
//!    bytes), `poll_action` (perform each action and feed its outcome back, which can queue
//!    more: drain again), `poll_progress` on the client.
//! 3. **Tell the time** at every wake-up with `handle_timeout(now)` (the server machine fires
//!    what is due and stamps later events with `now`), and **wait** for I/O, at most until
//!    `poll_timeout()`.
//!
//! Who owns time: the machine. It reads no clock; the driver reads one and passes it in, and
//! every duration (login deadline, idle timeout, failed-login delay, data-connection and stall
//! timeouts, replies nobody reads) is the machine's. When buffered input must be fed again:
//! while an action is in flight the server machine stops taking commands (`wants_read()` is
//! false) and leaves their bytes in the caller's buffer; feed that buffer again as soon as
//! `wants_read()` turns true, before reading more from the socket.
//!
//! A whole server on blocking `std::net` sockets, with no storage (every file command is
//! declined) and every login refused: the loop a driver runs, in full.
//!
//! ```no_run
//! use std::io::{ErrorKind, Read, Write};
//! use std::net::TcpStream;
//! use std::time::{Duration, Instant};
//!
//! use bytes::BytesMut;
//! use ftp_proto::server::FailureKind;
//! use ftp_proto::{Action, ConnectionInfo, Outcome, ServerConfig, ServerConnection};
//!
//! fn serve(mut control: TcpStream) -> std::io::Result<()> {
//!     let info = ConnectionInfo { local: control.local_addr()?, peer: control.peer_addr()? };
//!     let mut conn = ServerConnection::new(ServerConfig::default(), info, 4096, Instant::now());
//!     let (mut input, mut output) = (BytesMut::new(), BytesMut::new());
//!     let mut buf = [0u8; 1024];
//!     loop {
//!         // 3. The time, at every wake-up.
//!         conn.handle_timeout(Instant::now());
//!         // 2. Drain replies and actions until there are none.
//!         loop {
//!             if conn.poll_transmit(&mut output) {
//!                 control.write_all(&output)?;
//!                 conn.handle_write(output.len(), 0);
//!                 output.clear();
//!             }
//!             let Some(action) = conn.poll_action() else { break };
//!             let outcome = match &action {
//!                 Action::Close => return Ok(()),
//!                 Action::Authenticate { .. } => Outcome::LoginRejected,
//!                 _ => Outcome::Failed(FailureKind::Unsupported),
//!             };
//!             if let Some(id) = action.id() {
//!                 let _ = conn.handle_outcome(id, outcome);
//!             }
//!         }
//!         // Commands held while an action was in flight are fed before reading more.
//!         if conn.wants_read() && !input.is_empty() {
//!             let before = input.len();
//!             conn.handle_input(&mut input);
//!             if input.len() != before {
//!                 continue;
//!             }
//!         }
//!         // 4. Wait for input, at most until the machine's next deadline.
//!         let now = Instant::now();
//!         let wait = conn.poll_timeout().map(|t| t.saturating_duration_since(now));
//!         control.set_read_timeout(wait.map(|w| w.max(Duration::from_millis(1))))?;
//!         match control.read(&mut buf) {
//!             Ok(0) => conn.handle_eof(&mut input),
//!             // 1. Feed what arrived (stamped with the time it arrived).
//!             Ok(n) => {
//!                 conn.handle_timeout(Instant::now());
//!                 input.extend_from_slice(&buf[..n]);
//!                 conn.handle_input(&mut input);
//!             }
//!             Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
//!             Err(e) => return Err(e),
//!         }
//!     }
//! }
//! ```
//!
//! And a client that logs in and quits: commands are queued as operations, replies come back
//! as [`Progress`] for the operation they answer.
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//!
//! use bytes::BytesMut;
//! use ftp_proto::{Arg, ClientConnection, Command, Progress, Secret};
//!
//! fn login_and_quit(mut control: TcpStream) -> Result<(), Box<dyn std::error::Error>> {
//!     let mut conn = ClientConnection::default();
//!     let user = Arg::try_from("anonymous")?;
//!     let login = conn.session().login(user, Secret::new(Arg::try_from("guest@")?), None);
//!     let quit = conn.session().command(Command::Quit);
//!     let (mut input, mut output) = (BytesMut::new(), BytesMut::new());
//!     let mut buf = [0u8; 1024];
//!     loop {
//!         if conn.poll_transmit(&mut output) {
//!             control.write_all(&output)?;
//!             output.clear();
//!         }
//!         while let Some(progress) = conn.poll_progress() {
//!             match progress {
//!                 Progress::Done { op, .. } if op == quit => return Ok(()),
//!                 Progress::Done { op, reply } if op == login => println!("logged in: {reply}"),
//!                 Progress::Failed { error, .. } => return Err(error.into()),
//!                 _ => {}
//!             }
//!         }
//!         match control.read(&mut buf)? {
//!             0 => return Ok(conn.handle_eof(&mut input)?),
//!             n => {
//!                 input.extend_from_slice(&buf[..n]);
//!                 conn.handle_input(&mut input)?;
//!             }
//!         }
//!     }
//! }
//! ```
//!
//! What it does not do: TLS (a driver wraps the streams when [`Action::UpgradeTls`] asks),
//! reading the clock (a driver passes the time to [`ServerSession::handle_timeout`] and sleeps
//! until [`ServerSession::poll_timeout`]), and storage.

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

mod access;
pub mod address;
mod arg;
mod ascii;
pub mod checksum;
pub mod client;
mod command;
mod feat;
mod framing;
pub mod glob;
pub mod listing;
mod log_safe;
mod path;
pub mod rate;
mod reply;
pub mod server;
mod time;

pub use access::{PathUse, Permissions, UserAccess};
pub use arg::{Arg, InvalidArg, Secret};
pub use ascii::{AsciiDecoder, AsciiEncoder};
pub use client::{
    ClientConnection, ClientSession, DataSetup, DataTarget, OpId, PasvAddressPolicy, Progress,
    ProtocolError, TransferRequest,
};
pub use command::{
    Command, EpsvArg, FormatControl, ListArgs, Opts, ParseError, ParseErrorKind, ProtectionLevel,
    Structure, TransferMode, TransferType, Verb,
};
pub use feat::FeatureList;
pub use framing::{DecodeError, LineDecoder};
pub use log_safe::LogSafe;
pub use path::VirtualPath;
pub use reply::{
    InvalidReplyText, Reply, ReplyClass, ReplyCode, ReplyDecoder, ReplyDecoderConfig, ReplyError,
};
pub use server::{
    Action, ActionId, ConnectionInfo, Outcome, ServerConfig, ServerConnection, ServerSession,
};
pub use time::{InvalidTimestamp, Timestamp};
