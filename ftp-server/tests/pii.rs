//! No password reaches a log line, whatever the log level (as str0m's `tests/pii.rs` checks).
//! Its own test binary: it installs a global subscriber that captures every event.

mod common;

use common::{Capture, Client, Rt, options, start};
use ftp_proto::{Permissions, VirtualPath};
use ftp_server::auth::UserTable;
use ftp_server::storage::memory::MemoryStorage;

#[test]
fn passwords_never_reach_the_logs() {
    let logs = Capture::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        // Plain text whatever features the workspace turns on (examples enables `ansi`).
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let users = UserTable::new().with_user(
        "alice",
        b"s3cret-Pa55word",
        VirtualPath::root(),
        Permissions::ALL,
    );
    let server = start(Rt::Tokio, MemoryStorage::new(), users, options());
    let mut c = Client::connect(server.addr);
    assert_eq!(c.code("USER alice"), 331);
    assert_eq!(c.code("PASS wrong-Pa55word-guess"), 530);
    assert_eq!(c.code("USER alice"), 331);
    assert_eq!(c.code("PASS s3cret-Pa55word"), 230);
    assert_eq!(c.code("PASS s3cret-Pa55word"), 202);
    // The audit trail: changes to files, and a refused bounce.
    assert_eq!(c.code("MKD /made"), 257);
    assert_eq!(c.code("RNFR /made"), 350);
    assert_eq!(c.code("RNTO /renamed"), 250);
    assert_eq!(c.code("RMD /renamed"), 250);
    assert_eq!(c.code("PORT 192,0,2,1,200,10"), 504);
    // A password under a mistyped verb is not shown either.
    assert_eq!(c.code("PASSS typo-Pa55word"), 500);
    // A path with terminal escapes reaches the logs escaped.
    assert_eq!(c.code("SIZE /\u{1b}[2Jcleared"), 550);
    assert_eq!(c.code("QUIT"), 221);
    // A user name with terminal escapes, at INFO level (a failed login).
    let mut c = Client::connect(server.addr);
    assert_eq!(c.code("USER \u{1b}]0;owned\u{7}mallory"), 331);
    assert_eq!(c.code("PASS x"), 530);
    drop(server);
    // A symbolic link out of the root, on the file-system back-end: refused and audited.
    #[cfg(unix)]
    {
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(top.path().join("secret.txt"), b"secret").unwrap();
        std::os::unix::fs::symlink("../secret.txt", root.join("link.txt")).unwrap();
        let users = UserTable::new().with_user("bob", b"pw", VirtualPath::root(), Permissions::ALL);
        let fs = ftp_server::storage::fs::FsStorage::new(&root).unwrap();
        let server = start(Rt::Tokio, fs, users, options());
        let mut c = Client::login(server.addr, "bob", "pw");
        assert_eq!(c.retr("RETR link.txt").1, 550);
        drop(server);
    }
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    #[cfg(unix)]
    assert!(
        text.contains("WARN ftp_server::audit: refused: a path leads outside the root"),
        "{text}"
    );
    assert!(
        text.contains("<- USER alice"),
        "commands are logged at debug level: {text}"
    );
    assert!(text.contains("PASS <redacted>"), "{text}");
    assert!(text.contains("logged in"), "{text}");
    for line in [
        "directory created peer=127.0.0.1:",
        "renamed peer=",
        "directory removed peer=",
        "refused: PORT to another host (bounce)",
    ] {
        assert!(text.contains(line), "{line} not in the audit log:\n{text}");
    }
    assert!(text.contains("from=/made to=/renamed"), "{text}");
    assert!(
        text.contains("WARN ftp_server::audit: refused: PORT"),
        "{text}"
    );
    // Each reply is logged beside its command.
    assert!(text.contains("-> 230 "), "{text}");
    assert!(text.contains("-> 550 "), "{text}");
    assert!(text.contains("PASSS <13 bytes not shown>"), "{text}");
    assert!(text.contains("\\u{1b}[2Jcleared"), "{text}");
    assert!(text.contains("\\u{1b}]0;owned\\u{7}mallory"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "a raw escape reached the logs:\n{text}"
    );
    for secret in [
        "s3cret-Pa55word",
        "wrong-Pa55word-guess",
        "Pa55word",
        "typo",
    ] {
        assert!(!text.contains(secret), "{secret} reached the logs:\n{text}");
    }
}
