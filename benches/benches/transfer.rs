//! End to end on loopback, our server and our client in one process: single-stream RETR and
//! STOR of 256 MiB from the in-memory back-end and from the file-system back-end on a tmpfs
//! directory, the same from the in-memory back-end over FTPS (`PROT P`, TLS 1.3, each data
//! connection resuming the control connection's session), and beside them, in the same run, a raw loopback TCP copy on the same runtime
//! with the same buffer size, so each transfer figure can be read as a ratio to what the
//! machine can move.
//!
//! `FTP_BENCH_MIB` changes the transfer size (default 256); `FTP_BENCH_TMPFS` the tmpfs
//! directory (default /dev/shm).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ftp_client::runtime::tokio::TokioRuntime as ClientRuntime;
use ftp_client::{Client, ClientOptions};
use ftp_proto::{Permissions, VirtualPath};
use ftp_server::Server;
use ftp_server::auth::UserTable;
use ftp_server::runtime::tokio::{TokioListener, TokioRuntime};
use ftp_server::storage::Storage;
use ftp_server::storage::fs::FsStorage;
use ftp_server::storage::memory::MemoryStorage;
use futures_util::{AsyncReadExt, AsyncWriteExt};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The buffer both the raw copy and the client use per read or write (the server's transfer
/// buffer is 64 KiB too).
const BUF: usize = 64 << 10;

fn size() -> usize {
    std::env::var("FTP_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(256)
        << 20
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Starts a server on `storage` on the given runtime; gives its address.
fn serve<S: Storage>(rt: &tokio::runtime::Runtime, storage: S) -> SocketAddr {
    serve_with(rt, storage, ftp_server::ServerOptions::default())
}

fn serve_with<S: Storage>(
    rt: &tokio::runtime::Runtime,
    storage: S,
    options: ftp_server::ServerOptions,
) -> SocketAddr {
    let users =
        UserTable::new().with_user("bench", b"bench", VirtualPath::root(), Permissions::ALL);
    let server = Server::new(TokioRuntime, storage, users, options);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    rt.spawn(async move { server.serve(TokioListener::new(listener)).await });
    addr
}

async fn client(addr: SocketAddr) -> Client {
    let mut options = ClientOptions::default();
    options.buffer_size = BUF;
    let mut ftp = Client::connect_addr(ClientRuntime, addr, options)
        .await
        .expect("connect");
    ftp.login("bench", "bench").await.expect("login");
    ftp
}

/// A client over explicit FTPS, trusting the server's certificate.
async fn tls_client(addr: SocketAddr, ca: &[u8]) -> Client {
    let mut options = ClientOptions::default();
    options.buffer_size = BUF;
    let tls = ftp_client::ClientTls::with_ca_pem(ca).expect("CA");
    let host = addr.ip().to_string();
    let mode = ftp_client::TlsMode::Explicit;
    let mut ftp = Client::connect_tls(ClientRuntime, &host, addr.port(), options, tls, mode)
        .await
        .expect("connect with TLS");
    ftp.login("bench", "bench").await.expect("login");
    ftp
}

async fn retr(ftp: &mut Client, path: &str, expected: usize) {
    let mut buf = vec![0u8; BUF];
    let mut r = ftp.retr(path, 0).await.expect("RETR");
    let mut total = 0;
    loop {
        let n = r.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(total, expected);
}

async fn stor(ftp: &mut Client, path: &str, chunk: &[u8], total: usize) {
    let mut w = ftp.stor(path, 0).await.expect("STOR");
    let mut left = total;
    while left > 0 {
        let n = left.min(chunk.len());
        w.write_all(&chunk[..n]).await.expect("write");
        left -= n;
    }
    w.finish().await.expect("226");
}

/// A raw loopback TCP copy of `total` bytes through `BUF`-sized writes and reads; with `sink`,
/// the receiver writes what it reads to that file (truncated first), as a STOR to the file
/// system must.
async fn raw_copy(chunk: &[u8], total: usize, sink: Option<&std::path::Path>) {
    use std::io::Write;
    let mut file = sink.map(|p| std::fs::File::create(p).expect("sink file"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let chunk = chunk.to_vec();
    let writer = tokio::spawn(async move {
        let mut out = tokio::net::TcpStream::connect(addr).await.expect("connect");
        out.set_nodelay(true).expect("nodelay");
        let mut left = total;
        while left > 0 {
            let n = left.min(chunk.len());
            out.write_all(&chunk[..n]).await.expect("write");
            left -= n;
        }
    });
    let (mut input, _) = listener.accept().await.expect("accept");
    let mut buf = vec![0u8; BUF];
    let mut got = 0;
    loop {
        let n = input.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        if let Some(file) = file.as_mut() {
            file.write_all(&buf[..n]).expect("write sink");
        }
        got += n;
    }
    writer.await.expect("writer");
    assert_eq!(got, total);
}

fn tmpfs_dir() -> PathBuf {
    let base = std::env::var_os("FTP_BENCH_TMPFS")
        .map_or_else(|| PathBuf::from("/dev/shm"), PathBuf::from);
    let dir = base.join(format!("ftp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmpfs directory");
    dir
}

fn transfers(c: &mut Criterion) {
    let total = size();
    let chunk: Vec<u8> = (0..BUF).map(|i| (i % 251) as u8).collect();
    let file = Bytes::from((0..total).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let rt = runtime();

    let memory = MemoryStorage::new();
    memory.insert_file("big.bin", file.clone()).expect("insert");
    let memory_addr = serve(&rt, memory);
    let (cert, key) = ftp_test_support::test_certificate();
    let tls = ftp_server::TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).expect("TLS");
    let tls_memory = MemoryStorage::new();
    tls_memory
        .insert_file("big.bin", file.clone())
        .expect("insert");
    let tls_addr = serve_with(
        &rt,
        tls_memory,
        ftp_server::ServerOptions::default().tls(tls),
    );
    let dir = tmpfs_dir();
    std::fs::write(dir.join("big.bin"), &file).expect("write tmpfs file");
    drop(file);
    let fs_addr = serve(&rt, FsStorage::new(&dir).expect("fs storage"));
    // The same directory with sendfile off: the copying path, for the ratio in one run.
    let copying_addr = serve_with(
        &rt,
        FsStorage::new(&dir).expect("fs storage"),
        ftp_server::ServerOptions::default().zero_copy(false),
    );
    let mut on_copying = rt.block_on(client(copying_addr));
    let mut on_memory = rt.block_on(client(memory_addr));
    let mut on_fs = rt.block_on(client(fs_addr));
    let mut on_tls = rt.block_on(tls_client(tls_addr, cert.as_bytes()));

    let mut group = c.benchmark_group(format!("loopback {} MiB", total >> 20));
    group
        .throughput(Throughput::Bytes(total as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    group.bench_function("raw TCP copy", |b| {
        b.iter(|| rt.block_on(raw_copy(&chunk, total, None)))
    });
    // What a STOR to tmpfs must also pay: the kernel allocating and zeroing the file's pages
    // (and freeing the previous version's when it is truncated).
    let sink = dir.join("raw-sink.bin");
    group.bench_function("raw TCP copy into a tmpfs file", |b| {
        b.iter(|| rt.block_on(raw_copy(&chunk, total, Some(&sink))))
    });
    group.bench_function("RETR memory", |b| {
        b.iter(|| rt.block_on(retr(&mut on_memory, "big.bin", total)))
    });
    group.bench_function("STOR memory", |b| {
        b.iter(|| rt.block_on(stor(&mut on_memory, "up.bin", &chunk, total)))
    });
    group.bench_function("RETR memory TLS", |b| {
        b.iter(|| rt.block_on(retr(&mut on_tls, "big.bin", total)))
    });
    group.bench_function("STOR memory TLS", |b| {
        b.iter(|| rt.block_on(stor(&mut on_tls, "up.bin", &chunk, total)))
    });
    group.bench_function("RETR fs (tmpfs)", |b| {
        b.iter(|| rt.block_on(retr(&mut on_fs, "big.bin", total)))
    });
    group.bench_function("RETR fs (tmpfs), sendfile off", |b| {
        b.iter(|| rt.block_on(retr(&mut on_copying, "big.bin", total)))
    });
    group.bench_function("STOR fs (tmpfs)", |b| {
        b.iter(|| rt.block_on(stor(&mut on_fs, "up.bin", &chunk, total)))
    });
    group.finish();
    drop((on_memory, on_fs, on_tls, on_copying));
    rt.shutdown_timeout(Duration::from_secs(1));
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, transfers);
criterion_main!(benches);
