//! The whole-client fuzz harness (feature `fuzzing`, not a stable API), run by the fuzz target
//! `client_e2e` and, over its committed corpus, by `tests/fuzz_corpus.rs`.
//!
//! A whole client (driver, machine, transfer streams) against a "server" whose every byte
//! comes from the fuzzer: the control connection's replies, and the contents of each data
//! connection. The client runs a fixed session (login, FEAT, the directory commands,
//! listings, a download read to its end, one dropped early, an upload, QUIT), whatever the
//! replies are. Streams end when the input does and timers never fire, so every wait ends by
//! the input's end: a hang is a bug. Checked: no panic, every command the client sent parses
//! back, and what it sent stays bounded.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::runtime::TcpStream;
use crate::runtime::offline::{OfflineRuntime, ScriptedStream};
use crate::{Client, ClientOptions, DataMode};
use bytes::Bytes;
use ftp_proto::Command;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::{AsyncReadExt, AsyncWriteExt};

/// Every data connection, passive or active, carries the same fuzzed bytes.
#[derive(Clone)]
struct Offline {
    data: Bytes,
    sink: Arc<Mutex<Vec<u8>>>,
}

impl Offline {
    fn stream(&self) -> TcpStream {
        // Keep what the control connection carries; data uploads only count.
        let stream =
            ScriptedStream::writing_to(self.data.to_vec(), 4096, 1 << 20, Arc::clone(&self.sink));
        let (server, client) = (
            SocketAddr::from(([127, 0, 0, 1], 20)),
            SocketAddr::from(([127, 0, 0, 1], 40000)),
        );
        TcpStream::new(stream, client, server)
    }
}

/// Runs the session on `data`: byte 0 picks the control chunk size and the data mode, byte 1
/// the length of the data connections' contents (times 16), which follow; the rest is what
/// the server says on the control connection.
pub fn run(data: &[u8]) {
    let [mode, data_len, rest @ ..] = data else {
        return;
    };
    let data_len = (usize::from(*data_len) * 16).min(rest.len());
    let (data_bytes, control) = rest.split_at(data_len);
    let data = Offline {
        data: Bytes::copy_from_slice(data_bytes),
        sink: Arc::new(Mutex::new(Vec::new())),
    };
    // Timers never fire: every wait ends by the input's end (a hang is a bug).
    let runtime = OfflineRuntime::new().with_streams(move || data.stream());
    let (stream, sent) = ScriptedStream::new(control, usize::from(mode & 0x3f) + 1, 1 << 20);
    let mut options = ClientOptions {
        max_listing_bytes: 1 << 12,
        ..ClientOptions::default()
    };
    options
        .replies
        .max_line_len(512)
        .max_lines(64)
        .max_reply_bytes(1 << 14);
    if mode & 0x40 != 0 {
        options.data_mode = DataMode::Active { bind: None };
    }
    let peer = SocketAddr::from(([127, 0, 0, 1], 21));
    let local = SocketAddr::from(([127, 0, 0, 1], 40000));
    futures_lite::future::block_on(async move {
        let Ok(mut ftp) = Client::with_stream(runtime, stream, peer, local, options).await else {
            return;
        };
        session(&mut ftp).await;
        let _ = ftp.quit().await;
    });
    // Every line the client sent is a command it can parse back.
    let sent = sent.lock().unwrap_or_else(|e| e.into_inner());
    assert!(
        sent.len() < 64 << 10,
        "the client sent {} bytes",
        sent.len()
    );
    for line in sent.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let line = line
            .strip_suffix(b"\r")
            .expect("every command ends in CRLF");
        assert!(
            Command::parse(line).is_ok(),
            "sent {:?}",
            String::from_utf8_lossy(line)
        );
    }
}

async fn session<S>(ftp: &mut Client<S>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let _ = ftp.login("user", "pass").await;
    let _ = ftp.features().await;
    let _ = ftp.pwd().await;
    let _ = ftp.cwd("dir").await;
    let _ = ftp.size("file").await;
    let _ = ftp.mdtm("file").await;
    let _ = ftp.mlst("file").await;
    let _ = ftp.list("").await;
    let _ = ftp.nlst("dir").await;
    let _ = ftp.mlsd("").await;
    if let Ok(mut r) = ftp.retr("file", 10).await {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf).await;
    }
    if let Ok(mut r) = ftp.retr("file", 0).await {
        let mut one = [0u8; 1];
        let _ = r.read(&mut one).await;
        // Dropped early: aborted before the next command.
    }
    if let Ok(mut w) = ftp.stor("up", 0).await {
        let _ = w.write_all(b"uploaded bytes\n").await;
        let _ = w.finish().await;
    }
    let _ = ftp.rename("a", "b").await;
    let _ = ftp.noop().await;
}
