//! The client suite against our own server, on both client runtimes, passive and active.

mod common;

use common::suite::{self, Quirks};
use common::{on_smol, on_tokio, our_server};
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
        SmolRuntime,
        &peer,
        DataMode::Passive,
        Quirks::default(),
    ));
}

#[test]
fn smol_active() {
    let peer = our_server();
    on_smol(suite::run(SmolRuntime, &peer, ACTIVE, Quirks::default()));
}
