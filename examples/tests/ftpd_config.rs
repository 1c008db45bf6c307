//! `ftpd --config FILE` as an administrator uses it: users with PHC hashes, roots and
//! permissions of their own, the anonymous policy with its upload directory, limits and
//! timeouts from the file, flags overriding it; `--check-config` naming the line of each
//! mistake; the users reloaded on SIGHUP while sessions go on; and the example file shipped
//! in examples/ passing the check.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Ftpd;

/// `ftpd hash-password` of `password`.
fn hash(password: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ftpd"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A control connection: lines out, whole replies in.
struct Control(BufReader<TcpStream>);

impl Control {
    fn connect(addr: SocketAddr) -> Self {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut c = Self(BufReader::new(s));
        assert_eq!(c.reply().0, 220);
        c
    }

    fn reply(&mut self) -> (u16, String) {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            if self.0.read_line(&mut line).unwrap_or(0) == 0 {
                return (0, text);
            }
            text.push_str(&line);
            if line.as_bytes().get(3) == Some(&b' ') {
                return (line[..3].parse().unwrap(), text);
            }
        }
    }

    fn cmd(&mut self, line: &str) -> u16 {
        self.send(line);
        self.reply().0
    }

    fn send(&mut self, line: &str) {
        self.0
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
    }

    fn login(addr: SocketAddr, user: &str, password: &str) -> (Self, u16) {
        let mut c = Self::connect(addr);
        c.cmd(&format!("USER {user}"));
        let code = c.cmd(&format!("PASS {password}"));
        (c, code)
    }

    /// EPSV, then `line` over the data connection (`payload` uploaded when given); the
    /// final code and what came down.
    fn transfer(&mut self, line: &str, payload: Option<&[u8]>) -> (u16, Vec<u8>) {
        self.send("EPSV");
        let (code, text) = self.reply();
        assert_eq!(code, 229, "{text}");
        let port = ftp_proto::address::parse_epsv_reply(&text.trim_end().as_bytes()[4..]).unwrap();
        let ip = self.0.get_ref().peer_addr().unwrap().ip();
        let mut data = TcpStream::connect((ip, port)).unwrap();
        self.send(line);
        let (first, _) = self.reply();
        if first != 150 {
            return (first, Vec::new());
        }
        let mut got = Vec::new();
        match payload {
            Some(p) => data.write_all(p).unwrap(),
            None => {
                data.read_to_end(&mut got).unwrap();
            }
        }
        drop(data);
        (self.reply().0, got)
    }
}

/// `ftpd --config FILE` (and `--bind 127.0.0.1:0` on the command line, over the file's).
fn start(config: &Path, extra: &[&str]) -> Ftpd {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ftpd"));
    command
        .arg("--config")
        .arg(config)
        .args(extra)
        .env("RUST_LOG", "warn");
    Ftpd::spawn(command, &["127.0.0.1:0"])
}

fn check(config: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ftpd"))
        .arg("--config")
        .arg(config)
        .arg("--check-config")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(if out.status.success() {
        &out.stdout
    } else {
        &out.stderr
    })
    .trim()
    .to_owned();
    (out.status.code().unwrap(), text)
}

#[test]
fn config_file_serves_users_roots_and_anonymous_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("srv");
    for d in ["alice", "pub/incoming"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("pub/readme.txt"), b"hello\n").unwrap();
    let (alice, bob) = (hash("alice-pw"), hash("bob-pw"));
    let config = dir.path().join("ftpd.toml");
    std::fs::write(
        &config,
        format!(
            "# the command line's --bind wins over this one\n\
             bind = \"127.0.0.1:1\"\nroot = {root:?}\nidle-timeout = 2\n\
             anonymous = true\nanonymous-root = \"/pub\"\nanonymous-upload-dir = \"/incoming\"\n\
             max-upload-size = 1000\n\n\
             [[user]]\nname = \"alice\"\npassword-hash = \"{alice}\"\nroot = \"/alice\"\n\
             permissions = \"rw\"\n\n\
             [[user]]\nname = \"bob\"\npassword-hash = \"{bob}\"\n"
        ),
    )
    .unwrap();
    assert_eq!(
        check(&config),
        (
            0,
            format!("{}: OK (2 users, anonymous access)", config.display())
        )
    );
    let server = start(&config, &[]);

    // alice: her own root, writable, under the file's upload limit.
    let (mut a, code) = Control::login(server.addr, "alice", "alice-pw");
    assert_eq!(code, 230);
    assert_eq!(a.cmd("TYPE I"), 200);
    assert_eq!(a.transfer("STOR mine.txt", Some(b"alice's")).0, 226);
    assert_eq!(
        std::fs::read(root.join("alice/mine.txt")).unwrap(),
        b"alice's"
    );
    assert_eq!(a.transfer("STOR big.bin", Some(&[0; 1001])).0, 552);
    // bob: the whole tree, read-only (writable is not set).
    let (mut b, code) = Control::login(server.addr, "bob", "bob-pw");
    assert_eq!(code, 230);
    assert_eq!(
        b.transfer("RETR /alice/mine.txt", None),
        (226, b"alice's".to_vec())
    );
    assert_eq!(b.transfer("STOR nope.txt", Some(b"x")).0, 550);
    // anonymous: /pub as its root, uploads only into /incoming.
    let (mut anon, code) = Control::login(server.addr, "anonymous", "a@b");
    assert_eq!(code, 230);
    assert_eq!(anon.cmd("TYPE I"), 200);
    assert_eq!(
        anon.transfer("RETR readme.txt", None),
        (226, b"hello\n".to_vec())
    );
    assert_eq!(
        anon.transfer("STOR /incoming/drop.txt", Some(b"gift")).0,
        226
    );
    assert_eq!(
        std::fs::read(root.join("pub/incoming/drop.txt")).unwrap(),
        b"gift"
    );
    assert_eq!(anon.transfer("RETR /incoming/drop.txt", None).0, 550);
    assert_eq!(anon.transfer("STOR readme.txt", Some(b"x")).0, 550);
    // The file's idle timeout (2 s).
    std::thread::sleep(Duration::from_millis(2600));
    assert_eq!(a.reply().0, 421);
    assert_eq!(Control::login(server.addr, "carol", "x").1, 530);
}

#[test]
fn check_config_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ftpd.toml");
    let root = dir.path().display().to_string();
    let case = |text: &str| {
        std::fs::write(&file, text).unwrap();
        check(&file)
    };
    let f = file.display().to_string();
    assert_eq!(
        case("root = \"/\"\n\nmax-conections = 5\n"),
        (1, format!("ftpd: {f}:3: unknown setting `max-conections`"))
    );
    let (code, text) = case("writable = true\nmax-connections = \"many\"\n");
    assert_eq!(code, 1);
    assert!(
        text.starts_with(&format!(
            "ftpd: {f}:2: `max-connections`: invalid value 'many'"
        )),
        "{text}"
    );
    let (code, text) = case("passive-ports = \"60000-50000\"\n");
    assert_eq!(code, 1);
    assert!(
        text.starts_with(&format!("ftpd: {f}:1: `passive-ports`:")),
        "{text}"
    );
    assert_eq!(
        case("writable = \"yes\"\n"),
        (1, format!("ftpd: {f}:1: `writable` is true or false"))
    );
    let (code, text) = case("bind = [\"127.0.0.1:21\"\n");
    assert_eq!(code, 1);
    assert!(text.starts_with(&format!("ftpd: {f}:1")), "{text}");
    assert_eq!(
        case("[[user]]\nname = \"a\"\npassword-hash = \"secret\"\n"),
        (
            1,
            format!(
                "ftpd: {f}:3: password-hash is not an Argon2 PHC hash (make one with `ftpd hash-password`)"
            )
        )
    );
    let h = hash("x");
    assert_eq!(
        case(&format!(
            "[[user]]\nname = \"a\"\npassword-hash = \"{h}\"\n[[user]]\nname = \"a\"\npassword-hash = \"{h}\"\n"
        )),
        (1, format!("ftpd: {f}:5: user \"a\" is listed twice"))
    );
    assert_eq!(
        case(&format!(
            "[[user]]\nname = \"a\"\npassword-hash = \"{h}\"\npermissions = \"rwx\"\n"
        ))
        .0,
        1
    );
    // What only the whole command line can tell: a key without its certificate.
    let (code, text) = case("tls-key = \"/nonexistent/key.pem\"\n");
    assert_eq!(code, 1);
    assert!(
        text.contains("--tls-cert") && text.contains("(with the command line)"),
        "{text}"
    );
    // A certificate that cannot be read.
    let (code, text) = case(&format!(
        "root = {root:?}\ntls-cert = \"/nonexistent/c.pem\"\ntls-key = \"/nonexistent/k.pem\"\n"
    ));
    assert_eq!(code, 1);
    assert!(text.contains("/nonexistent/c.pem"), "{text}");
    assert_eq!(
        case(&format!(
            "root = {root:?}\n[[user]]\nname = \"a\"\npassword-hash = \"{h}\"\n"
        )),
        (0, format!("{f}: OK (1 users)"))
    );
}

#[test]
fn example_config_and_unit_pass_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("ftpd.toml");
    // The example serves /srv/ftp: here a directory of our own stands in for it.
    let text = std::fs::read_to_string(&example).unwrap().replace(
        "\"/srv/ftp\"",
        &format!("{:?}", dir.path().display().to_string()),
    );
    let file = dir.path().join("ftpd.toml");
    std::fs::write(&file, text).unwrap();
    assert_eq!(
        check(&file),
        (
            0,
            format!("{}: OK (2 users, anonymous access)", file.display())
        )
    );
    // The unit checks the same file before it starts, and reloads with SIGHUP.
    let unit = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ftpd.service"))
        .unwrap();
    for line in [
        "ExecStartPre=/usr/local/bin/ftpd --config /etc/ftpd/ftpd.toml --check-config",
        "ExecStart=/usr/local/bin/ftpd --config /etc/ftpd/ftpd.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "KillSignal=SIGINT",
    ] {
        assert!(unit.lines().any(|l| l == line), "{line}");
    }
}

#[test]
fn sighup_reloads_the_users_and_sessions_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ftpd.toml");
    let root = dir.path().display().to_string();
    let user = |name: &str, pw: &str| {
        format!(
            "[[user]]\nname = \"{name}\"\npassword-hash = \"{}\"\n",
            hash(pw)
        )
    };
    std::fs::write(
        &config,
        format!("root = {root:?}\n{}", user("alice", "a-pw")),
    )
    .unwrap();
    let server = start(&config, &[]);
    let (mut alice, code) = Control::login(server.addr, "alice", "a-pw");
    assert_eq!(code, 230);
    assert_eq!(Control::login(server.addr, "carol", "c-pw").1, 530);

    std::fs::write(
        &config,
        format!("root = {root:?}\n{}", user("carol", "c-pw")),
    )
    .unwrap();
    let hup = |pid: u32| {
        let status = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    hup(server.child.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    while Control::login(server.addr, "carol", "c-pw").1 != 230 {
        assert!(Instant::now() < deadline, "carol never got in");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        Control::login(server.addr, "alice", "a-pw").1,
        530,
        "alice is gone"
    );
    assert_eq!(
        alice.cmd("PWD"),
        257,
        "the session logged in before goes on"
    );
    assert_eq!(alice.cmd("NOOP"), 200);

    // A broken file changes nothing.
    std::fs::write(&config, "root = \n").unwrap();
    hup(server.child.id());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(Control::login(server.addr, "carol", "c-pw").1, 230);
}
