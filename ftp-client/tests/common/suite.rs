//! The client suite: every API call against one server, with the results checked on the
//! server's disk. Run against our own server, pyftpdlib and vsftpd, on both runtimes, in
//! passive and active mode.

use ftp_client::proto::listing::{EntryKind, FactType};
use ftp_client::proto::{FormatControl, TransferType};
use ftp_client::runtime::Runtime;
use ftp_client::{Client, ClientOptions, DataMode, Error};
use futures_util::{AsyncReadExt, AsyncWriteExt};

use super::{Peer, data, sha256};

/// What a server cannot do, so the suite skips only that part (each says why).
#[derive(Clone, Copy, Debug, Default)]
pub struct Quirks {
    /// vsftpd does not implement MLSD/MLST.
    pub no_mlsx: bool,
    /// vsftpd's anonymous users cannot set times; pyftpdlib has no MFMT.
    pub no_mfmt: bool,
    /// vsftpd stores ASCII-mode uploads as received unless `ascii_upload_enable` is set.
    pub ascii_stored_raw: bool,
}

pub async fn connect(rt: impl Runtime, peer: &Peer, mode: DataMode) -> Client {
    let mut options = ClientOptions::default();
    options.data_mode = mode;
    options.reply_timeout = std::time::Duration::from_secs(20);
    options.data_timeout = std::time::Duration::from_secs(20);
    let mut ftp = match &peer.tls {
        Some((tls, mode)) => {
            let host = peer.addr.ip().to_string();
            let port = peer.addr.port();
            let ftp = Client::connect_tls(rt, &host, port, options, tls.clone(), *mode).await;
            let ftp = ftp.unwrap_or_else(|e| panic!("connect to {}: {e}", peer.name));
            assert!(ftp.is_secure() && ftp.is_data_protected(), "{}", peer.name);
            ftp
        }
        None => Client::connect_addr(rt, peer.addr, options)
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", peer.name)),
    };
    assert_eq!(ftp.greeting().code().as_u16(), 220);
    let reply = ftp.login(&peer.user, &peer.password).await.unwrap();
    assert_eq!(reply.code().as_u16(), 230, "{}", peer.name);
    if !peer.base.is_empty() {
        ftp.cwd(&peer.base).await.unwrap();
    }
    ftp
}

async fn upload(ftp: &mut Client, path: &str, offset: u64, bytes: &[u8]) {
    let mut w = ftp.stor(path, offset).await.unwrap();
    // Uneven writes, so that chunking cannot hide an off-by-one.
    for chunk in bytes.chunks(7919) {
        w.write_all(chunk).await.unwrap();
    }
    let reply = w.finish().await.unwrap();
    assert_eq!(reply.code().as_u16(), 226, "STOR {path}: {reply}");
}

async fn download(ftp: &mut Client, path: &str, offset: u64) -> Vec<u8> {
    let mut r = ftp.retr(path, offset).await.unwrap();
    let mut out = Vec::new();
    r.read_to_end(&mut out).await.unwrap();
    assert_eq!(r.final_reply().map(|r| r.code().as_u16()), Some(226));
    out
}

/// Everything, in one session (and a second one for the tree helpers).
pub async fn run(rt: impl Runtime + Clone, peer: &Peer, mode: DataMode, quirks: Quirks) {
    let mut ftp = connect(rt.clone(), peer, mode).await;
    let disk = &peer.root;
    let work = format!("w-{}", std::process::id());

    // Directories.
    let features = ftp.features().await.unwrap();
    assert!(
        features.supports("SIZE") && features.supports("MDTM"),
        "{features:?}"
    );
    assert!(ftp.system().await.unwrap().text().contains("UNIX"));
    let home = ftp.pwd().await.unwrap();
    ftp.mkdir(&work).await.unwrap();
    assert!(disk.join(&work).is_dir());
    ftp.cwd(&work).await.unwrap();
    let inside = ftp.pwd().await.unwrap();
    assert!(inside.ends_with(work.as_bytes()), "{inside:?}");
    ftp.cdup().await.unwrap();
    assert_eq!(ftp.pwd().await.unwrap(), home);
    ftp.cwd(&work).await.unwrap();
    ftp.noop().await.unwrap();

    // Binary transfers, checked by hash on the server's disk and back.
    let big = data(3 << 20, 1);
    upload(&mut ftp, "big.bin", 0, &big).await;
    assert_eq!(
        sha256(&std::fs::read(disk.join(&work).join("big.bin")).unwrap()),
        sha256(&big)
    );
    assert_eq!(ftp.size("big.bin").await.unwrap(), big.len() as u64);
    assert_eq!(
        sha256(&download(&mut ftp, "big.bin", 0).await),
        sha256(&big)
    );
    let mtime = ftp.mdtm("big.bin").await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((mtime.unix_seconds() - now).abs() < 600, "MDTM {mtime:?}");

    // Resume: a download from an offset, an upload continued with REST + STOR, APPE.
    assert_eq!(
        download(&mut ftp, "big.bin", 1_000_000).await,
        big[1_000_000..]
    );
    let half = big.len() / 2;
    upload(&mut ftp, "resumed.bin", 0, &big[..half]).await;
    upload(&mut ftp, "resumed.bin", half as u64, &big[half..]).await;
    assert_eq!(
        std::fs::read(disk.join(&work).join("resumed.bin")).unwrap(),
        big
    );
    let mut w = ftp.appe("resumed.bin").await.unwrap();
    w.write_all(b"tail").await.unwrap();
    w.finish().await.unwrap();
    assert_eq!(ftp.size("resumed.bin").await.unwrap(), big.len() as u64 + 4);

    // ASCII mode: LF locally, CRLF on the wire, both ways.
    ftp.set_type(TransferType::Ascii(FormatControl::NonPrint))
        .await
        .unwrap();
    upload(&mut ftp, "text.txt", 0, b"one\ntwo\n\nthree").await;
    // The client sent CRLF: a server that stores ASCII uploads as received keeps it, the
    // others convert back to their local LF.
    let stored = std::fs::read(disk.join(&work).join("text.txt")).unwrap();
    if quirks.ascii_stored_raw {
        assert_eq!(stored, b"one\r\ntwo\r\n\r\nthree");
    } else {
        assert_eq!(stored, b"one\ntwo\n\nthree");
    }
    assert_eq!(
        download(&mut ftp, "text.txt", 0).await,
        b"one\ntwo\n\nthree"
    );
    ftp.set_type(TransferType::Image).await.unwrap();
    std::fs::write(disk.join(&work).join("crlf.txt"), b"a\r\nb\r\n").unwrap();
    assert_eq!(download(&mut ftp, "crlf.txt", 0).await, b"a\r\nb\r\n");
    ftp.set_type(TransferType::Ascii(FormatControl::NonPrint))
        .await
        .unwrap();
    assert_eq!(download(&mut ftp, "crlf.txt", 0).await, b"a\nb\n");
    ftp.set_type(TransferType::Image).await.unwrap();

    // Listings: raw, parsed, names, and machine-readable.
    std::fs::create_dir(disk.join(&work).join("sub dir")).unwrap();
    let lines = ftp.list_lines("").await.unwrap();
    assert!(lines.iter().any(|l| l.ends_with(b"big.bin")), "{lines:?}");
    let entries = ftp.list("").await.unwrap();
    let big_entry = entries
        .iter()
        .find(|e| e.name.as_ref() == b"big.bin")
        .unwrap();
    assert_eq!(
        (big_entry.kind, big_entry.size),
        (EntryKind::File, Some(big.len() as u64))
    );
    let sub = entries
        .iter()
        .find(|e| e.name.as_ref() == b"sub dir")
        .unwrap();
    assert_eq!(sub.kind, EntryKind::Directory);
    let mut names = ftp.nlst("").await.unwrap();
    names.sort();
    let names: Vec<&[u8]> = names.iter().map(|n| n.as_ref()).collect();
    for expected in [&b"big.bin"[..], b"crlf.txt", b"resumed.bin", b"text.txt"] {
        assert!(names.iter().any(|n| n.ends_with(expected)), "{names:?}");
    }
    if !quirks.no_mlsx {
        let entries = ftp.mlsd("").await.unwrap();
        let e = entries
            .iter()
            .find(|e| e.name.as_ref() == b"big.bin")
            .unwrap();
        assert_eq!(e.facts.kind, Some(FactType::File));
        assert_eq!(e.facts.size, Some(big.len() as u64));
        assert_eq!(
            e.facts.modify.map(|t| t.unix_seconds()),
            Some(mtime.unix_seconds())
        );
        let d = entries
            .iter()
            .find(|e| e.name.as_ref() == b"sub dir")
            .unwrap();
        assert_eq!(d.facts.kind, Some(FactType::Dir));
        let one = ftp.mlst("big.bin").await.unwrap();
        assert_eq!(one.facts.size, Some(big.len() as u64));
        assert!(one.name.ends_with(b"big.bin"));
    }
    if !quirks.no_mfmt {
        let t = ftp_client::proto::Timestamp::new(2001, 2, 3, 4, 5, 6).unwrap();
        ftp.set_mtime("text.txt", t).await.unwrap();
        assert_eq!(ftp.mdtm("text.txt").await.unwrap(), t);
    }

    // Rename, delete, rmdir; errors carry the server's code.
    ftp.rename("text.txt", "renamed.txt").await.unwrap();
    assert!(disk.join(&work).join("renamed.txt").is_file());
    assert!(!disk.join(&work).join("text.txt").exists());
    ftp.delete("renamed.txt").await.unwrap();
    assert!(!disk.join(&work).join("renamed.txt").exists());
    ftp.rmdir("sub dir").await.unwrap();
    assert!(!disk.join(&work).join("sub dir").exists());
    let e = ftp.size("missing.bin").await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    let Err(e) = ftp.retr("missing.bin", 0).await else {
        panic!("RETR of a missing file succeeded")
    };
    assert_eq!(e.code(), Some(550), "{e}");
    assert!(matches!(e, Error::Server(_)));
    let e = ftp.rmdir("no-such-dir").await.unwrap_err();
    assert_eq!(e.code(), Some(550));
    // The connection stays usable after refusals.
    ftp.noop().await.unwrap();
    // A raw command, the server's status, and STOU (the server names the file).
    let reply = ftp.command("NOOP").await.unwrap();
    assert_eq!(reply.code().as_u16(), 200);
    let status = ftp.status("").await.unwrap();
    assert!((211..=213).contains(&status.code().as_u16()), "{status}");
    let mut w = ftp.stou().await.unwrap();
    let named = w.preliminary().map(|r| r.text()).unwrap_or_default();
    w.write_all(b"unique").await.unwrap();
    assert_eq!(w.finish().await.unwrap().code().as_u16(), 226);
    let stored: Vec<_> = std::fs::read_dir(disk.join(&work))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| std::fs::read(p).is_ok_and(|c| c == b"unique"))
        .collect();
    assert_eq!(stored.len(), 1, "one file holds the STOU upload");
    let name = stored[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        named.contains(&name),
        "the 150 reply {named:?} names {name}"
    );
    ftp.delete(&name).await.unwrap();

    // A download cut short: aborted explicitly, then dropped; the next command still gets its
    // own reply each time.
    let mut r = ftp.retr("big.bin", 0).await.unwrap();
    let mut first = vec![0u8; 1000];
    r.read_exact(&mut first).await.unwrap();
    assert_eq!(first, big[..1000]);
    r.abort().await.unwrap();
    assert_eq!(ftp.size("big.bin").await.unwrap(), big.len() as u64);
    let mut r = ftp.retr("big.bin", 0).await.unwrap();
    r.read_exact(&mut first).await.unwrap();
    drop(r);
    assert_eq!(ftp.pwd().await.unwrap(), inside);
    assert_eq!(
        sha256(&download(&mut ftp, "big.bin", 0).await),
        sha256(&big)
    );

    // The tree helpers and resume helpers, through the local disk.
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("site");
    std::fs::create_dir_all(src.join("css/deep")).unwrap();
    std::fs::write(src.join("index.html"), b"<h1>hi</h1>\n").unwrap();
    std::fs::write(src.join("css/site.css"), data(70_000, 2)).unwrap();
    std::fs::write(src.join("css/deep/a b é.txt"), b"spaces and utf-8\n").unwrap();
    let stats = ftp.upload_tree(&src, "site/www").await.unwrap();
    assert_eq!((stats.files, stats.dirs), (3, 3));
    let on_server = disk.join(&work).join("site/www");
    assert_eq!(
        std::fs::read(on_server.join("css/site.css")).unwrap(),
        data(70_000, 2)
    );
    assert!(on_server.join("css/deep/a b é.txt").is_file());
    // Again over the existing tree: directories are found, files replaced.
    ftp.upload_tree(&src, "site/www").await.unwrap();
    let back = local.path().join("back");
    let stats = ftp.download_tree("site/www", &back).await.unwrap();
    assert_eq!(stats.files, 3);
    for f in ["index.html", "css/site.css", "css/deep/a b é.txt"] {
        assert_eq!(
            std::fs::read(back.join(f)).unwrap(),
            std::fs::read(src.join(f)).unwrap()
        );
    }
    // Resume a download from a truncated local copy, and an upload from a truncated remote.
    let partial = local.path().join("big.part");
    std::fs::write(&partial, &big[..12345]).unwrap();
    let done = ftp.resume_download("big.bin", &partial).await.unwrap();
    assert_eq!(
        (done.skipped, done.transferred),
        (12345, (big.len() - 12345) as u64)
    );
    assert_eq!(sha256(&std::fs::read(&partial).unwrap()), sha256(&big));
    let again = ftp.resume_download("big.bin", &partial).await.unwrap();
    assert_eq!(again.transferred, 0);
    upload(&mut ftp, "up.bin", 0, &big[..777]).await;
    let full = local.path().join("big.full");
    std::fs::write(&full, &big).unwrap();
    let done = ftp.resume_upload(&full, "up.bin").await.unwrap();
    assert_eq!(done.skipped, 777);
    assert_eq!(
        sha256(&std::fs::read(disk.join(&work).join("up.bin")).unwrap()),
        sha256(&big)
    );

    let bye = ftp.quit().await.unwrap();
    assert_eq!(bye.code().as_u16(), 221);
}
