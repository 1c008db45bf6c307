//! Helpers the test suites of the workspace share, instead of each keeping a copy: test data,
//! free port ranges, checksums.

#![forbid(unsafe_code)]

use std::net::TcpListener;

/// `len` deterministic test bytes (xorshift from `seed`), so that a failure is reproducible.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// `n` consecutive ports on 127.0.0.1 that were free a moment ago (for passive port ranges).
///
/// # Panics
///
/// When no such range turns up in a few hundred tries.
pub fn free_port_range(n: u16) -> (u16, u16) {
    // Below Linux's ephemeral range (32768 and up by default), where the tests' own client
    // sockets and their TIME_WAIT remains never land; a random start, so that parallel tests
    // rarely try the same ports.
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::hash::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let seed = hasher.finish();
    let low = (0..200u64).map(|attempt| {
        let offset = seed.wrapping_add(attempt.wrapping_mul(7919)) % 12_000;
        Some(20_000 + u16::try_from(offset).unwrap_or(0)).filter(|b| b + n <= 32_768)
    });
    // Then in the ephemeral range, from a port the system hands out.
    let ephemeral = (0..50).map(|_| {
        TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()
            .map(|a| a.port())
    });
    for base in low.chain(ephemeral).flatten() {
        let Some(last) = base.checked_add(n.saturating_sub(1)) else {
            continue;
        };
        let all: Result<Vec<_>, _> = (base..=last)
            .map(|p| TcpListener::bind(("127.0.0.1", p)))
            .collect();
        if all.is_ok() {
            return (base, last);
        }
    }
    panic!("no {n} consecutive free ports");
}

/// SHA-256 of `bytes`, in hex.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A throw-away self-signed certificate for `127.0.0.1`, `::1` and `localhost`, made now:
/// `(certificate PEM, private key PEM)`. A client that trusts the certificate itself (as its
/// CA) checks it for real.
pub fn test_certificate() -> (String, String) {
    let names = ["127.0.0.1", "::1", "localhost"].map(String::from).to_vec();
    let made = rcgen::generate_simple_self_signed(names).expect("a test certificate");
    (made.cert.pem(), made.signing_key.serialize_pem())
}

/// [`test_certificate`] written to `cert.pem` and `key.pem` in `dir`; their paths.
pub fn write_test_certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = test_certificate();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert).expect("write cert.pem");
    std::fs::write(&key_path, key).expect("write key.pem");
    (cert_path, key_path)
}

/// The resident memory of process `pid` (Linux: `VmRSS` of `/proc/PID/status`), KiB; 0 when
/// it cannot be read.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_deterministic_and_seeded() {
        assert_eq!(data(64, 1), data(64, 1));
        assert_ne!(data(64, 1), data(64, 2));
        assert_eq!(data(1000, 7).len(), 1000);
        assert_eq!(
            sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let (first, last) = free_port_range(4);
        assert_eq!(last - first, 3);
    }
}

/// A real S3-compatible server for the tests: moto's server mode (`python3 -m moto.server`, from PyPI's
/// `moto[server]`, which `scripts/test.sh` installs), on 127.0.0.1, with one bucket. No
/// internet and no credentials: moto takes any access key.
pub mod s3 {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    /// The bucket every server here has.
    pub const BUCKET: &str = "ftp-tests";
    /// The access key (any works with moto).
    pub const ACCESS_KEY: &str = "test";
    /// The secret key.
    pub const SECRET_KEY: &str = "test";

    /// A running moto server; stopped when dropped, and with the test process in any case
    /// (its keeper exits when the process's end of its stdin closes).
    #[derive(Debug)]
    pub struct S3Server {
        keeper: Child,
        addr: SocketAddr,
    }

    impl S3Server {
        /// Starts one and creates [`BUCKET`].
        ///
        /// # Panics
        /// When moto is missing or does not come up within 60 s.
        pub fn start() -> Self {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            // The keeper runs moto and kills it when its stdin reaches its end: when this
            // process exits, however it exits, no moto is left behind.
            let keeper = Command::new("python3")
                .args([
                    "-c",
                    "import subprocess, sys\n\
                     p = subprocess.Popen([sys.executable, '-m', 'moto.server', '-H', '127.0.0.1',\n\
                                           '-p', sys.argv[1]],\n\
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n\
                     sys.stdin.read()\n\
                     p.kill()\n",
                    &port.to_string(),
                ])
                .stdin(Stdio::piped())
                .spawn()
                .expect("python3 to start moto's server (scripts/test.sh installs moto[server])");
            let server = Self {
                keeper,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
            };
            // Ready when it answers the bucket's creation. A bare connect is not enough: moto
            // can take a connection before its application answers (a reset seen under load),
            // so the first request is retried until the deadline.
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                match server.try_create_bucket(BUCKET) {
                    Ok(()) => break,
                    Err(e) => assert!(Instant::now() < deadline, "moto_server did not start: {e}"),
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            server
        }

        /// `http://127.0.0.1:PORT`.
        pub fn endpoint(&self) -> String {
            format!("http://{}", self.addr)
        }

        /// The server's address.
        pub fn addr(&self) -> SocketAddr {
            self.addr
        }

        /// Creates `bucket` (moto takes unsigned requests).
        ///
        /// # Panics
        /// When moto does not answer 200.
        pub fn create_bucket(&self, bucket: &str) {
            if let Err(e) = self.try_create_bucket(bucket) {
                panic!("creating {bucket}: {e}");
            }
        }

        fn try_create_bucket(&self, bucket: &str) -> Result<(), String> {
            let mut stream = TcpStream::connect(self.addr).map_err(|e| e.to_string())?;
            write!(
                stream,
                "PUT /{bucket} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.addr
            )
            .map_err(|e| e.to_string())?;
            let mut reply = String::new();
            stream
                .read_to_string(&mut reply)
                .map_err(|e| e.to_string())?;
            if reply.starts_with("HTTP/1.1 200") {
                Ok(())
            } else {
                Err(format!("moto answered: {reply}"))
            }
        }
    }

    impl Drop for S3Server {
        fn drop(&mut self) {
            // Closing stdin tells the keeper to stop moto.
            drop(self.keeper.stdin.take());
            let _ = self.keeper.wait();
        }
    }

    /// One server for the whole test process.
    pub fn shared() -> &'static S3Server {
        static SERVER: OnceLock<S3Server> = OnceLock::new();
        SERVER.get_or_init(S3Server::start)
    }

    /// A prefix no other test of this process uses: `/t-PID-N/`.
    pub fn unique_prefix() -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        format!(
            "/t-{}-{}/",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }
}
