//! # ftp-server (not yet implemented)
//!
//! The async FTP server driver over `futures-io` streams, with its `Storage` and
//! `Authenticator` traits, will live here, built on [`ftp_proto::ServerConnection`]. Until it
//! lands this crate offers nothing but the protocol core it will drive, re-exported.

#![forbid(unsafe_code)]

pub use ftp_proto as proto;
