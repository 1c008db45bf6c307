//! Replays the committed corpus of the whole-server fuzz target (`fuzz/corpus/server_e2e/`)
//! through the same harness, so an ordinary `cargo test` covers every input the fuzzer kept.
//! (The hang it found, ABOR while a data connection was still awaited, is pinned by
//! `e2e::abort_before_the_data_connection_opens`.)

use ftp_server::fuzzing as server_e2e;

use std::path::Path;

#[test]
fn every_server_corpus_input_runs_to_completion() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/server_e2e");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| server_e2e::run(&data));
        assert!(result.is_ok(), "input {} fails", path.display());
        count += 1;
    }
    assert!(count > 100, "only {count} inputs");
}

/// The PROXY header target's corpus (`fuzz/corpus/proxy_header/`), through its harness.
#[test]
fn every_proxy_header_corpus_input_runs_to_completion() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/proxy_header");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| ftp_server::fuzzing::proxy_header(&data));
        assert!(result.is_ok(), "input {} fails", path.display());
        count += 1;
    }
    assert!(count >= 7, "only {count} inputs");
}
