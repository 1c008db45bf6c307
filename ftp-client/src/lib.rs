//! # ftp-client (not yet implemented)
//!
//! The async FTP client driver over `futures-io` streams will live here, built on
//! [`ftp_proto::ClientConnection`]. Until it lands this crate offers nothing but the protocol
//! core it will drive, re-exported for convenience.

#![forbid(unsafe_code)]

pub use ftp_proto as proto;
