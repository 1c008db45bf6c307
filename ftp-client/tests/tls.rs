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

/// Two clients made from one `ClientTls`, their sessions interleaved: each data connection
/// must offer its own control connection's session (a shared cache would hand a data
/// connection the other client's newer ticket, and the server refuses that).
#[test]
fn clients_sharing_one_client_tls_keep_their_sessions_apart() {
    use ftp_client::{Client, ClientOptions};
    let peer = our_tls_server(tls(false, true, false));
    let (tls, mode) = peer.tls.clone().unwrap();
    on_tokio(async move {
        let host = peer.addr.ip().to_string();
        let port = peer.addr.port();
        let connect = || {
            Client::connect_tls(
                TokioRuntime,
                &host,
                port,
                ClientOptions::default(),
                tls.clone(),
                mode,
            )
        };
        let mut a = connect().await.unwrap();
        a.login(&peer.user, &peer.password).await.unwrap();
        let mut b = connect().await.unwrap();
        b.login(&peer.user, &peer.password).await.unwrap();
        for i in 0..6 {
            let (first, second) = if i % 2 == 0 {
                (&mut a, &mut b)
            } else {
                (&mut b, &mut a)
            };
            first.nlst("").await.unwrap();
            second.nlst("").await.unwrap();
        }
        a.quit().await.unwrap();
        b.quit().await.unwrap();
    });
}
