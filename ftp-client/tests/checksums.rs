//! `Client::hash` against servers that compute checksums: ours (HASH), ProFTPD's mod_digest
//! (HASH, with SHA-1 selected by default, so `OPTS HASH` is needed), and pyftpdlib extended in
//! the test with the legacy X-commands only, listed nowhere (the fallback). Every checksum is
//! compared with the local file's.

mod common;

use common::suite;
use common::{on_tokio, our_server, proftpd_tls, pyftpdlib_xcommands};
use ftp_client::DataMode;
use ftp_client::runtime::tokio::TokioRuntime;
use ftp_proto::checksum::{HashAlgorithm, digest};
use futures_util::AsyncWriteExt;

/// Uploads a file, then checks every algorithm `offered` against the local checksum.
async fn every_algorithm(peer: &common::Peer, offered: &[HashAlgorithm]) {
    let mut ftp = suite::connect(TokioRuntime, peer, DataMode::Passive).await;
    let data = common::data((1 << 20) + 4321, 5);
    let mut w = ftp.stor("sum me.bin", 0).await.unwrap();
    w.write_all(&data).await.unwrap();
    assert_eq!(w.finish().await.unwrap().code().as_u16(), 226);
    assert_eq!(
        ftp.checksum_algorithms().await.unwrap(),
        offered,
        "{}",
        peer.name
    );
    for alg in offered {
        let got = ftp.hash("sum me.bin", *alg).await;
        assert_eq!(got.unwrap(), digest(*alg, &data), "{} {alg}", peer.name);
    }
    // Back to the first: OPTS HASH again where HASH is used.
    let first = offered[0];
    assert_eq!(
        ftp.hash("sum me.bin", first).await.unwrap(),
        digest(first, &data)
    );
    let missing = ftp.hash("no such file", first).await.unwrap_err();
    assert!(missing.is_not_found(), "{}: {missing}", peer.name);
    ftp.quit().await.unwrap();
}

#[test]
fn our_server_offers_every_algorithm() {
    let peer = our_server();
    on_tokio(every_algorithm(&peer, &HashAlgorithm::ALL));
}

#[test]
fn proftpd_mod_digest() {
    let peer = proftpd_tls();
    on_tokio(every_algorithm(&peer, &HashAlgorithm::ALL));
}

/// A server with the X-commands but no HASH and nothing in FEAT: `hash` falls back to them,
/// and a command the server lacks is reported as unsupported.
#[test]
fn legacy_commands_when_hash_is_missing() {
    let peer = pyftpdlib_xcommands();
    on_tokio(async {
        let mut ftp = suite::connect(TokioRuntime, &peer, DataMode::Passive).await;
        let data = common::data(300_000, 9);
        std::fs::write(peer.root.join("f.bin"), &data).unwrap();
        assert_eq!(ftp.checksum_algorithms().await.unwrap(), []);
        for alg in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha1,
            HashAlgorithm::Md5,
            HashAlgorithm::Crc32,
        ] {
            assert_eq!(
                ftp.hash("f.bin", alg).await.unwrap(),
                digest(alg, &data),
                "{alg}"
            );
        }
        let e = ftp.hash("f.bin", HashAlgorithm::Sha512).await.unwrap_err();
        assert!(e.is_unsupported(), "{e}");
        assert_eq!(ftp.noop().await.unwrap().code().as_u16(), 200);
    });
}
