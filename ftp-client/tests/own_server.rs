//! The client suite against our own server, on both client runtimes, passive and active.

mod common;

use common::suite::{self, Quirks};
use common::{on_smol, on_tokio, our_server, our_server_on};
use ftp_client::DataMode;
use ftp_client::runtime::smol::SmolRuntime;
use ftp_client::runtime::tokio::TokioRuntime;

const ACTIVE: DataMode = DataMode::Active { bind: None };

#[test]
fn tokio_passive() {
    let peer = our_server();
    on_tokio(suite::run(
        TokioRuntime,
        &peer,
        DataMode::Passive,
        Quirks::default(),
    ));
}

#[test]
fn tokio_active() {
    let peer = our_server();
    on_tokio(suite::run(TokioRuntime, &peer, ACTIVE, Quirks::default()));
}

#[test]
fn smol_passive() {
    let peer = our_server();
    on_smol(suite::run(
        SmolRuntime::default(),
        &peer,
        DataMode::Passive,
        Quirks::default(),
    ));
}

#[test]
fn smol_active() {
    let peer = our_server();
    on_smol(suite::run(
        SmolRuntime::default(),
        &peer,
        ACTIVE,
        Quirks::default(),
    ));
}

/// IPv6 end to end: EPSV and EPRT `|2|` (PASV and PORT cannot carry IPv6 addresses).
#[test]
fn ipv6_passive_and_active() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        panic!("this machine has no IPv6 loopback ([::1]); the IPv6 tests need it");
    }
    let peer = our_server_on("[::1]:0".parse().unwrap());
    on_tokio(suite::run(
        TokioRuntime,
        &peer,
        DataMode::Passive,
        Quirks::default(),
    ));
    let peer = our_server_on("[::1]:0".parse().unwrap());
    on_smol(suite::run(
        SmolRuntime::default(),
        &peer,
        ACTIVE,
        Quirks::default(),
    ));
}
