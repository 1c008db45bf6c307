//! # ftp-server: an FTP server on any async runtime
//!
//! A thin driver of [`ftp_proto`]'s server machine over `futures-io` streams. Files come from a
//! [`Storage`](storage::Storage) back-end, users from an [`Authenticator`](auth::Authenticator),
//! and what the protocol needs beyond the control stream (listeners, outgoing connections,
//! timers) from a [`Runtime`](runtime::Runtime): tokio and smol are built in behind the features
//! `tokio` and `smol`.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use ftp_server::auth::{AnonymousPolicy, UserTable};
//! use ftp_server::runtime::tokio::{TokioListener, TokioRuntime};
//! use ftp_server::storage::fs::FsStorage;
//! use ftp_server::proto::{Permissions, VirtualPath};
//! use ftp_server::{ServerOptions, Server};
//!
//! let users = UserTable::new()
//!     .with_user("alice", b"correct horse", VirtualPath::root(), Permissions::ALL)
//!     .with_anonymous(AnonymousPolicy::ReadOnly, VirtualPath::root());
//! let options = ServerOptions::default().passive_ports(50000..=50100);
//! let server = Server::new(TokioRuntime, FsStorage::new("/srv/ftp")?, users, options);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:2121").await?;
//! server.serve(TokioListener::new(listener)).await
//! # }
//! ```
//!
//! Transfers stream through one fixed-size buffer per transfer; a file is never held in memory.
//!
//! ## FTPS
//!
//! With a certificate ([`TlsConfig`]) the server speaks FTP over TLS (RFC 4217): `AUTH TLS` on
//! every listener, implicit TLS on those given to [`Server::serve_implicit_tls`]. Password
//! logins then need TLS unless [`ServerOptions::control_tls`] says otherwise, and protected data
//! connections must resume their control connection's TLS session (see the [`tls`] module):
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use ftp_server::auth::UserTable;
//! use ftp_server::proto::server::DataTls;
//! use ftp_server::proto::{Permissions, VirtualPath};
//! use ftp_server::runtime::tokio::{TokioListener, TokioRuntime};
//! use ftp_server::storage::fs::FsStorage;
//! use ftp_server::{Server, ServerOptions, TlsConfig};
//!
//! let users = UserTable::new()
//!     .with_user("alice", b"correct horse", VirtualPath::root(), Permissions::ALL);
//! let tls = TlsConfig::from_pem_files("fullchain.pem", "privkey.pem")?;
//! let options = ServerOptions::default().tls(tls).data_tls(DataTls::Required);
//! let server = Server::new(TokioRuntime, FsStorage::new("/srv/ftp")?, users, options);
//! let explicit = tokio::net::TcpListener::bind("0.0.0.0:21").await?;
//! let implicit = tokio::net::TcpListener::bind("0.0.0.0:990").await?;
//! let (a, b) = tokio::join!(
//!     server.serve(TokioListener::new(explicit)),
//!     server.serve_implicit_tls(TokioListener::new(implicit)),
//! );
//! a.and(b)
//! # }
//! ```
//!
//! ## Scale-out
//!
//! With the feature `s3` (or `opendal` for OpenDAL's other services, enabled in your own
//! `opendal` dependency), `storage::object::ObjectStorage` serves an object store, so several
//! instances can serve one bucket; [`ServerOptions::proxy_protocol`] takes the client's
//! address from the PROXY header of a trusted load balancer, on control and passive data
//! connections:
//!
//! ```no_run
//! # #[cfg(all(feature = "s3", feature = "tokio"))]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use ftp_server::auth::UserTable;
//! use ftp_server::runtime::tokio::{TokioListener, TokioRuntime};
//! use ftp_server::storage::object::ObjectStorage;
//! use ftp_server::{Server, ServerOptions};
//!
//! let storage = ObjectStorage::s3("files", "ftp", None)?;
//! let options = ServerOptions::default()
//!     .proxy_protocol(["10.0.0.0/8".parse()?])
//!     .masquerade_address("203.0.113.10".parse()?)
//!     .passive_ports(30000..=30009);
//! let server = Server::new(TokioRuntime, storage, UserTable::new(), options);
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:2121").await?;
//! server.serve(TokioListener::new(listener)).await?;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub mod auth;
mod checksum;
mod options;
mod proxy;
mod server;
mod session;
mod shared;
pub mod storage;
pub mod tls;
mod transfer;

/// The protocol crate the server drives; its types appear in this crate's API
/// ([`VirtualPath`](ftp_proto::VirtualPath) paths, [`Metadata`](ftp_proto::listing::Metadata)).
pub use ftp_proto as proto;
/// The runtime layer (the `ftp-runtime` crate): tokio and smol behind this crate's features
/// `tokio` and `smol`.
pub use ftp_runtime as runtime;
pub use options::{RateLimits, ServerOptions};
pub use proxy::{InvalidProxyNet, TrustedProxy};
pub use server::{Server, ShutdownHandle};
pub use tls::TlsConfig;

// The README's examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
