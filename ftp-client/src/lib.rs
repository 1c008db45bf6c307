//! # ftp-client: an FTP client on any async runtime
//!
//! A thin driver of [`ftp_proto`]'s client machine over `futures-io` streams: login, the file
//! and directory commands, listings (parsed `LIST`, `MLSD`, `MLST`), and streaming transfers
//! that never hold a file in memory. Data connections are passive (`EPSV`, falling back to
//! `PASV` and remembering it) or active (`EPRT`/`PORT`), over IPv4 or IPv6. What the client
//! needs beyond the control stream (connections, listeners, timers) comes from a
//! [`Runtime`](runtime::Runtime): tokio and smol are built in behind the features `tokio` and
//! `smol`.
//!
//! ```no_run
//! # async fn run() -> ftp_client::Result<()> {
//! use ftp_client::runtime::tokio::TokioRuntime;
//! use ftp_client::{Client, ClientOptions};
//! use futures_util::{AsyncReadExt, AsyncWriteExt};
//!
//! let mut ftp = Client::connect(TokioRuntime, "ftp.example.org", 21, ClientOptions::default()).await?;
//! ftp.login("alice", "correct horse").await?;
//!
//! // Upload: write, then `finish` for the server's verdict.
//! let mut upload = ftp.stor("notes.txt", 0).await?;
//! upload.write_all(b"hello\n").await?;
//! upload.finish().await?;
//!
//! // Download: the read that returns 0 also checks the server's final reply.
//! let mut contents = Vec::new();
//! ftp.retr("notes.txt", 0).await?.read_to_end(&mut contents).await?;
//! assert_eq!(contents, b"hello\n");
//!
//! for entry in ftp.list("").await? {
//!     println!("{:?} {}", entry.kind, String::from_utf8_lossy(&entry.name));
//! }
//! ftp.quit().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Every wait is bounded ([`ClientOptions`]: connecting, each reply, each stall of a data
//! connection), and so is every buffer: replies by ftp-proto's decoder limits, listings by
//! [`ClientOptions::max_listing_bytes`], transfers by one buffer. The [`tree`] module has the
//! everyday jobs: mirror a directory tree up or down, resume an interrupted transfer.

#![forbid(unsafe_code)]

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

mod client;
mod control;
mod error;
pub mod mirror;
mod observer;
mod options;
pub mod tls;
mod transfer;
pub mod tree;

pub use client::{Client, DataStream, TlsMode};
pub use error::{Error, Result, Stage};
pub use ftp_proto as proto;
/// The runtime layer (the `ftp-runtime` crate): tokio and smol behind this crate's features
/// `tokio` and `smol`.
pub use ftp_runtime as runtime;
pub use options::{ClientOptions, DataMode};
pub use tls::ClientTls;
pub use transfer::{DataReader, DataWriter};
