//! The object-store back-end behind a whole server, against a real S3-compatible server (moto,
//! started on 127.0.0.1 by the test): 1 GiB up and down with SHA-256, resumed and appended
//! uploads, a failed upload that leaves the old object, paged listings, and the replies for
//! names S3 cannot hold and for a store that went away.
//!
//! The FTP server runs on smol; the store's calls run on a tokio runtime of their own.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{Client, Rt, options, start, users};
use ftp_server::storage::object::ObjectStorage;
use ftp_test_support::s3::{self, S3Server};
use opendal::Operator;
use sha2::{Digest, Sha256};

/// A store runtime and the storage on a fresh prefix of `server`'s bucket.
fn object_storage(server: &S3Server) -> (tokio::runtime::Runtime, ObjectStorage) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let builder = opendal::services::S3::default()
        .endpoint(&server.endpoint())
        .bucket(s3::BUCKET)
        .region("us-east-1")
        .access_key_id(s3::ACCESS_KEY)
        .secret_access_key(s3::SECRET_KEY)
        .disable_config_load()
        .disable_ec2_metadata()
        .root(&s3::unique_prefix());
    let op = Operator::new(builder).unwrap();
    let storage = ObjectStorage::with_runtime(op, rt.handle().clone());
    (rt, storage)
}

/// Writes `count` one-byte objects `dir/page-NNNN.txt` straight to the store, 16 at a time.
fn fill(rt: &tokio::runtime::Runtime, op: &Operator, dir: &str, count: usize) {
    use futures_util::StreamExt;
    rt.block_on(
        futures_util::stream::iter(0..count)
            .map(|i| {
                let op = op.clone();
                let key = format!("{dir}/page-{i:04}.txt");
                async move { op.write(&key, b"x".to_vec()).await.unwrap() }
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>(),
    );
}

/// Chunk `i` of a test file: 1 MiB of a fixed pattern with its index in the first bytes, so
/// that a lost, repeated or misplaced chunk changes the checksum.
fn chunk(i: u64, pattern: &[u8]) -> Vec<u8> {
    let mut c = pattern.to_vec();
    c[..8].copy_from_slice(&i.to_le_bytes());
    c
}

#[test]
fn gigabyte_up_and_down_byte_for_byte() {
    const CHUNKS: u64 = 1024; // 1 GiB
    let s3 = s3::shared();
    let (_rt, storage) = object_storage(s3);
    let server = start(Rt::Smol, storage, users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    c.ctl
        .set_read_timeout(Some(Duration::from_secs(300)))
        .unwrap();
    assert_eq!(c.code("TYPE I"), 200);
    let pattern = ftp_test_support::data(1 << 20, 7);

    let mut data = c.passive();
    assert_eq!(c.code("STOR big.bin"), 150);
    let mut sent = Sha256::new();
    for i in 0..CHUNKS {
        let block = chunk(i, &pattern);
        sent.update(&block);
        data.write_all(&block).unwrap();
    }
    drop(data);
    assert_eq!(c.reply().code().as_u16(), 226);
    let r = c.cmd("SIZE big.bin");
    assert_eq!(r.to_string().trim(), format!("213 {}", CHUNKS << 20));

    let mut data = c.passive();
    data.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    assert_eq!(c.code("RETR big.bin"), 150);
    let (mut received, mut total, mut buf) = (Sha256::new(), 0u64, vec![0; 1 << 16]);
    loop {
        let n = data.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        received.update(&buf[..n]);
        total += n as u64;
    }
    assert_eq!(c.reply().code().as_u16(), 226);
    assert_eq!(total, CHUNKS << 20);
    assert_eq!(
        format!("{:x}", received.finalize()),
        format!("{:x}", sent.finalize())
    );

    // REST + RETR reads a range: the last chunk and a half.
    assert_eq!(c.code(&format!("REST {}", (CHUNKS << 20) - (3 << 19))), 350);
    let (tail, code) = c.retr("RETR big.bin");
    assert_eq!(code, 226);
    let mut expected = chunk(CHUNKS - 2, &pattern)[1 << 19..].to_vec();
    expected.extend(chunk(CHUNKS - 1, &pattern));
    assert!(tail == expected, "the range read differs");
    // The server's checksum of that range, read from the store as a download is.
    let first = (CHUNKS << 20) - (3 << 19);
    let last = (CHUNKS << 20) - 1;
    assert_eq!(c.code(&format!("RANG {first} {last}")), 350);
    let digest = format!("{:x}", Sha256::digest(&expected));
    assert_eq!(
        c.cmd("HASH big.bin").to_string(),
        format!("213 SHA-256 {first}-{last} {digest} big.bin")
    );
    let md5 = ftp_proto::checksum::digest(ftp_proto::checksum::HashAlgorithm::Md5, &expected);
    assert_eq!(
        c.cmd(&format!("XMD5 big.bin {first} {}", last + 1))
            .to_string(),
        format!("250 {}", md5.to_hex().to_ascii_uppercase())
    );
    assert_eq!(c.code("DELE big.bin"), 250);
}

#[test]
fn uploads_resume_append_and_fail_safely() {
    let s3 = s3::shared();
    let (_rt, storage) = object_storage(s3);
    let server = start(Rt::Smol, storage, users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.code("TYPE I"), 200);
    let pattern = ftp_test_support::data(1 << 20, 9);
    let whole: Vec<u8> = (0..12).flat_map(|i| chunk(i, &pattern)).collect();

    // An upload that arrived in part (12 MiB: more than one part of 8 MiB), resumed with
    // REST + STOR, then appended to with APPE.
    assert_eq!(c.stor("STOR f.bin", &whole[..5 << 20]), 226);
    let r = c.cmd("SIZE f.bin");
    assert_eq!(r.to_string().trim(), format!("213 {}", 5 << 20));
    assert_eq!(c.code(&format!("REST {}", 3 << 20)), 350);
    assert_eq!(c.stor("STOR f.bin", &whole[3 << 20..10 << 20]), 226);
    assert_eq!(c.stor("APPE f.bin", &whole[10 << 20..]), 226);
    let (got, code) = c.retr("RETR f.bin");
    assert_eq!((code, got.len()), (226, whole.len()));
    assert!(got == whole, "resumed and appended upload differs");

    // Replacing it, broken off by ABOR: the old object stays whole.
    let mut data = c.passive();
    assert_eq!(c.code("STOR f.bin"), 150);
    data.write_all(&pattern).unwrap();
    data.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    c.send(b"\xff\xf4\xff\xf2ABOR\r\n");
    let first = c.reply().code().as_u16();
    assert!(matches!(first, 426 | 451), "{first}");
    assert_eq!(c.reply().code().as_u16(), 226, "ABOR's answer");
    drop(data);
    let (got, code) = c.retr("RETR f.bin");
    assert_eq!(code, 226);
    assert!(got == whole, "a failed upload changed the object");

    // A restart offset past the end; names S3 cannot hold.
    assert_eq!(c.code(&format!("REST {}", whole.len() + 1)), 350);
    let mut data = c.passive();
    let code = c.code("STOR f.bin");
    drop(data.write_all(b"x"));
    assert!(matches!(code, 451 | 550 | 554), "{code}");
    assert_eq!(c.code("NOOP"), 200);
    // 0xff is IAC on the control connection: doubled.
    c.send(b"STOR raw-\xff\xff\r\n");
    let code = c.reply().code().as_u16();
    assert_eq!(code, 553, "a name that is not UTF-8");
}

#[test]
fn directories_are_prefixes_and_list_in_pages() {
    let s3 = s3::shared();
    let (rt, storage) = object_storage(s3);
    let op = storage.operator().clone();
    let server = start(Rt::Smol, storage, users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.code("MKD site"), 257);
    assert_eq!(c.code("CWD site"), 250);
    assert_eq!(c.code("CWD nowhere"), 550, "a prefix that holds nothing");
    // More than one page of the store's listing (1,000 keys) and of ours (256 entries).
    fill(&rt, &op, "site", 1099);
    assert_eq!(c.stor("STOR page-1099.txt", b"x"), 226);
    assert_eq!(c.code("MKD sub"), 257);
    let mut data = c.passive();
    assert_eq!(c.code("NLST"), 150);
    let mut names = String::new();
    data.read_to_string(&mut names).unwrap();
    assert_eq!(c.reply().code().as_u16(), 226);
    let names: Vec<&str> = names.lines().collect();
    assert_eq!(names.len(), 1101, "every object once, and the directory");
    assert!(names.contains(&"page-1099.txt") && names.contains(&"sub"));
    let (listing, code) = c.retr("MLSD");
    assert_eq!(code, 226);
    let listing = String::from_utf8(listing).unwrap();
    assert!(
        listing.contains("type=dir;") && listing.contains("size=1;"),
        "{}",
        &listing[..200]
    );
    assert_eq!(c.code("RMD ."), 550);
    assert_eq!(c.code("CWD /"), 250);
    assert_eq!(c.code("RMD site"), 550, "not empty");
    assert_eq!(c.code("RNFR site/page-0000.txt"), 350);
    assert_eq!(c.code("RNTO site/sub/moved.txt"), 250);
    let r = c.cmd("MDTM site/sub/moved.txt");
    assert_eq!(r.code().as_u16(), 213, "{r}");
    assert_eq!(c.code("SIZE site/page-0000.txt"), 550);
    assert_eq!(c.code("MFMT 20010203040506 site/sub/moved.txt"), 502);
}

#[test]
fn a_store_that_went_away_is_a_transient_failure() {
    let s3 = S3Server::start();
    let (_rt, storage) = object_storage(&s3);
    let server = start(Rt::Smol, storage, users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.stor("STOR f", b"hello"), 226);
    drop(s3);
    let code = c.code("SIZE f");
    assert_eq!(code, 451, "a transient back-end failure");
    let mut data = c.passive();
    let code = c.code("RETR f");
    drop(data.write_all(b""));
    assert_eq!(code, 451);
    assert_eq!(c.code("NOOP"), 200, "the session goes on");
}
