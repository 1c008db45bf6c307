//! The whole-server fuzz harness (feature `fuzzing`, not a stable API), run by the fuzz target
//! `server_e2e` and, over its committed corpus, by `tests/fuzz_corpus.rs`.
//!
//! A whole server (driver, machine, in-memory back-end) over an in-memory control stream whose
//! bytes come from the fuzzer. Data connections never open (every transfer ends in 425 or is
//! aborted), timers fire at once: what is exercised is the driver's handling of any command
//! stream, including transfers started and aborted, pipelining and end of input.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::Principal;
use crate::runtime::offline::{OfflineRuntime, ScriptedStream};
use crate::storage::memory::MemoryStorage;
use crate::{Server, ServerOptions};
use async_executor::Executor;
use async_trait::async_trait;
use ftp_proto::{Permissions, ReplyDecoder, VirtualPath};

/// Everyone is let in with all permissions, except the name `ro` (read-only).
struct Anyone;

#[async_trait]
impl crate::auth::Authenticator for Anyone {
    async fn authenticate(
        &self,
        c: &crate::auth::Credentials,
    ) -> Result<Principal, crate::auth::AuthError> {
        let perms = if c.user == b"ro" {
            Permissions::READ_ONLY
        } else {
            Permissions::ALL
        };
        if c.user == b"bad" {
            return Err(crate::auth::AuthError::InvalidCredentials);
        }
        Ok(Principal::new("fuzz", VirtualPath::root(), perms))
    }
}

/// The certificate of the runs with FTPS on: made once (a throw-away key, for fuzzing only).
fn fuzz_tls() -> crate::TlsConfig {
    static TLS: std::sync::OnceLock<crate::TlsConfig> = std::sync::OnceLock::new();
    TLS.get_or_init(|| {
        crate::TlsConfig::from_pem(
            include_bytes!("fuzzing_cert.pem"),
            include_bytes!("fuzzing_key.pem"),
        )
        .expect("the fuzzing certificate")
    })
    .clone()
}

/// Runs one session over `data` (first byte: read chunk size, and with its top bit FTPS on)
/// and checks its output.
pub fn run(data: &[u8]) {
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    let ex = Arc::new(Executor::new());
    let storage = MemoryStorage::new();
    let _ = storage.insert_file("/pub/file.txt", &b"hello\nworld\n"[..]);
    let mut options = ServerOptions::default()
        .failed_login_delay(Duration::ZERO)
        .max_line_len(256);
    let tls = step & 0x80 != 0;
    if tls {
        // AUTH TLS then runs a handshake over what follows (the fuzzer's bytes, no ClientHello
        // a fuzzer finds): it fails, or the machine's deadline (timers fire at once) ends it.
        options = options.tls(fuzz_tls());
    }
    // No network (every data connection fails or times out) and timers that have always
    // fired, so each wait for a data connection ends as it would after its deadline. The
    // executor is held weakly: tasks hold the server, which holds the runtime, and a strong
    // reference would make a cycle that outlives each run.
    let weak = Arc::downgrade(&ex);
    let runtime = OfflineRuntime::new()
        .with_timers_firing_at_once()
        .with_spawner(move |task| {
            if let Some(ex) = weak.upgrade() {
                ex.spawn(task).detach();
            }
        });
    let server = Server::new(runtime, storage, Anyone, options);
    let (control, output) = ScriptedStream::new(input, usize::from(step % 64) + 1, usize::MAX);
    let peer = SocketAddr::from(([127, 0, 0, 1], 40000));
    let local = SocketAddr::from(([127, 0, 0, 1], 21));
    futures_lite::future::block_on(ex.run(server.handle_connection(control, peer, local)));
    let output = output
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let mut dec = ReplyDecoder::default();
    let mut buf = bytes::BytesMut::from(&output[..]);
    let mut count = 0;
    let mut secured = false;
    while let Some(r) = dec.decode(&mut buf) {
        let r = r.expect("every reply decodes");
        count += 1;
        // After 234 the stream is TLS's (alerts, a ServerHello): plain replies end there.
        if r.code().as_u16() == 234 {
            secured = true;
            break;
        }
    }
    assert!(tls || !secured, "AUTH TLS accepted without TLS configured");
    assert!(secured || buf.is_empty(), "output ends with a whole reply");
    assert!(count >= 1, "at least the greeting");
}

/// The PROXY protocol header reader (`fuzz/fuzz_targets/proxy_header.rs`): any bytes end in
/// a header or an error, never a panic; a header takes no more bytes than its version allows,
/// and what follows it is left for FTP untouched.
pub fn proxy_header(data: &[u8]) {
    let mut cursor = futures_util::io::Cursor::new(data);
    let result = futures_lite::future::block_on(crate::proxy::read_header(&mut cursor));
    let used = usize::try_from(cursor.position()).unwrap_or(usize::MAX);
    assert!(used <= data.len());
    if result.is_ok() {
        let limit = if data.starts_with(b"PROXY ") {
            107
        } else {
            16 + 1024
        };
        assert!(used <= limit, "a header of {used} bytes");
        if data.starts_with(b"PROXY ") {
            assert!(
                data[..used].ends_with(b"\r\n"),
                "a v1 header ends at its CRLF"
            );
        }
    }
}
