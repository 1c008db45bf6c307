//! Both runtimes behave the same: connecting (from a chosen local address too), binding in a
//! port range, timers that count from their deadline and can be moved, spawning.

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
    let any = bind_in_range(rt, LOCALHOST, None, 0).await.unwrap();
    assert_ne!(any.local_addr().unwrap().port(), 0);

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
