//! Test support: servers to talk to (our own in-process, pyftpdlib and vsftpd as child
//! processes on 127.0.0.1), the two runtimes to run the client on, and test data.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ftp_proto::{Permissions, VirtualPath};
use ftp_server::Server;
use ftp_server::auth::{AnonymousPolicy, UserTable};
use ftp_server::runtime::tokio::{TokioListener, TokioRuntime};
use ftp_server::storage::fs::FsStorage;

/// Longest a whole test may take before it is failed rather than hung.
pub const TEST_LIMIT: Duration = Duration::from_secs(120);

/// A server to test against.
pub struct Peer {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub user: String,
    pub password: String,
    /// Where the server keeps its files on disk.
    pub root: PathBuf,
    /// The writable directory the tests work in, relative to the login directory.
    pub base: String,
    /// Connect with FTPS (explicit or implicit), checking the certificate with this.
    pub tls: Option<(ftp_client::ClientTls, ftp_client::TlsMode)>,
    _dir: tempfile::TempDir,
    child: Option<Child>,
    runtime: Option<tokio::runtime::Runtime>,
    /// A directory outside `_dir` that the peer's files were put in.
    remove_on_drop: Option<PathBuf>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
        if let Some(dir) = &self.remove_on_drop {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Our own server (ftp-server on the file-system back-end), on its own tokio runtime.
pub fn our_server() -> Peer {
    our_server_on("127.0.0.1:0".parse().unwrap())
}

/// Our own server listening on `bind` (`[::1]:0` for IPv6).
pub fn our_server_on(bind: SocketAddr) -> Peer {
    our_server_with(bind, |options| (options, None), false)
}

/// What an FTPS server of ours offers.
#[derive(Clone, Copy, Debug)]
pub struct TlsServer {
    /// Only TLS 1.2, or only TLS 1.3.
    pub tls12: bool,
    /// Data connections must resume the control connection's session.
    pub require_reuse: bool,
    /// Connect with implicit TLS (a listener of its own) instead of AUTH TLS.
    pub implicit: bool,
}

/// Our own server with FTPS: a certificate made now, which the peer's client trusts.
pub fn our_tls_server(tls: TlsServer) -> Peer {
    use ftp_server::runtime::tls::rustls;
    use rustls::pki_types::pem::PemObject;
    let mut peer = our_server_with(
        "127.0.0.1:0".parse().unwrap(),
        |options| {
            let (cert, key) = ftp_test_support::test_certificate();
            let versions: &[&rustls::SupportedProtocolVersion] = if tls.tls12 {
                &[&rustls::version::TLS12]
            } else {
                &[&rustls::version::TLS13]
            };
            let provider = ftp_server::runtime::tls::provider().unwrap();
            let certs = rustls::pki_types::CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_protocol_versions(versions)
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .unwrap();
            let server_tls =
                ftp_server::TlsConfig::from_rustls(config).require_session_reuse(tls.require_reuse);
            let client = ftp_client::ClientTls::with_ca_pem(cert.as_bytes()).unwrap();
            (options.tls(server_tls), Some(client))
        },
        tls.implicit,
    );
    peer.name = match (tls.tls12, tls.implicit) {
        (true, false) => "ftp-server (TLS 1.2)",
        (false, false) => "ftp-server (TLS 1.3)",
        (true, true) => "ftp-server (implicit TLS 1.2)",
        (false, true) => "ftp-server (implicit TLS 1.3)",
    };
    peer
}

/// Our own server on `bind`; `tls` may add a certificate to its options and give the client's
/// side of it; `implicit` serves implicit TLS.
fn our_server_with(
    bind: SocketAddr,
    tls: impl FnOnce(
        ftp_server::ServerOptions,
    ) -> (ftp_server::ServerOptions, Option<ftp_client::ClientTls>),
    implicit: bool,
) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let users =
        UserTable::new().with_user("alice", b"s3cret", VirtualPath::root(), Permissions::ALL);
    let options =
        ftp_server::ServerOptions::default().failed_login_delay(Duration::from_millis(10));
    let (options, client_tls) = tls(options);
    let storage = FsStorage::new(&root).unwrap();
    let server = Server::new(TokioRuntime, storage, users, options);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(bind))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let mode = if implicit {
        runtime.spawn(async move {
            server
                .serve_implicit_tls(TokioListener::new(listener))
                .await
        });
        ftp_client::TlsMode::Implicit
    } else {
        runtime.spawn(async move { server.serve(TokioListener::new(listener)).await });
        ftp_client::TlsMode::Explicit
    };
    Peer {
        name: "ftp-server",
        addr,
        user: "alice".into(),
        password: "s3cret".into(),
        root,
        base: String::new(),
        tls: client_tls.map(|tls| (tls, mode)),
        _dir: dir,
        child: None,
        runtime: Some(runtime),
        remove_on_drop: None,
    }
}

/// Our own server with anonymous read-only access (and no users).
pub fn our_anonymous_server(root: &Path) -> (SocketAddr, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let users = UserTable::new().with_anonymous(AnonymousPolicy::ReadOnly, VirtualPath::root());
    let server = Server::new(
        TokioRuntime,
        FsStorage::new(root).unwrap(),
        users,
        ftp_server::ServerOptions::default(),
    );
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move { server.serve(TokioListener::new(listener)).await });
    (addr, runtime)
}

/// pyftpdlib (`pip install pyftpdlib`; scripts/test.sh installs it) with one writable user.
pub fn pyftpdlib() -> Peer {
    pyftpdlib_with(None, false)
}

/// pyftpdlib's `TLS_FTPHandler` (needs pyOpenSSL; scripts/test.sh installs it), TLS required
/// on control and data connections, with a certificate made now.
pub fn pyftpdlib_tls() -> Peer {
    pyftpdlib_with(None, true)
}

/// pyftpdlib extended with the legacy checksum commands (XCRC, XMD5, XSHA1, XSHA256) in the
/// test, neither listed in FEAT nor HASH: what the client's fallback from HASH meets.
pub fn pyftpdlib_xcommands() -> Peer {
    pyftpdlib_with(Some("tests/pyftpdlib_xcommands.py"), false)
}

fn pyftpdlib_with(script: Option<&str>, tls: bool) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let mut command = Command::new("python3");
    let mut client_tls = None;
    if let Some(script) = script {
        command
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(script))
            .arg(&root);
    } else if tls {
        let (cert, key, tls) = peer_certificate(dir.path());
        client_tls = Some((tls, ftp_client::TlsMode::Explicit));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pyftpdlib_tls.py");
        command.arg(script).arg(&root).arg(cert).arg(key);
    } else {
        command
            .args([
                "-m",
                "pyftpdlib",
                "-i",
                "127.0.0.1",
                "-p",
                "0",
                "-w",
                "-u",
                "bob",
                "-P",
                "pw",
            ])
            .arg("-d")
            .arg(&root);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 with pyftpdlib (pip install pyftpdlib, or run scripts/test.sh)");
    // pyftpdlib logs `>>> starting FTP server on 127.0.0.1:PORT, pid=N <<<` once it listens.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            // "FTPS (FTP over SSL) server" for the TLS handler.
            if let Some(rest) = line.split(" server on ").nth(1) {
                let addr = rest.split(',').next().unwrap_or_default().trim().to_owned();
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr);
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("pyftpdlib did not start (is it installed? pip install pyftpdlib)");
    Peer {
        name: if tls { "pyftpdlib (TLS)" } else { "pyftpdlib" },
        addr: addr.parse().unwrap(),
        user: "bob".into(),
        password: "pw".into(),
        root,
        base: String::new(),
        tls: client_tls,
        _dir: dir,
        child: Some(child),
        runtime: None,
        remove_on_drop: None,
    }
}

/// vsftpd (Debian's package; scripts/test.sh installs it), anonymous with uploads allowed in
/// `pub`. vsftpd must start as root (it drops privileges to the `ftp` user per session).
pub fn vsftpd() -> Peer {
    vsftpd_with(false)
}

/// vsftpd with FTPS: `ssl_enable=YES` and `require_ssl_reuse=YES` (data connections must
/// resume the control connection's session), a certificate made now, which the client trusts.
pub fn vsftpd_tls() -> Peer {
    vsftpd_with(true)
}

fn vsftpd_with(tls: bool) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let public = root.join("pub");
    std::fs::create_dir_all(&public).unwrap();
    // The anonymous root must not be writable (vsftpd refuses it); `pub` belongs to `ftp`.
    let status = Command::new("chown")
        .args(["ftp:ftp"])
        .arg(&public)
        .status()
        .expect("chown");
    assert!(
        status.success(),
        "chown ftp:ftp (the tests run vsftpd as root)"
    );
    for p in [dir.path(), root.as_path()] {
        let status = Command::new("chmod").arg("755").arg(p).status().unwrap();
        assert!(status.success());
    }
    std::fs::create_dir_all("/var/run/vsftpd/empty").unwrap();
    let port = free_port();
    let conf = dir.path().join("vsftpd.conf");
    let mut client_tls = None;
    let mut ssl = String::new();
    if tls {
        let (cert, key, tls) = peer_certificate(dir.path());
        client_tls = Some((tls, ftp_client::TlsMode::Explicit));
        ssl = format!(
            "ssl_enable=YES\nallow_anon_ssl=YES\nforce_anon_logins_ssl=YES\n\
             force_anon_data_ssl=YES\nrequire_ssl_reuse=YES\nssl_tlsv1=NO\nssl_sslv2=NO\n\
             ssl_sslv3=NO\nrsa_cert_file={}\nrsa_private_key_file={}\n",
            cert.display(),
            key.display()
        );
    }
    std::fs::write(
        &conf,
        ssl + &format!(
            "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port={port}\n\
             background=NO\nanonymous_enable=YES\nlocal_enable=NO\nanon_root={}\n\
             no_anon_password=YES\nwrite_enable=YES\nanon_upload_enable=YES\n\
             anon_mkdir_write_enable=YES\nanon_other_write_enable=YES\nanon_umask=022\n\
             seccomp_sandbox=NO\npasv_enable=YES\nport_enable=YES\nconnect_from_port_20=NO\n\
             xferlog_enable=NO\ndirmessage_enable=NO\nuse_localtime=NO\n\
             secure_chroot_dir=/var/run/vsftpd/empty\n",
            root.display()
        ),
    )
    .unwrap();
    let child = Command::new("/usr/sbin/vsftpd")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("vsftpd (apt-get install vsftpd, or run scripts/test.sh)");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_listening(addr);
    Peer {
        name: "vsftpd",
        addr,
        user: "anonymous".into(),
        password: "test@".into(),
        root: public,
        base: "pub".into(),
        tls: client_tls,
        _dir: dir,
        child: Some(child),
        runtime: None,
        remove_on_drop: None,
    }
}

/// The aioftp server (pip), which has no `SIZE`, `NLST`, `FEAT` or `PORT`: what the client's
/// fallbacks are for. Passive mode only.
pub fn aioftp() -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let port = free_port();
    let mut command = Command::new("python3");
    command
        .args(["-m", "aioftp", "--user", "amy", "--pass", "pw", "-q"])
        .args(["--host", "127.0.0.1", "--family", "ipv4", "--port"])
        .arg(port.to_string())
        .arg("-d")
        .arg(&root);
    let child = spawn_listening(
        command,
        port,
        "aioftp (pip install aioftp)",
        &dir.path().join("log"),
    );
    Peer {
        name: "aioftp",
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        user: "amy".into(),
        password: "pw".into(),
        root,
        base: String::new(),
        tls: None,
        _dir: dir,
        child: Some(child),
        runtime: None,
        remove_on_drop: None,
    }
}

/// GNU inetutils ftpd (unpacked by scripts/test.sh), run inetd-style for each connection by
/// `tests/inetd.py`, anonymous: its root is the `ftp` user's home (`/srv/ftp`, made by the
/// vsftpd package), where the test works in a directory of its own, removed on drop. It
/// splits a `LIST` argument at spaces and sends `ls`'s complaints as the listing.
pub fn inetutils_ftpd() -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let home = Path::new("/srv/ftp");
    assert!(
        home.is_dir(),
        "/srv/ftp (the ftp user's home) is missing: install vsftpd"
    );
    let base = format!("inetutils-{}", std::process::id());
    let root = home.join(&base);
    std::fs::create_dir_all(&root).unwrap();
    let ftpd = peers_dir().join("inetutils/usr/sbin/ftpd");
    assert!(
        ftpd.exists(),
        "{}: run scripts/test.sh, which unpacks it",
        ftpd.display()
    );
    let mut child = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inetd.py"))
        .arg(&ftpd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().expect("inetd.py prints its port");
    let root_copy = root.clone();
    Peer {
        name: "inetutils ftpd",
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        user: "anonymous".into(),
        password: "test@".into(),
        root,
        base,
        tls: None,
        _dir: dir,
        child: Some(child),
        runtime: None,
        remove_on_drop: Some(root_copy),
    }
}

/// Where scripts/test.sh unpacks the FTP servers that Debian cannot install beside vsftpd.
fn peers_dir() -> PathBuf {
    std::env::var_os("FTP_PEERS").map_or_else(|| PathBuf::from("/opt/ftp-peers"), PathBuf::from)
}

/// An MD5-crypt hash of `password`, as both servers' user files take it.
fn crypt_hash(password: &str) -> String {
    let out = Command::new("openssl")
        .args(["passwd", "-1", password])
        .output()
        .expect("openssl");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The peer's client side of a certificate made now: (cert path, key path, client TLS).
fn peer_certificate(dir: &Path) -> (PathBuf, PathBuf, ftp_client::ClientTls) {
    let (cert, key) = ftp_test_support::write_test_certificate(dir);
    let tls = ftp_client::ClientTls::with_ca_pem(&std::fs::read(&cert).unwrap()).unwrap();
    (cert, key, tls)
}

/// A child that must be listening on `port` soon, or the test fails with what it said.
fn spawn_listening(mut command: Command, port: u16, name: &str, log: &Path) -> Child {
    let stderr = std::fs::File::create(log).unwrap();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("{name} ({e}): run scripts/test.sh, which unpacks it"));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            let said = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{name} exited ({status}): {said}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{name} does not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// ProFTPD 1.3.8 with mod_tls (unpacked by scripts/test.sh): TLS required, and its default
/// that data connections must resume the control connection's TLS session; mod_digest for
/// HASH and the X-commands.
pub fn proftpd_tls() -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let t = dir.path();
    let (cert, key, client_tls) = peer_certificate(t);
    // A uid-0 virtual user (RootLogin on): the temporary directory stays private.
    let passwd = t.join("ftpd.passwd");
    let line = format!(
        "tester:{}:0:0::{}:/bin/false\n",
        crypt_hash("secret"),
        root.display()
    );
    std::fs::write(&passwd, line).unwrap();
    std::fs::write(t.join("ftpd.group"), "ftpgroup:x:0:\n").unwrap();
    // ProFTPD refuses user files others can read.
    for f in ["ftpd.passwd", "ftpd.group"] {
        let status = Command::new("chmod")
            .arg("600")
            .arg(t.join(f))
            .status()
            .unwrap();
        assert!(status.success());
    }
    let port = free_port();
    let peers = peers_dir();
    let conf = format!(
        "ServerName \"peer\"\nServerType standalone\nPort {port}\nDefaultAddress 127.0.0.1\n\
         SocketBindTight on\nUseIPv6 off\nUseReverseDNS off\nUser nobody\nGroup nogroup\n\
         Umask 022\nMaxInstances 30\nPidFile {t}/proftpd.pid\n\
         ScoreboardFile {t}/proftpd.scoreboard\nDelayEngine off\nWtmpLog off\n\
         TransferLog none\nSystemLog {t}/system.log\n\
         ModulePath {peers}/proftpd/usr/lib/proftpd\nLoadModule mod_tls.c\n\
         LoadModule mod_digest.c\nDigestEngine on\nDigestAlgorithms all\n\
         AuthOrder mod_auth_file.c\nAuthUserFile {t}/ftpd.passwd\n\
         AuthGroupFile {t}/ftpd.group\nRequireValidShell off\nRootLogin on\nDefaultRoot ~\n\
         AllowOverwrite on\nAllowRetrieveRestart on\nAllowStoreRestart on\n\
         TLSEngine on\nTLSLog {t}/tls.log\nTLSProtocol TLSv1.2 TLSv1.3\nTLSRequired on\n\
         TLSECCertificateFile {cert}\nTLSECCertificateKeyFile {key}\nTLSVerifyClient off\n",
        t = t.display(),
        peers = peers.display(),
        cert = cert.display(),
        key = key.display(),
    );
    let conf_path = t.join("proftpd.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let mut command = Command::new(peers.join("proftpd/usr/sbin/proftpd"));
    command
        .env(
            "LD_LIBRARY_PATH",
            peers.join("libs/usr/lib/x86_64-linux-gnu"),
        )
        .args(["-n", "-q", "-c"])
        .arg(&conf_path);
    let child = spawn_listening(command, port, "ProFTPD", &t.join("stderr.log"));
    Peer {
        name: "ProFTPD (TLS)",
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        user: "tester".into(),
        password: "secret".into(),
        root,
        base: String::new(),
        tls: Some((client_tls, ftp_client::TlsMode::Explicit)),
        _dir: dir,
        child: Some(child),
        runtime: None,
        remove_on_drop: None,
    }
}

/// Pure-FTPd 1.0.50 (unpacked by scripts/test.sh) with TLS required (`-Y 2`), one PureDB
/// virtual user.
pub fn pureftpd_tls() -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let t = dir.path();
    // Sessions run as the virtual user (uid 65534): the root must be theirs to write.
    let status = Command::new("chmod")
        .arg("0777")
        .arg(&root)
        .status()
        .unwrap();
    assert!(status.success());
    let (cert, key, client_tls) = peer_certificate(t);
    let passwd = t.join("pureftpd.passwd");
    let line = format!(
        "tester:{}:65534:65534::{}/./::::::::::::\n",
        crypt_hash("secret"),
        root.display()
    );
    std::fs::write(&passwd, line).unwrap();
    let peers = peers_dir();
    let pdb = t.join("pureftpd.pdb");
    let status = Command::new(peers.join("pure-ftpd/usr/bin/pure-pw"))
        .arg("mkdb")
        .arg(&pdb)
        .arg("-f")
        .arg(&passwd)
        .status()
        .expect("pure-pw (run scripts/test.sh, which unpacks it)");
    assert!(status.success());
    let port = free_port();
    let mut command = Command::new(peers.join("pure-ftpd/usr/sbin/pure-ftpd"));
    command
        .args(["-4", "--bind", &format!("127.0.0.1,{port}")])
        .arg(format!("-lpuredb:{}", pdb.display()))
        .args(["-E", "-A", "-H", "-Y", "2"])
        .arg(format!("--certfile={},{}", cert.display(), key.display()))
        .arg(format!("-g{}", t.join("pure-ftpd.pid").display()));
    let child = spawn_listening(command, port, "Pure-FTPd", &t.join("stderr.log"));
    Peer {
        name: "Pure-FTPd (TLS)",
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        user: "tester".into(),
        password: "secret".into(),
        root,
        base: String::new(),
        tls: Some((client_tls, ftp_client::TlsMode::Explicit)),
        _dir: dir,
        child: Some(child),
        runtime: None,
        remove_on_drop: None,
    }
}

/// A port that was free a moment ago (for servers that cannot be told to pick one).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(addr: SocketAddr) {
    let start = Instant::now();
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "nothing listens on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `fut` on a fresh tokio runtime, failing the test past [`TEST_LIMIT`].
pub fn on_tokio<F: Future<Output = ()>>(fut: F) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(TEST_LIMIT, fut)
            .await
            .expect("the test took too long")
    });
}

/// Runs `fut` on async-io (smol's reactor), failing the test past [`TEST_LIMIT`].
pub fn on_smol<F: Future<Output = ()>>(fut: F) {
    async_io::block_on(async {
        futures_lite::future::or(
            async {
                fut.await;
                Some(())
            },
            async {
                async_io::Timer::after(TEST_LIMIT).await;
                None
            },
        )
        .await
        .expect("the test took too long")
    });
}

pub use ftp_test_support::{data, sha256};

pub mod suite;
