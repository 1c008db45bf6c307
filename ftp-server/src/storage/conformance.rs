//! One behavioural test suite for every [`Storage`] back-end: each case is a generic async
//! function, and [`conformance_tests!`] turns them all into `#[test]`s for one back-end.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use ftp_proto::{Permissions, VirtualPath};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

use ftp_proto::listing::{DirEntry, FileKind};
use ftp_proto::server::{FailureKind, WriteMode};

use super::{DirLister, Storage, StorageError};
use crate::auth::Principal;

/// Expands to a `conformance` test module running every case against the back-end that the
/// named function (in the calling module, returning `(guard, storage)`) makes.
macro_rules! conformance_tests {
    ($make:ident) => {
        $crate::storage::conformance::conformance_tests!(@cases $make;
            round_trip, read_at_offset, append, write_at, create_new, mkdir_and_list, list_pages,
            rmdir, delete, rename, wrong_kinds, set_modified, large_streaming, odd_names,
            root_protected);
    };
    // An object store: no MFMT, and keys are UTF-8.
    ($make:ident; objects) => {
        $crate::storage::conformance::conformance_tests!(@cases $make;
            round_trip, read_at_offset, append, write_at, create_new, mkdir_and_list, list_pages,
            rmdir, delete, rename, wrong_kinds, set_modified_declined, large_streaming,
            odd_utf8_names, raw_names_refused, root_protected);
    };
    (@cases $make:ident; $($case:ident),*) => {
        mod suite {
            $(
                #[test]
                fn $case() {
                    let (_guard, storage) = super::$make();
                    futures_lite::future::block_on($crate::storage::conformance::$case(&storage));
                }
            )*
        }
    };
}
pub(crate) use conformance_tests;

/// The user every test acts as (back-ends here ignore it).
pub(crate) fn user() -> Principal {
    Principal::new("test", VirtualPath::root(), Permissions::ALL)
}

/// A path from the root.
pub(crate) fn p(path: impl AsRef<[u8]>) -> VirtualPath {
    VirtualPath::root().resolve(path.as_ref())
}

/// The kind of the error `result` must be.
#[track_caller]
pub(crate) fn kind<T>(result: Result<T, StorageError>) -> FailureKind {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.kind(),
    }
}

/// Opens, writes `data` and closes, as an upload does.
pub(crate) async fn write_all<S: Storage>(
    s: &S,
    path: impl AsRef<[u8]>,
    mode: WriteMode,
    data: &[u8],
) -> Result<(), StorageError> {
    let mut writer = s.open_write(&user(), &p(path), mode).await?;
    writer.write_all(data).await?;
    writer.close().await?;
    Ok(())
}

/// The contents of a file from `offset`.
pub(crate) async fn read_all<S: Storage>(s: &S, path: impl AsRef<[u8]>, offset: u64) -> Vec<u8> {
    let mut reader = s.open_read(&user(), &p(path), offset).await.unwrap();
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await.unwrap();
    out
}

/// Every page of a listing.
pub(crate) async fn collect(mut lister: impl DirLister) -> Vec<DirEntry> {
    let mut out = Vec::new();
    loop {
        let page = lister.next_page().await.unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// A listing sorted by name (file systems list in any order).
async fn sorted<S: Storage>(s: &S, path: &str) -> Vec<DirEntry> {
    let mut entries = collect(s.list(&user(), &p(path)).await.unwrap()).await;
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
}

pub(crate) async fn round_trip<S: Storage>(s: &S) {
    write_all(s, "f", WriteMode::Truncate, b"hello world")
        .await
        .unwrap();
    assert_eq!(read_all(s, "f", 0).await, b"hello world");
    write_all(s, "f", WriteMode::Truncate, b"hi").await.unwrap();
    assert_eq!(read_all(s, "f", 0).await, b"hi");
    let md = s.metadata(&user(), &p("f")).await.unwrap();
    assert_eq!((md.kind, md.size), (FileKind::File, 2));
    assert!(md.modified.is_some());
}

pub(crate) async fn read_at_offset<S: Storage>(s: &S) {
    write_all(s, "f", WriteMode::Truncate, b"0123456789")
        .await
        .unwrap();
    assert_eq!(read_all(s, "f", 4).await, b"456789");
    assert_eq!(read_all(s, "f", 10).await, b"");
    assert_eq!(read_all(s, "f", 100).await, b"");
}

pub(crate) async fn append<S: Storage>(s: &S) {
    write_all(s, "f", WriteMode::Append, b"ab").await.unwrap();
    write_all(s, "f", WriteMode::Append, b"cd").await.unwrap();
    assert_eq!(read_all(s, "f", 0).await, b"abcd");
}

pub(crate) async fn write_at<S: Storage>(s: &S) {
    write_all(s, "f", WriteMode::Truncate, b"0123456789")
        .await
        .unwrap();
    write_all(s, "f", WriteMode::At(4), b"xy").await.unwrap();
    assert_eq!(read_all(s, "f", 0).await, b"0123xy");
    write_all(s, "f", WriteMode::At(6), b"z").await.unwrap();
    assert_eq!(read_all(s, "f", 0).await, b"0123xyz");
    assert_eq!(
        kind(write_all(s, "f", WriteMode::At(8), b"!").await),
        FailureKind::LocalError
    );
    assert_eq!(read_all(s, "f", 0).await, b"0123xyz");
    write_all(s, "new", WriteMode::At(0), b"n").await.unwrap();
    assert_eq!(read_all(s, "new", 0).await, b"n");
    assert_eq!(
        kind(write_all(s, "missing", WriteMode::At(3), b"!").await),
        FailureKind::NotFound
    );
}

pub(crate) async fn create_new<S: Storage>(s: &S) {
    write_all(s, "f", WriteMode::Truncate, b"old")
        .await
        .unwrap();
    assert_eq!(
        kind(write_all(s, "f", WriteMode::CreateNew, b"new").await),
        FailureKind::AlreadyExists
    );
    assert_eq!(read_all(s, "f", 0).await, b"old");
    write_all(s, "g", WriteMode::CreateNew, b"new")
        .await
        .unwrap();
    assert_eq!(read_all(s, "g", 0).await, b"new");
    s.mkdir(&user(), &p("d")).await.unwrap();
    assert_eq!(
        kind(write_all(s, "d", WriteMode::CreateNew, b"").await),
        FailureKind::AlreadyExists
    );
}

pub(crate) async fn mkdir_and_list<S: Storage>(s: &S) {
    let u = user();
    s.mkdir(&u, &p("d")).await.unwrap();
    write_all(s, "d/b", WriteMode::Truncate, b"bbb")
        .await
        .unwrap();
    write_all(s, "d/a", WriteMode::Truncate, b"a")
        .await
        .unwrap();
    s.mkdir(&u, &p("d/c")).await.unwrap();
    let facts: Vec<_> = sorted(s, "d")
        .await
        .into_iter()
        .map(|e| {
            (
                e.name,
                e.metadata.kind,
                (e.metadata.kind == FileKind::File).then_some(e.metadata.size),
            )
        })
        .collect();
    assert_eq!(
        facts,
        [
            (Bytes::from("a"), FileKind::File, Some(1)),
            (Bytes::from("b"), FileKind::File, Some(3)),
            (Bytes::from("c"), FileKind::Directory, None)
        ]
    );
    assert!(sorted(s, "d/c").await.is_empty());
    assert!(s.metadata(&u, &p("d")).await.unwrap().is_dir());
    assert_eq!(kind(s.mkdir(&u, &p("d")).await), FailureKind::AlreadyExists);
    assert_eq!(kind(s.mkdir(&u, &p("x/y")).await), FailureKind::NotFound);
}

pub(crate) async fn list_pages<S: Storage>(s: &S) {
    s.mkdir(&user(), &p("many")).await.unwrap();
    for i in 0..600 {
        write_all(s, format!("many/f{i:03}"), WriteMode::Truncate, b"")
            .await
            .unwrap();
    }
    let mut lister = s.list(&user(), &p("many")).await.unwrap();
    let (mut names, mut total, mut pages) = (HashSet::new(), 0, 0);
    loop {
        let page = lister.next_page().await.unwrap();
        if page.is_empty() {
            break;
        }
        pages += 1;
        total += page.len();
        names.extend(page.into_iter().map(|e| e.name));
    }
    assert_eq!((total, names.len()), (600, 600));
    assert!(
        pages > 1,
        "a 600-entry directory comes in more than one page"
    );
    assert!(
        lister.next_page().await.unwrap().is_empty(),
        "the end stays the end"
    );
}

pub(crate) async fn rmdir<S: Storage>(s: &S) {
    let u = user();
    s.mkdir(&u, &p("d")).await.unwrap();
    write_all(s, "d/f", WriteMode::Truncate, b"").await.unwrap();
    assert_eq!(kind(s.rmdir(&u, &p("d")).await), FailureKind::NotEmpty);
    assert_eq!(
        kind(s.rmdir(&u, &p("d/f")).await),
        FailureKind::NotADirectory
    );
    assert_eq!(kind(s.rmdir(&u, &p("nope")).await), FailureKind::NotFound);
    s.delete(&u, &p("d/f")).await.unwrap();
    s.rmdir(&u, &p("d")).await.unwrap();
    assert_eq!(kind(s.metadata(&u, &p("d")).await), FailureKind::NotFound);
}

pub(crate) async fn delete<S: Storage>(s: &S) {
    let u = user();
    s.mkdir(&u, &p("d")).await.unwrap();
    assert_eq!(kind(s.delete(&u, &p("d")).await), FailureKind::NotAFile);
    write_all(s, "f", WriteMode::Truncate, b"x").await.unwrap();
    s.delete(&u, &p("f")).await.unwrap();
    assert_eq!(kind(s.metadata(&u, &p("f")).await), FailureKind::NotFound);
    assert_eq!(kind(s.delete(&u, &p("f")).await), FailureKind::NotFound);
}

pub(crate) async fn rename<S: Storage>(s: &S) {
    let u = user();
    write_all(s, "a", WriteMode::Truncate, b"x").await.unwrap();
    s.rename(&u, &p("a"), &p("b")).await.unwrap();
    assert_eq!(read_all(s, "b", 0).await, b"x");
    assert_eq!(kind(s.metadata(&u, &p("a")).await), FailureKind::NotFound);
    // A file at the target is replaced.
    write_all(s, "c", WriteMode::Truncate, b"y").await.unwrap();
    s.rename(&u, &p("b"), &p("c")).await.unwrap();
    assert_eq!(read_all(s, "c", 0).await, b"x");
    s.mkdir(&u, &p("d")).await.unwrap();
    write_all(s, "d/inner", WriteMode::Truncate, b"z")
        .await
        .unwrap();
    s.rename(&u, &p("d"), &p("e")).await.unwrap();
    assert_eq!(read_all(s, "e/inner", 0).await, b"z");
    assert_eq!(kind(s.metadata(&u, &p("d")).await), FailureKind::NotFound);
    // Into another directory.
    s.rename(&u, &p("c"), &p("e/c")).await.unwrap();
    assert_eq!(read_all(s, "e/c", 0).await, b"x");
    assert_eq!(
        kind(s.rename(&u, &p("nope"), &p("x")).await),
        FailureKind::NotFound
    );
    write_all(s, "f", WriteMode::Truncate, b"").await.unwrap();
    assert_eq!(
        kind(s.rename(&u, &p("f"), &p("e")).await),
        FailureKind::NotAFile
    );
    assert!(
        s.rename(&u, &p("e"), &p("e/sub")).await.is_err(),
        "a directory into itself"
    );
    assert_eq!(
        kind(s.rename(&u, &p("f"), &p("nope/f")).await),
        FailureKind::NotFound
    );
}

pub(crate) async fn wrong_kinds<S: Storage>(s: &S) {
    let u = user();
    s.mkdir(&u, &p("d")).await.unwrap();
    write_all(s, "f", WriteMode::Truncate, b"").await.unwrap();
    assert_eq!(
        kind(s.metadata(&u, &p("nope")).await),
        FailureKind::NotFound
    );
    assert_eq!(
        kind(s.metadata(&u, &p("f/x")).await),
        FailureKind::NotADirectory
    );
    assert_eq!(
        kind(s.open_read(&u, &p("d"), 0).await),
        FailureKind::NotAFile
    );
    assert_eq!(
        kind(s.open_read(&u, &p("nope"), 0).await),
        FailureKind::NotFound
    );
    assert_eq!(kind(s.list(&u, &p("f")).await), FailureKind::NotADirectory);
    assert_eq!(kind(s.list(&u, &p("nope")).await), FailureKind::NotFound);
    for mode in [WriteMode::Truncate, WriteMode::Append, WriteMode::At(0)] {
        assert_eq!(
            kind(s.open_write(&u, &p("d"), mode).await),
            FailureKind::NotAFile
        );
        assert_eq!(
            kind(s.open_write(&u, &p("nope/f"), mode).await),
            FailureKind::NotFound
        );
    }
}

pub(crate) async fn set_modified<S: Storage>(s: &S) {
    let u = user();
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(981_173_106);
    let secs = |t: Option<SystemTime>| {
        t.unwrap()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    assert!(s.capabilities().set_modified);
    write_all(s, "f", WriteMode::Truncate, b"x").await.unwrap();
    s.mkdir(&u, &p("d")).await.unwrap();
    for path in ["f", "d"] {
        s.set_modified(&u, &p(path), time).await.unwrap();
        assert_eq!(
            secs(s.metadata(&u, &p(path)).await.unwrap().modified),
            981_173_106,
            "{path}"
        );
    }
    assert_eq!(
        kind(s.set_modified(&u, &p("nope"), time).await),
        FailureKind::NotFound
    );
}

/// FNV-1a over `data`, continuing from `hash`.
fn fnv(hash: u64, data: &[u8]) -> u64 {
    data.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub(crate) async fn large_streaming<S: Storage>(s: &S) {
    const CHUNK: usize = 64 * 1024;
    const CHUNKS: usize = 320; // 20 MiB
    let (mut sent, mut chunk) = (0xcbf2_9ce4_8422_2325, vec![0; CHUNK]);
    let mut writer = s
        .open_write(&user(), &p("big"), WriteMode::Truncate)
        .await
        .unwrap();
    for i in 0..CHUNKS {
        for (j, b) in chunk.iter_mut().enumerate() {
            *b = (j.wrapping_mul(31) ^ i) as u8;
        }
        sent = fnv(sent, &chunk);
        writer.write_all(&chunk).await.unwrap();
    }
    writer.close().await.unwrap();
    assert_eq!(
        s.metadata(&user(), &p("big")).await.unwrap().size,
        (CHUNK * CHUNKS) as u64
    );
    let mut reader = s.open_read(&user(), &p("big"), 0).await.unwrap();
    let (mut received, mut total) = (0xcbf2_9ce4_8422_2325, 0);
    loop {
        let n = reader.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        received = fnv(received, &chunk[..n]);
        total += n;
    }
    assert_eq!((total, received), (CHUNK * CHUNKS, sent));
}

pub(crate) async fn odd_names<S: Storage>(s: &S) {
    names(
        s,
        &[b"with space", "ünïcödé ✓".as_bytes(), b"raw \xff\xfe bytes"],
    )
    .await;
}

pub(crate) async fn odd_utf8_names<S: Storage>(s: &S) {
    names(
        s,
        &[
            b"with space",
            "ünïcödé ✓".as_bytes(),
            b"semi;colon & 'quote' %41",
        ],
    )
    .await;
}

/// A back-end whose names are UTF-8 refuses others with 553.
pub(crate) async fn raw_names_refused<S: Storage>(s: &S) {
    let result = write_all(s, b"raw \xff\xfe bytes", WriteMode::Truncate, b"x").await;
    assert_eq!(kind(result), FailureKind::NameNotAllowed);
    assert_eq!(
        kind(s.mkdir(&user(), &p(b"raw \xff")).await),
        FailureKind::NameNotAllowed
    );
}

/// A back-end without MFMT says so, and declines it.
pub(crate) async fn set_modified_declined<S: Storage>(s: &S) {
    assert!(!s.capabilities().set_modified);
    write_all(s, "f", WriteMode::Truncate, b"x").await.unwrap();
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(981_173_106);
    assert_eq!(
        kind(s.set_modified(&user(), &p("f"), time).await),
        FailureKind::Unsupported
    );
}

async fn names<S: Storage>(s: &S, names: &[&[u8]]) {
    s.mkdir(&user(), &p("dir with space")).await.unwrap();
    for &name in names {
        write_all(s, name, WriteMode::Truncate, name).await.unwrap();
        let inner = [&b"dir with space/"[..], name].concat();
        write_all(s, &inner, WriteMode::Truncate, name)
            .await
            .unwrap();
        assert_eq!(read_all(s, name, 0).await, name);
        assert_eq!(read_all(s, &inner, 0).await, name);
    }
    let listed: Vec<_> = sorted(s, "/").await.into_iter().map(|e| e.name).collect();
    let mut expected: Vec<&[u8]> = names.to_vec();
    expected.push(b"dir with space");
    expected.sort();
    assert_eq!(listed, expected);
}

pub(crate) async fn root_protected<S: Storage>(s: &S) {
    let (u, root) = (user(), VirtualPath::root());
    write_all(s, "f", WriteMode::Truncate, b"").await.unwrap();
    assert_eq!(
        kind(s.delete(&u, &root).await),
        FailureKind::PermissionDenied
    );
    assert_eq!(
        kind(s.rmdir(&u, &root).await),
        FailureKind::PermissionDenied
    );
    assert_eq!(
        kind(s.rename(&u, &root, &p("x")).await),
        FailureKind::PermissionDenied
    );
    assert_eq!(
        kind(s.rename(&u, &p("f"), &root).await),
        FailureKind::PermissionDenied
    );
    assert!(s.metadata(&u, &root).await.unwrap().is_dir());
    assert_eq!(sorted(s, "/").await.len(), 1);
}
