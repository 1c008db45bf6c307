//! The client suite against real servers that the tests start on 127.0.0.1: pyftpdlib (pip)
//! and vsftpd (Debian). scripts/test.sh installs both; a missing one fails the test.

mod common;

use common::suite::{self, Quirks};
use common::{
    on_smol, on_tokio, proftpd_tls, pureftpd_tls, pyftpdlib, pyftpdlib_tls, vsftpd, vsftpd_tls,
};
use ftp_client::DataMode;
use ftp_client::runtime::smol::SmolRuntime;
use ftp_client::runtime::tokio::TokioRuntime;

const ACTIVE: DataMode = DataMode::Active { bind: None };

const PYFTPDLIB: Quirks = Quirks {
    no_mlsx: false,
    no_mfmt: false,
    ascii_stored_raw: false,
};

const PROFTPD: Quirks = Quirks {
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

/// FTPS against ProFTPD's mod_tls, which by default refuses data connections that do not
/// resume the control connection's TLS session. Over TLS 1.2: ProFTPD sends a TLS 1.3 ticket
/// on a data connection only when it sends data on it, and rustls presents each TLS 1.3
/// ticket once, so a run of uploads would use up the control connection's two (see
/// `ClientTls::tls12_only`, and the TLS 1.3 test below).
fn proftpd_tls12() -> common::Peer {
    let mut peer = proftpd_tls();
    if let Some((tls, _)) = peer.tls.as_mut() {
        *tls = tls.clone().tls12_only().unwrap();
    }
    peer
}

#[test]
fn proftpd_tls12_passive_tokio() {
    let peer = proftpd_tls12();
    on_tokio(suite::run(TokioRuntime, &peer, DataMode::Passive, PROFTPD));
}

#[test]
fn proftpd_tls12_active_smol() {
    let peer = proftpd_tls12();
    on_smol(suite::run(SmolRuntime::default(), &peer, ACTIVE, PROFTPD));
}

/// ProFTPD over TLS 1.3 with reuse required: listings and downloads bring a new ticket each,
/// so any number of them resume; two uploads in a row take the control connection's tickets.
#[test]
fn proftpd_tls13_listings_downloads_and_uploads() {
    use futures_util::{AsyncReadExt, AsyncWriteExt};
    let peer = proftpd_tls();
    on_tokio(async move {
        let mut ftp = suite::connect(TokioRuntime, &peer, DataMode::Passive).await;
        let payload = common::data(500_000, 7);
        let mut w = ftp.stor("f.bin", 0).await.unwrap();
        w.write_all(&payload).await.unwrap();
        assert_eq!(w.finish().await.unwrap().code().as_u16(), 226);
        for _ in 0..12 {
            assert!(
                ftp.nlst("")
                    .await
                    .unwrap()
                    .iter()
                    .any(|n| n.as_ref() == b"f.bin")
            );
            let mut got = Vec::new();
            let mut r = ftp.retr("f.bin", 0).await.unwrap();
            r.read_to_end(&mut got).await.unwrap();
            assert!(got == payload);
        }
        let mut w = ftp.stor("g.bin", 0).await.unwrap();
        w.write_all(&payload).await.unwrap();
        assert_eq!(w.finish().await.unwrap().code().as_u16(), 226);
        assert!(std::fs::read(peer.root.join("g.bin")).unwrap() == payload);
        ftp.quit().await.unwrap();
    });
}

/// FTPS against Pure-FTPd with TLS required on the control connection: transfers both ways,
/// resumes, listings and directories, passive and active, both runtimes. Not the whole suite:
/// its aborts race with Pure-FTPd's replies to ABOR, which differ with timing (a second 150
/// as the end of the cut transfer, then one 226), an interop matter of its own, left for the
/// real-server issue (see the closing note).
async fn pureftpd_transfers(rt: impl ftp_client::runtime::Runtime, mode: DataMode) {
    use futures_util::{AsyncReadExt, AsyncWriteExt};
    let peer = pureftpd_tls();
    let mut ftp = suite::connect(rt, &peer, mode).await;
    assert!(ftp.is_secure() && ftp.is_data_protected());
    let big = common::data(3 << 20, 3);
    ftp.mkdir("w").await.unwrap();
    ftp.cwd("w").await.unwrap();
    for name in ["a.bin", "b.bin"] {
        let mut w = ftp.stor(name, 0).await.unwrap();
        for chunk in big.chunks(7919) {
            w.write_all(chunk).await.unwrap();
        }
        assert_eq!(w.finish().await.unwrap().code().as_u16(), 226);
        assert!(std::fs::read(peer.root.join("w").join(name)).unwrap() == big);
    }
    let mut got = Vec::new();
    ftp.retr("a.bin", 0)
        .await
        .unwrap()
        .read_to_end(&mut got)
        .await
        .unwrap();
    assert!(got == big);
    let mut tail = Vec::new();
    let mut r = ftp.retr("a.bin", 1_000_000).await.unwrap();
    r.read_to_end(&mut tail).await.unwrap();
    drop(r);
    assert!(tail == big[1_000_000..]);
    let mut w = ftp.appe("b.bin").await.unwrap();
    w.write_all(b"tail").await.unwrap();
    w.finish().await.unwrap();
    assert_eq!(ftp.size("b.bin").await.unwrap(), big.len() as u64 + 4);
    let names = ftp.nlst("").await.unwrap();
    assert!(names.iter().any(|n| n.as_ref() == b"a.bin"), "{names:?}");
    let entries = ftp.list("").await.unwrap();
    assert!(entries.iter().any(|e| e.name.as_ref() == b"b.bin"));
    ftp.delete("a.bin").await.unwrap();
    ftp.delete("b.bin").await.unwrap();
    ftp.cdup().await.unwrap();
    ftp.rmdir("w").await.unwrap();
    ftp.quit().await.unwrap();
}

#[test]
fn pureftpd_tls_passive_smol() {
    on_smol(pureftpd_transfers(
        SmolRuntime::default(),
        DataMode::Passive,
    ));
}

#[test]
fn pureftpd_tls_active_tokio() {
    on_tokio(pureftpd_transfers(TokioRuntime, ACTIVE));
}
