//! The client suite over FTPS against our own server: both runtimes, passive and active,
//! TLS 1.2 and 1.3, explicit and implicit, with and without the session-reuse requirement.
//! The certificates are made at test time and checked for real (the client trusts the
//! server's own certificate as its CA).

mod common;

use common::suite::{self, Quirks};
use common::{TlsServer, on_smol, on_tokio, our_tls_server};
use ftp_client::DataMode;
use ftp_client::runtime::smol::SmolRuntime;
use ftp_client::runtime::tokio::TokioRuntime;

const ACTIVE: DataMode = DataMode::Active { bind: None };

const fn tls(tls12: bool, require_reuse: bool, implicit: bool) -> TlsServer {
    TlsServer {
        tls12,
        require_reuse,
        implicit,
    }
}

#[test]
fn tokio_passive_tls13() {
    let peer = our_tls_server(tls(false, true, false));
    on_tokio(suite::run(
        TokioRuntime,
        &peer,
        DataMode::Passive,
        Quirks::default(),
    ));
}

#[test]
fn tokio_active_tls12() {
    let peer = our_tls_server(tls(true, true, false));
    on_tokio(suite::run(TokioRuntime, &peer, ACTIVE, Quirks::default()));
}

#[test]
fn smol_passive_tls12() {
    let peer = our_tls_server(tls(true, true, false));
    on_smol(suite::run(
        SmolRuntime::default(),
        &peer,
        DataMode::Passive,
        Quirks::default(),
    ));
}

#[test]
fn smol_active_tls13() {
    let peer = our_tls_server(tls(false, true, false));
    on_smol(suite::run(
        SmolRuntime::default(),
        &peer,
        ACTIVE,
        Quirks::default(),
    ));
}

#[test]
fn implicit_tls_both_runtimes() {
    let peer = our_tls_server(tls(false, true, true));
    on_tokio(suite::run(
        TokioRuntime,
        &peer,
        DataMode::Passive,
        Quirks::default(),
    ));
    let peer = our_tls_server(tls(true, true, true));
    on_smol(suite::run(
        SmolRuntime::default(),
        &peer,
        ACTIVE,
        Quirks::default(),
    ));
}

/// Without the reuse requirement the same client works too (it resumes anyway).
#[test]
fn without_the_reuse_requirement() {
    let peer = our_tls_server(tls(false, false, false));
    on_tokio(suite::run(
        TokioRuntime,
        &peer,
        DataMode::Passive,
        Quirks::default(),
    ));
}
