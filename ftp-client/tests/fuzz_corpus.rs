//! Replays the committed corpus of the whole-client fuzz target (`fuzz/corpus/client_e2e/`)
//! through the same harness, so an ordinary `cargo test` covers every input the fuzzer kept:
//! no panic, no hang, every command sent parses back.

use ftp_client::fuzzing as client_e2e;

use std::path::Path;

#[test]
fn every_client_corpus_input_runs_to_completion() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/client_e2e");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| client_e2e::run(&data));
        assert!(result.is_ok(), "input {} fails", path.display());
        count += 1;
    }
    assert!(count >= 4, "only {count} inputs");
}
