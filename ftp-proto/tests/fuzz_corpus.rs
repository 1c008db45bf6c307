//! Replays the committed fuzz corpora (`fuzz/corpus/TARGET/`) through the same checks the fuzz
//! targets run, so an ordinary `cargo test` covers every input the fuzzers kept, crashes they
//! found included, without a fuzzer.

use ftp_proto::fuzzing as checks;

use std::path::Path;

type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 8] = [
    ("command", checks::command),
    ("reply", checks::reply),
    ("framing", checks::framing),
    ("address", checks::address),
    ("listing", checks::listing),
    ("server_session", checks::server_session),
    ("client_session", checks::client_session),
    ("glob", checks::glob),
];

#[test]
fn every_corpus_input_passes_its_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (target, check) in TARGETS {
        let dir = root.join(target);
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| check(&data));
            assert!(
                result.is_ok(),
                "{target}: input {} fails its check",
                path.display()
            );
            count += 1;
        }
        assert!(count > 0, "{target}: empty corpus");
    }
}
