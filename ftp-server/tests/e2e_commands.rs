//! The server end to end over real sockets on 127.0.0.1, on tokio and on smol, continued: the
//! command families beyond transfers (FEAT and MLSx facts, IPv6, the X verbs, EPSV ALL, REIN,
//! HOST, per-user roots and permissions, serving sockets of one's own, active mode from port 20).

#[macro_use]
mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use common::{Client, Rt, options, start, start_on, start_self_accepting, storage, users};
use ftp_proto::listing::Metadata;
use ftp_proto::listing::{FactType, MlsxEntry, parse_listing, parse_mlsd, parse_mlsx_line};
use ftp_proto::server::WriteMode;
use ftp_proto::{Permissions, VirtualPath};
use ftp_server::auth::{AuthError, Authenticator, Credentials, Principal, UserTable};
use ftp_server::storage::memory::{MemoryLister, MemoryReader, MemoryStorage, MemoryWriter};
use ftp_server::storage::{Storage, StorageError};

on_both_runtimes!(
    feat_follows_the_back_end,
    mlsd_and_mlst_facts,
    ipv6_epsv_and_eprt,
    x_variants,
    epsv_all_refuses_the_others,
    rein_needs_a_new_login,
    host_reaches_the_authenticator,
    allo_stru_mode,
    list_dash_a_alone,
    malformed_eprt,
    per_user_roots,
    per_flag_permissions,
    handle_connection_on_a_socket_of_our_own,
    active_mode_from_a_fixed_local_port,
);

/// A back-end with only the required methods, as the README's: everything else declines.
struct RequiredOnly(MemoryStorage);

#[async_trait]
impl Storage for RequiredOnly {
    type Reader = MemoryReader;
    type Writer = MemoryWriter;
    type Lister = MemoryLister;

    async fn metadata(&self, u: &Principal, p: &VirtualPath) -> Result<Metadata, StorageError> {
        self.0.metadata(u, p).await
    }

    async fn list(&self, u: &Principal, p: &VirtualPath) -> Result<MemoryLister, StorageError> {
        self.0.list(u, p).await
    }

    async fn open_read(
        &self,
        u: &Principal,
        p: &VirtualPath,
        offset: u64,
    ) -> Result<MemoryReader, StorageError> {
        self.0.open_read(u, p, offset).await
    }

    async fn open_write(
        &self,
        u: &Principal,
        p: &VirtualPath,
        mode: WriteMode,
    ) -> Result<MemoryWriter, StorageError> {
        self.0.open_write(u, p, mode).await
    }
}

/// FEAT lists MFMT only for a back-end that sets modification times.
fn feat_follows_the_back_end(rt: Rt) {
    let server = start(rt, RequiredOnly(storage()), users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    let feat = c.cmd("FEAT");
    assert_eq!(
        String::from_utf8_lossy(&feat.to_bytes()),
        common::FULL_FEAT.replace(" MFMT\r\n", "")
    );
    assert_eq!(c.code("MFMT 20240115000000 pub/readme.txt"), 502);
    assert_eq!(c.code("HELP MFMT"), 502, "not offered, not in HELP");
    // What the back-end declines is 502 too.
    assert_eq!(c.code("MKD new"), 502);
    assert_eq!(c.code("DELE pub/readme.txt"), 502);
    // What it does implement works.
    let (got, code) = c.retr("RETR pub/readme.txt");
    assert_eq!(
        (got.as_slice(), code),
        (&b"line one\r\nline two\r\n"[..], 226)
    );
}

fn mlsx_by_name<'a>(entries: &'a [MlsxEntry], name: &str) -> &'a MlsxEntry {
    entries
        .iter()
        .find(|e| e.name.as_ref() == name.as_bytes())
        .unwrap_or_else(|| panic!("{name} not listed in {entries:?}"))
}

fn secs(time: SystemTime) -> i64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// MLSD and MLST facts from the file-system back-end: modify is the file's mtime, perm the
/// user's permissions, unique one per file.
fn mlsd_and_mlst_facts(rt: Rt) {
    use ftp_server::storage::fs::FsStorage;
    let top = tempfile::tempdir().unwrap();
    let set_mtime = |name: &str, at: u64| {
        let f = std::fs::File::options()
            .write(true)
            .open(top.path().join(name))
            .unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(at))
            .unwrap();
    };
    std::fs::write(top.path().join("a.txt"), b"alpha").unwrap();
    std::fs::write(top.path().join("b.txt"), b"beta").unwrap();
    std::fs::create_dir(top.path().join("sub")).unwrap();
    set_mtime("a.txt", 1_614_834_367); // 2021-03-04 05:06:07 UTC
    set_mtime("b.txt", 1_000_000_000);
    let sub_mtime = secs(
        std::fs::metadata(top.path().join("sub"))
            .unwrap()
            .modified()
            .unwrap(),
    );
    let server = start(rt, FsStorage::new(top.path()).unwrap(), users(), options());
    // (user, password, file perm, directory perm)
    for (user, pass, file_perm, dir_perm) in [
        ("alice", "wonderland", "rawdf", "elcmpdf"),
        ("reader", "books", "r", "el"),
    ] {
        let mut c = Client::login(server.addr, user, pass);
        let (body, code) = c.retr("MLSD");
        assert_eq!(code, 226, "{user}");
        let entries: Vec<MlsxEntry> = parse_mlsd(&body).map(Result::unwrap).collect();
        let a = mlsx_by_name(&entries, "a.txt");
        let b = mlsx_by_name(&entries, "b.txt");
        let sub = mlsx_by_name(&entries, "sub");
        assert_eq!(a.facts.kind, Some(FactType::File));
        assert_eq!(a.facts.size, Some(5));
        assert_eq!(a.facts.modify.unwrap().unix_seconds(), 1_614_834_367);
        assert_eq!(a.facts.modify.unwrap().to_string(), "20210304050607");
        assert_eq!(b.facts.modify.unwrap().unix_seconds(), 1_000_000_000);
        assert_eq!(sub.facts.kind, Some(FactType::Dir));
        assert_eq!(sub.facts.modify.unwrap().unix_seconds(), sub_mtime);
        assert_eq!(
            a.facts.perm.as_deref(),
            Some(file_perm.as_bytes()),
            "{user}"
        );
        assert_eq!(
            b.facts.perm.as_deref(),
            Some(file_perm.as_bytes()),
            "{user}"
        );
        assert_eq!(
            sub.facts.perm.as_deref(),
            Some(dir_perm.as_bytes()),
            "{user}"
        );
        let uniques = [&a.facts.unique, &b.facts.unique, &sub.facts.unique];
        assert!(
            uniques
                .iter()
                .all(|u| u.as_ref().is_some_and(|u| !u.is_empty()))
        );
        assert_ne!(a.facts.unique, b.facts.unique);
        assert_ne!(a.facts.unique, sub.facts.unique);
        // MLST of one file: the same facts on the control connection, with the full path.
        let mlst = c.cmd("MLST a.txt");
        assert_eq!(mlst.code().as_u16(), 250, "{mlst}");
        let line = mlst.lines().nth(1).unwrap();
        assert_eq!(
            line.first(),
            Some(&b' '),
            "RFC 3659 §7.2: one leading space"
        );
        let one = parse_mlsx_line(&line[1..]).unwrap();
        assert_eq!(one.name.as_ref(), b"/a.txt");
        assert_eq!(one.facts.modify, a.facts.modify);
        assert_eq!(one.facts.perm, a.facts.perm);
        assert_eq!(one.facts.unique, a.facts.unique);
        assert_eq!(one.facts.size, Some(5));
        let dir = c.cmd("MLST sub");
        let one = parse_mlsx_line(&dir.lines().nth(1).unwrap()[1..]).unwrap();
        assert_eq!(one.facts.perm.as_deref(), Some(dir_perm.as_bytes()));
        assert_eq!(one.facts.unique, sub.facts.unique);
        assert_eq!(c.code("MLST missing.txt"), 550);
    }
}

/// A server on [::1]: EPSV and EPRT |2| carry transfers; the IPv4-only forms are refused.
fn ipv6_epsv_and_eprt(rt: Rt) {
    let loopback = SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 0);
    if let Err(e) = TcpListener::bind(loopback) {
        eprintln!("skipping ipv6_epsv_and_eprt: cannot bind [::1]: {e}");
        return;
    }
    let storage = storage();
    let server = start_on(rt, loopback, storage.clone(), users(), options());
    assert!(server.addr.is_ipv6());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.code("TYPE I"), 200);
    // EPSV: the listener is on ::1.
    let data_conn = c.passive();
    assert_eq!(data_conn.peer_addr().unwrap().ip(), Ipv6Addr::LOCALHOST);
    drop(data_conn);
    assert_eq!(c.code("ABOR"), 225);
    let (got, code) = c.retr("RETR pub/readme.txt");
    assert_eq!((got.as_slice(), code), (&b"line one\nline two\n"[..], 226));
    assert_eq!(c.stor("STOR v6.txt", b"over IPv6"), 226);
    assert_eq!(storage.read_file("/v6.txt").unwrap().as_ref(), b"over IPv6");
    // EPRT |2|::1|port|: the server connects to our listener on ::1.
    let listener = TcpListener::bind(loopback).unwrap();
    let port = listener.local_addr().unwrap().port();
    assert_eq!(c.code(&format!("EPRT |2|::1|{port}|")), 200);
    assert_eq!(c.code("RETR pub/readme.txt"), 150);
    let (mut active, from) = listener.accept().unwrap();
    assert_eq!(from.ip(), Ipv6Addr::LOCALHOST);
    let mut got = Vec::new();
    active.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"line one\nline two\n");
    assert_eq!(c.reply().code().as_u16(), 226);
    // An IPv6 control connection: PASV, PORT and IPv4 EPRT cannot work (522).
    assert_eq!(c.code("PASV"), 522);
    assert_eq!(c.code("PORT 127,0,0,1,100,100"), 522);
    assert_eq!(c.code("EPRT |1|127.0.0.1|25700|"), 522);
    assert_eq!(c.code("EPSV 1"), 522);
    assert_eq!(c.cmd("EPSV 2").code().as_u16(), 229);
}

/// The RFC 775 X-variants behave as their RFC 959 twins.
fn x_variants(rt: Rt) {
    let server = start(rt, storage(), users(), options());
    let mut c = Client::connect(server.addr);
    assert_eq!(c.code("XPWD"), 530, "login first");
    assert_eq!(c.code("XMKD made"), 530);
    let mut c = Client::login(server.addr, "alice", "wonderland");
    let pwd = |c: &mut Client| String::from_utf8_lossy(&c.cmd("XPWD").to_bytes()).into_owned();
    assert_eq!(pwd(&mut c), "257 \"/\" is the current directory\r\n");
    assert_eq!(
        c.cmd("XMKD made").to_bytes().as_ref(),
        b"257 \"/made\" created\r\n"
    );
    assert_eq!(c.code("XMKD made"), 550, "exists");
    assert_eq!(c.code("XCWD made"), 250);
    assert_eq!(pwd(&mut c), "257 \"/made\" is the current directory\r\n");
    assert_eq!(c.code("XCWD /pub"), 250);
    assert_eq!(pwd(&mut c), "257 \"/pub\" is the current directory\r\n");
    assert_eq!(c.code("XCUP"), 250);
    assert_eq!(pwd(&mut c), "257 \"/\" is the current directory\r\n");
    assert_eq!(c.code("XRMD made"), 250);
    assert_eq!(c.code("XCWD made"), 550, "removed");
    assert_eq!(c.code("XRMD made"), 550);
    assert_eq!(c.code("XRMD pub"), 550, "not empty");
}

/// After EPSV ALL only EPSV sets up data connections (RFC 2428 §4).
fn epsv_all_refuses_the_others(rt: Rt) {
    let server = start(rt, storage(), users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.code("EPSV ALL"), 200);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let SocketAddr::V4(addr) = listener.local_addr().unwrap() else {
        unreachable!()
    };
    assert_eq!(c.code("PASV"), 503);
    assert_eq!(
        c.code(&format!("PORT {}", ftp_proto::address::format_port(addr))),
        503
    );
    assert_eq!(c.code(&format!("EPRT |1|127.0.0.1|{}|", addr.port())), 503);
    assert_eq!(
        c.code("RETR pub/readme.txt"),
        425,
        "no data connection was set up"
    );
    let (got, code) = c.retr("RETR pub/readme.txt");
    assert_eq!((got.len(), code), (20, 226), "EPSV still works");
    assert_eq!(c.code("PASV"), 503, "for the rest of the session");
}

/// REIN forgets the login (and the rest of the session state).
fn rein_needs_a_new_login(rt: Rt) {
    let server = start(rt, storage(), users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.code("CWD pub"), 250);
    assert_eq!(c.code("TYPE I"), 200);
    let r = c.cmd("EPSV");
    let port = ftp_proto::address::parse_epsv_reply(r.first_line()).unwrap();
    assert_eq!(c.code("REIN"), 220);
    for line in [
        "PWD",
        "RETR readme.txt",
        "LIST",
        "CWD /",
        "STOR x",
        "DELE readme.txt",
    ] {
        assert_eq!(c.code(line), 530, "{line} after REIN");
    }
    // The passive listener is gone with the session state.
    let mut closed = false;
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(closed, "passive listener closed by REIN");
    // A new login, as somebody else: their permissions, the root, TYPE A again.
    assert_eq!(c.code("USER reader"), 331);
    assert_eq!(c.code("PASS books"), 230);
    assert_eq!(
        c.cmd("PWD").to_bytes().as_ref(),
        b"257 \"/\" is the current directory\r\n"
    );
    assert_eq!(
        c.code("DELE pub/readme.txt"),
        550,
        "reader's permissions now"
    );
    let (got, code) = c.retr("RETR pub/readme.txt");
    assert_eq!(
        (got.as_slice(), code),
        (&b"line one\r\nline two\r\n"[..], 226)
    );
}

/// Admits users only on one virtual host.
struct OneVirtualHost(UserTable);

#[async_trait]
impl Authenticator for OneVirtualHost {
    async fn authenticate(&self, credentials: &Credentials) -> Result<Principal, AuthError> {
        if credentials.host.as_deref() != Some(&b"files.example.com"[..]) {
            return Err(AuthError::InvalidCredentials);
        }
        self.0.authenticate(credentials).await
    }
}

/// HOST (RFC 7151) before USER reaches the authenticator; afterwards it is a bad sequence.
fn host_reaches_the_authenticator(rt: Rt) {
    let server = start(rt, storage(), OneVirtualHost(users()), options());
    let mut c = Client::connect(server.addr);
    assert_eq!(c.code("USER alice"), 331);
    assert_eq!(c.code("PASS wonderland"), 530, "no HOST, no login");
    let mut c = Client::connect(server.addr);
    assert_eq!(c.code("HOST other.example.com"), 220);
    assert_eq!(c.code("USER alice"), 331);
    assert_eq!(c.code("PASS wonderland"), 530, "the wrong host");
    let mut c = Client::connect(server.addr);
    assert_eq!(c.code("HOST files.example.com"), 220);
    assert_eq!(c.code("USER alice"), 331);
    assert_eq!(c.code("HOST late.example.com"), 503, "HOST after USER");
    assert_eq!(c.code("USER alice"), 331);
    assert_eq!(c.code("PASS wonderland"), 230);
    assert_eq!(c.code("HOST files.example.com"), 503, "HOST after login");
    assert_eq!(c.code("NOOP"), 200);
}

/// ALLO needs nothing (202); only STRU F and MODE S are supported (504 otherwise).
fn allo_stru_mode(rt: Rt) {
    let server = start(rt, storage(), users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.code("ALLO 1000"), 202);
    assert_eq!(c.code("ALLO 1000 R 512"), 202);
    for line in ["STRU R", "STRU P", "MODE B", "MODE C"] {
        assert_eq!(c.code(line), 504, "{line}");
    }
    assert_eq!(c.code("STRU F"), 200);
    assert_eq!(c.code("MODE S"), 200);
    // An upload after ALLO works as any other.
    assert_eq!(c.code("ALLO 5"), 202);
    assert_eq!(c.stor("STOR allo.txt", b"12345"), 226);
    assert_eq!(c.cmd("SIZE allo.txt").to_bytes().as_ref(), b"213 5\r\n");
}

/// `LIST -a` alone lists the current directory, hidden names included; `-a` is no path.
fn list_dash_a_alone(rt: Rt) {
    let server = start(rt, storage(), users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.code("CWD pub"), 250);
    let names = |c: &mut Client, line: &str| -> Vec<String> {
        let (body, code) = c.retr(line);
        assert_eq!(code, 226, "{line}");
        parse_listing(&body)
            .map(|e| String::from_utf8_lossy(&e.unwrap().name).into_owned())
            .collect()
    };
    assert_eq!(
        names(&mut c, "LIST -a"),
        [".hidden", "readme.txt", "résumé ünï.txt", "with spaces.txt"]
    );
    assert_eq!(
        names(&mut c, "LIST"),
        ["readme.txt", "résumé ünï.txt", "with spaces.txt"]
    );
    assert_eq!(names(&mut c, "LIST -la"), names(&mut c, "LIST -a"));
}

/// EPRT arguments that are not `<d>proto<d>address<d>port<d>` get 501; the session goes on.
fn malformed_eprt(rt: Rt) {
    let server = start(rt, storage(), users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    for line in [
        "EPRT |1|1.2.3|21|",
        "EPRT garbage",
        "EPRT |1|127.0.0.1|70000|",
        "EPRT |1|127.0.0.1|",
        "EPRT |1|127.0.0.1|port|",
        "EPRT |2|1.2.3.4|5000|",
        "EPRT",
    ] {
        let r = c.cmd(line);
        assert_eq!(r.code().as_u16(), 501, "{line}: {r}");
    }
    assert_eq!(c.code("NOOP"), 200);
    assert_eq!(
        c.code("RETR pub/readme.txt"),
        425,
        "no data channel was set"
    );
}

/// Two users with different homes: each sees only their own tree and cannot climb out.
fn per_user_roots(rt: Rt) {
    let storage = MemoryStorage::new();
    storage
        .insert_file("/homes/ann/mine.txt", &b"ann's"[..])
        .unwrap();
    storage
        .insert_file("/homes/bob/his.txt", &b"bob's"[..])
        .unwrap();
    storage.insert_file("/top.txt", &b"top"[..]).unwrap();
    let home = |name: &str| VirtualPath::root().resolve(format!("homes/{name}").as_bytes());
    let users = UserTable::new()
        .with_user("ann", b"ann-pw", home("ann"), Permissions::ALL)
        .with_user("bob", b"bob-pw", home("bob"), Permissions::ALL);
    let server = start(rt, storage.clone(), users, options());
    let mut ann = Client::login(server.addr, "ann", "ann-pw");
    let mut bob = Client::login(server.addr, "bob", "bob-pw");
    assert_eq!(ann.code("TYPE I"), 200);
    assert_eq!(bob.code("TYPE I"), 200);
    assert_eq!(ann.retr("NLST"), (b"mine.txt\r\n".to_vec(), 226));
    assert_eq!(bob.retr("NLST"), (b"his.txt\r\n".to_vec(), 226));
    assert_eq!(ann.retr("RETR mine.txt"), (b"ann's".to_vec(), 226));
    assert_eq!(bob.retr("RETR /his.txt"), (b"bob's".to_vec(), 226));
    for path in [
        "../bob/his.txt",
        "/homes/bob/his.txt",
        "../../top.txt",
        "/top.txt",
    ] {
        assert_eq!(ann.retr(&format!("RETR {path}")).1, 550, "{path}");
    }
    assert_eq!(bob.retr("RETR ../ann/mine.txt").1, 550);
    assert_eq!(ann.code("CWD ../bob"), 550);
    assert_eq!(ann.code("CWD .."), 250);
    assert_eq!(
        ann.cmd("PWD").to_bytes().as_ref(),
        b"257 \"/\" is the current directory\r\n",
        "the home is the root"
    );
    assert_eq!(ann.retr("NLST"), (b"mine.txt\r\n".to_vec(), 226));
    // Writes land in the writer's home, invisible to the other.
    assert_eq!(ann.stor("STOR new.txt", b"new"), 226);
    assert_eq!(
        storage.read_file("/homes/ann/new.txt").unwrap().as_ref(),
        b"new"
    );
    assert_eq!(bob.retr("RETR new.txt").1, 550);
    assert_eq!(bob.code("DELE ../ann/mine.txt"), 550);
    assert!(storage.read_file("/homes/ann/mine.txt").is_some());
}

/// Each permission flag on its own: what it grants works, everything else is 550.
fn per_flag_permissions(rt: Rt) {
    let only = |f: fn(&mut Permissions)| {
        let mut p = Permissions {
            list: true,
            ..Permissions::default()
        };
        f(&mut p);
        p
    };
    let users = users()
        .with_user("lr", b"pw", VirtualPath::root(), Permissions::READ_ONLY)
        .with_user("mk", b"pw", VirtualPath::root(), only(|p| p.mkdir = true))
        .with_user("del", b"pw", VirtualPath::root(), only(|p| p.delete = true))
        .with_user("ren", b"pw", VirtualPath::root(), only(|p| p.rename = true))
        .with_user("wr", b"pw", VirtualPath::root(), only(|p| p.write = true))
        .with_user(
            "nolist",
            b"pw",
            VirtualPath::root(),
            Permissions {
                read: true,
                ..Permissions::default()
            },
        );
    let storage = storage();
    storage.insert_file("/victim.txt", &b"v"[..]).unwrap();
    storage.insert_file("/empty/.x", &b""[..]).unwrap();
    let server = start(rt, storage.clone(), users, options());
    // List and read only.
    let mut c = Client::login(server.addr, "lr", "pw");
    for line in [
        "STOR up.txt",
        "APPE victim.txt",
        "STOU",
        "MKD d",
        "RMD empty",
        "DELE victim.txt",
        "RNFR victim.txt",
        "MFMT 20240115000000 victim.txt",
    ] {
        assert_eq!(c.code(line), 550, "lr: {line}");
    }
    assert_eq!(c.retr("RETR victim.txt"), (b"v".to_vec(), 226));
    let (list, code) = c.retr("LIST");
    assert_eq!(code, 226);
    assert!(String::from_utf8_lossy(&list).contains("victim.txt"));
    assert_eq!(c.code("CWD pub"), 250);
    // mkdir only.
    let mut c = Client::login(server.addr, "mk", "pw");
    assert_eq!(c.code("MKD made"), 257);
    assert_eq!(c.code("RMD made"), 550);
    assert_eq!(c.code("DELE victim.txt"), 550);
    assert_eq!(c.code("STOR x"), 550);
    assert_eq!(c.code("RETR victim.txt"), 550);
    // delete only.
    let mut c = Client::login(server.addr, "del", "pw");
    assert_eq!(c.code("RMD made"), 250);
    assert_eq!(c.code("MKD again"), 550);
    assert_eq!(c.code("RNFR victim.txt"), 550);
    assert_eq!(c.code("RETR victim.txt"), 550);
    assert_eq!(c.code("DELE empty/.x"), 250);
    assert!(storage.read_file("/empty/.x").is_none());
    // rename only.
    let mut c = Client::login(server.addr, "ren", "pw");
    assert_eq!(c.code("RNFR victim.txt"), 350);
    assert_eq!(c.code("RNTO renamed.txt"), 250);
    assert!(storage.read_file("/renamed.txt").is_some());
    assert_eq!(c.code("DELE renamed.txt"), 550);
    assert_eq!(c.code("STOR x"), 550);
    // write only.
    let mut c = Client::login(server.addr, "wr", "pw");
    assert_eq!(c.stor("STOR up.txt", b"uploaded"), 226);
    assert_eq!(storage.read_file("/up.txt").unwrap().as_ref(), b"uploaded");
    assert_eq!(c.code("MFMT 20240115000000 up.txt"), 213);
    assert_eq!(c.code("RETR up.txt"), 550, "no read");
    assert_eq!(c.code("DELE up.txt"), 550);
    assert_eq!(c.code("MKD d"), 550);
    // read without list: downloads, but no listings and no CWD.
    let mut c = Client::login(server.addr, "nolist", "pw");
    assert_eq!(c.code("LIST"), 550);
    assert_eq!(c.code("NLST"), 550);
    assert_eq!(c.code("CWD pub"), 550);
    assert_eq!(c.code("SIZE up.txt"), 550);
    assert_eq!(c.retr("RETR up.txt"), (b"uploaded".to_vec(), 226));
}

/// `handle_connection` on connections the test accepted itself on its own socket: the
/// sessions are full ones (transfers both ways, counted, shut down).
fn handle_connection_on_a_socket_of_our_own(rt: Rt) {
    let storage = storage();
    let server = start_self_accepting(rt, storage.clone(), users(), options());
    let mut a = Client::login(server.addr, "alice", "wonderland");
    let mut b = Client::login(server.addr, "reader", "books");
    assert_eq!(server.connections(), 2);
    assert_eq!(a.code("TYPE I"), 200);
    assert_eq!(a.retr("RETR pub/readme.txt").1, 226);
    assert_eq!(a.stor("STOR mine.bin", b"from a"), 226);
    assert_eq!(storage.read_file("/mine.bin").unwrap().as_ref(), b"from a");
    // Active mode checks the peer given to handle_connection.
    let listener = b.active();
    assert_eq!(b.code("RETR mine.bin"), 150);
    let (mut d, _) = listener.accept().unwrap();
    let mut got = Vec::new();
    d.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"from a");
    assert_eq!(b.reply().code().as_u16(), 226);
    assert_eq!(b.code("PORT 10,1,2,3,200,1"), 504, "not the peer");
    assert!(server.shutdown(Duration::from_secs(10)));
    assert_eq!(a.reply().code().as_u16(), 421);
    assert_eq!(b.reply().code().as_u16(), 421);
    assert_eq!(server.connections(), 0);
}

/// `ServerOptions::active_local_port`: active data connections come from that port.
fn active_mode_from_a_fixed_local_port(rt: Rt) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let opts = options().active_local_port(port);
    let server = start(rt, storage(), users(), opts);
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.code("TYPE I"), 200);
    let expected = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port);
    // Twice, so the port is reused while the first connection lingers in TIME_WAIT.
    for round in 0..2 {
        let listener = c.active();
        assert_eq!(c.code("RETR pub/readme.txt"), 150);
        let (mut d, from) = listener.accept().unwrap();
        assert_eq!(from, expected, "round {round}");
        let mut got = Vec::new();
        d.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"line one\nline two\n");
        assert_eq!(c.reply().code().as_u16(), 226);
    }
    // An upload the same way.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let lport = listener.local_addr().unwrap().port();
    assert_eq!(c.code(&format!("EPRT |1|127.0.0.1|{lport}|")), 200);
    assert_eq!(c.code("STOR up.bin"), 150);
    let (mut d, from) = listener.accept().unwrap();
    assert_eq!(from, expected);
    d.write_all(b"active upload").unwrap();
    drop(d);
    assert_eq!(c.reply().code().as_u16(), 226);
}
