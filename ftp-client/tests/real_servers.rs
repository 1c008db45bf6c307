//! The client suite against real servers that the tests start on 127.0.0.1: pyftpdlib (pip)
//! and vsftpd (Debian). scripts/test.sh installs both; a missing one fails the test.

mod common;

use common::suite::{self, Quirks};
use common::{on_smol, on_tokio, pyftpdlib, pyftpdlib_tls, vsftpd, vsftpd_tls};
use ftp_client::DataMode;
use ftp_client::runtime::smol::SmolRuntime;
use ftp_client::runtime::tokio::TokioRuntime;

const ACTIVE: DataMode = DataMode::Active { bind: None };

const PYFTPDLIB: Quirks = Quirks {
    no_mlsx: false,
    no_mfmt: false,
    ascii_stored_raw: false,
};

// vsftpd has no MLSD/MLST and no MFMT, and stores ASCII uploads as received by default.
const VSFTPD: Quirks = Quirks {
    no_mlsx: true,
    no_mfmt: true,
    ascii_stored_raw: true,
};

#[test]
fn pyftpdlib_passive_tokio() {
    let peer = pyftpdlib();
    on_tokio(suite::run(
        TokioRuntime,
        &peer,
        DataMode::Passive,
        PYFTPDLIB,
    ));
}

#[test]
fn pyftpdlib_active_smol() {
    let peer = pyftpdlib();
    on_smol(suite::run(SmolRuntime::default(), &peer, ACTIVE, PYFTPDLIB));
}

#[test]
fn vsftpd_passive_smol() {
    let peer = vsftpd();
    on_smol(suite::run(
        SmolRuntime::default(),
        &peer,
        DataMode::Passive,
        VSFTPD,
    ));
}

#[test]
fn vsftpd_active_tokio() {
    let peer = vsftpd();
    on_tokio(suite::run(TokioRuntime, &peer, ACTIVE, VSFTPD));
}

/// FTPS against vsftpd with `require_ssl_reuse=YES`: every data connection must resume the
/// control connection's TLS session, or vsftpd refuses it.
#[test]
fn vsftpd_tls_reuse_required_passive_tokio() {
    let peer = vsftpd_tls();
    on_tokio(suite::run(TokioRuntime, &peer, DataMode::Passive, VSFTPD));
}

#[test]
fn vsftpd_tls_reuse_required_active_smol() {
    let peer = vsftpd_tls();
    on_smol(suite::run(SmolRuntime::default(), &peer, ACTIVE, VSFTPD));
}

/// FTPS against pyftpdlib's TLS_FTPHandler (TLS required for control and data).
#[test]
fn pyftpdlib_tls_passive_smol() {
    let peer = pyftpdlib_tls();
    on_smol(suite::run(
        SmolRuntime::default(),
        &peer,
        DataMode::Passive,
        PYFTPDLIB,
    ));
}

#[test]
fn pyftpdlib_tls_active_tokio() {
    let peer = pyftpdlib_tls();
    on_tokio(suite::run(TokioRuntime, &peer, ACTIVE, PYFTPDLIB));
}
