//! Both runtimes behave the same: connecting (from a chosen local address too), binding in a
//! port range, timers that count from their deadline and can be moved, spawning, sending a
//! file with `sendfile(2)`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ftp_runtime::smol::SmolRuntime;
use ftp_runtime::tokio::TokioRuntime;
use ftp_runtime::{Runtime, bind_in_range, timeout};
use futures_util::{AsyncReadExt, AsyncWriteExt};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn exercise(runtime: Arc<dyn Runtime>) {
    let rt = &*runtime;
    // A plain connection carries bytes both ways, and both ends know both addresses.
    let listener = rt.bind(SocketAddr::new(LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut client = rt.connect(addr, None).await.unwrap();
    let mut server = listener.accept().await.unwrap();
    assert_eq!(client.peer_addr(), addr);
    assert_eq!(server.peer_addr(), client.local_addr());
    client.write_all(b"ping").await.unwrap();
    let mut buf = [0; 4];
    server.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");

    #[cfg(target_os = "linux")]
    send_file(&mut server, &mut client).await;

    // From a chosen local address: the server sees exactly that address.
    let probe = std::net::TcpListener::bind((LOCALHOST, 0)).unwrap();
    let from = probe.local_addr().unwrap();
    drop(probe);
    let _client = rt.connect(addr, Some(from)).await.unwrap();
    let accepted = listener.accept().await.unwrap();
    assert_eq!(accepted.peer_addr(), from);

    // A refused connection is an error, not a hang.
    let closed = {
        let l = std::net::TcpListener::bind((LOCALHOST, 0)).unwrap();
        l.local_addr().unwrap()
    };
    let from = SocketAddr::new(LOCALHOST, 0);
    assert!(rt.connect(closed, Some(from)).await.is_err());
    assert!(rt.connect(closed, None).await.is_err());

    // A port range: the first free port from the start index on, and an error once full.
    let base = std::net::TcpListener::bind((LOCALHOST, 0)).unwrap();
    let taken = base.local_addr().unwrap().port();
    let range = taken..=taken;
    assert!(bind_in_range(rt, LOCALHOST, Some(&range), 0).await.is_err());
    drop(base);
    let bound = bind_in_range(rt, LOCALHOST, Some(&range), 7).await.unwrap();
    assert_eq!(bound.local_addr().unwrap().port(), taken);
    // No range: a port of the ephemeral range picked here from the start index on, past
    // ports in use (a port the kernel gave for port 0 is in that range).
    let ephemeral = ftp_runtime::ephemeral_ports();
    let held = std::net::TcpListener::bind((LOCALHOST, 0)).unwrap();
    let in_use = held.local_addr().unwrap().port();
    assert!(ephemeral.contains(&in_use), "{in_use} not in {ephemeral:?}");
    let index = usize::from(in_use - ephemeral.start());
    let any = bind_in_range(rt, LOCALHOST, None, index).await.unwrap();
    let port = any.local_addr().unwrap().port();
    assert!(ephemeral.contains(&port), "{port} not in {ephemeral:?}");
    assert_ne!(port, in_use);
    drop(any);
    drop(held);

    // Timers: a deadline in the past fires at once; a moved deadline is the one that counts.
    let start = Instant::now();
    rt.timer(start - Duration::from_secs(1)).await;
    let mut timer = rt.timer(start + Duration::from_secs(3600));
    timer.reset(Instant::now() + Duration::from_millis(20));
    (&mut timer).await;
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(20), "{waited:?}");
    assert!(waited < Duration::from_secs(60), "{waited:?}");
    // Reset after firing: it fires again.
    timer.reset(Instant::now() + Duration::from_millis(5));
    timer.await;
    assert_eq!(
        timeout(rt, Duration::from_millis(10), std::future::pending::<()>()).await,
        None
    );
    assert_eq!(
        timeout(rt, Duration::from_secs(10), async { 5 }).await,
        Some(5)
    );

    // Spawned tasks run.
    let (tx, rx) = std::sync::mpsc::channel();
    rt.spawn(Box::pin(async move {
        let _ = tx.send(42u8);
    }));
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = loop {
        match rx.try_recv() {
            Ok(v) => break Some(v),
            Err(_) if Instant::now() > deadline => break None,
            Err(_) => ftp_runtime::sleep(rt, Duration::from_millis(5)).await,
        }
    };
    assert_eq!(got, Some(42));
}

/// `sendfile(2)` through the type-erased stream: 8 MiB from an offset, more than the socket
/// buffer takes, so the sender waits for writability while the reader drains; past the end
/// there is nothing to send.
#[cfg(target_os = "linux")]
async fn send_file(from: &mut ftp_runtime::TcpStream, to: &mut ftp_runtime::TcpStream) {
    use std::io::Write;
    assert!(from.can_send_file());
    let data: Vec<u8> = (0..8u32 << 20).map(|i| (i % 253) as u8).collect();
    let path = std::env::temp_dir().join(format!(
        "ftp-runtime-send-file-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&data)
        .unwrap();
    let file = std::fs::File::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let skip = 1000;
    let want = data.len() - skip;
    let send = async {
        let mut sent = 0;
        let mut calls = 0;
        while sent < want {
            let n = from
                .send_file(&file, (skip + sent) as u64, want - sent)
                .await
                .unwrap();
            assert!(n > 0);
            sent += n;
            calls += 1;
        }
        calls
    };
    let receive = async {
        let mut got = vec![0; want];
        to.read_exact(&mut got).await.unwrap();
        got
    };
    let (calls, got) = futures_util::future::join(send, receive).await;
    assert!(got == data[skip..], "the bytes that arrived differ");
    assert!(calls > 1, "8 MiB went in one call: the socket never filled");
    assert_eq!(
        from.send_file(&file, data.len() as u64, 10).await.unwrap(),
        0
    );
    // A stream wrapped without a sender says so, and sending is unsupported.
    let mut plain = ftp_runtime::TcpStream::new(
        futures_util::io::Cursor::new(Vec::new()),
        from.local_addr(),
        from.peer_addr(),
    );
    assert!(!plain.can_send_file());
    let e = plain.send_file(&file, 0, 10).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
}

#[test]
fn tokio_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(exercise(Arc::new(TokioRuntime)));
}

#[test]
fn smol_runtime_with_an_executor() {
    let executor = Arc::new(async_executor::Executor::new());
    let runtime = Arc::new(SmolRuntime::new(Arc::clone(&executor)));
    async_io::block_on(executor.run(exercise(runtime)));
}

#[test]
fn smol_runtime_on_its_global_executor() {
    async_io::block_on(exercise(Arc::new(SmolRuntime::default())));
}
