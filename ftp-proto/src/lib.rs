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

mod access;
pub mod address;
mod arg;
mod ascii;
pub mod client;
mod command;
mod framing;
pub mod listing;
mod path;
mod reply;
pub mod server;
mod time;

pub use access::{PathUse, Permissions, UserAccess};
pub use arg::{Arg, InvalidArg, Secret};
pub use ascii::{AsciiDecoder, AsciiEncoder};
pub use client::{ClientConnection, ClientSession, DataTarget, OpId, Progress, ProtocolError};
pub use command::{
    Command, EpsvArg, FormatControl, ListArgs, Opts, ParseError, ParseErrorKind, ProtectionLevel,
    Structure, TransferMode, TransferType, Verb,
};
pub use framing::{DecodeError, LineDecoder};
pub use path::VirtualPath;
pub use reply::{
    InvalidReplyText, Reply, ReplyClass, ReplyCode, ReplyDecoder, ReplyDecoderConfig, ReplyError,
};
pub use server::{
    Action, ActionId, ConnectionInfo, Outcome, ServerConfig, ServerConnection, ServerSession,
};
pub use time::{InvalidTimestamp, Timestamp};
