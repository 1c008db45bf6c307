//! A flood of password logins does not starve file operations: hashing runs on a pool of its
//! own (one worker per CPU, a bounded queue; excess logins get 421 at once), apart from the
//! blocking threads that serve storage, and its threads end once the burst is over. Its own
//! test binary: the pool is process-wide.

#[macro_use]
mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Client, Rt, options, start, storage, users};

fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .filter(|name| name.starts_with(prefix))
                .count()
        })
        .unwrap_or(0)
}

fn flood(rt: Rt) {
    // Without the verified-credentials cache: every login of the flood is an Argon2 run (as
    // a flood of guesses is; the cache only spares logins that already succeeded).
    let users = users().credential_cache(None);
    let server = start(rt, storage(), users, options());
    let addr = server.addr;
    // A user already logged in, who lists during the flood.
    let mut busy = Client::login(addr, "alice", "wonderland");
    let logins: Vec<_> = (0..150)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                s.write_all(b"USER alice\r\nPASS wonderland\r\n").unwrap();
                let mut r = BufReader::new(s);
                let mut codes = Vec::new();
                for _ in 0..3 {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    codes.push(line.get(..3).unwrap_or_default().to_owned());
                }
                codes
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    let cpus = std::thread::available_parallelism().map_or(2, usize::from);
    assert!(
        threads_named("ftp-hash") <= cpus,
        "more hashing threads than CPUs"
    );
    let started = Instant::now();
    let (listing, code) = busy.retr("NLST /pub");
    assert_eq!(code, 226);
    assert!(!listing.is_empty());
    let took = started.elapsed();
    let results: Vec<Vec<String>> = logins.into_iter().map(|t| t.join().unwrap()).collect();
    let ok = results
        .iter()
        .filter(|c| c.last().is_some_and(|c| c == "230"))
        .count();
    let busy_refused = results
        .iter()
        .filter(|c| c.last().is_some_and(|c| c == "421"))
        .count();
    assert_eq!(ok + busy_refused, results.len(), "{results:?}");
    assert!(
        ok >= 1 && busy_refused >= 1,
        "{ok} logged in, {busy_refused} refused"
    );
    assert!(
        took < Duration::from_secs(3),
        "a listing took {took:?} during the flood"
    );
    assert!(threads_named("ftp-hash") <= cpus);
}

#[test]
fn a_login_flood_gets_421_and_file_operations_go_on() {
    flood(Rt::Tokio);
    flood(Rt::Smol);
    // The burst's hashing threads go away with it (10 s without work). (Its memory is
    // measured on ftpd, in its own process: examples/tests/ftpd_admin.rs.)
    let deadline = Instant::now() + Duration::from_secs(20);
    while threads_named("ftp-hash") > 0 {
        assert!(Instant::now() < deadline, "hashing threads still there");
        std::thread::sleep(Duration::from_millis(200));
    }
}
