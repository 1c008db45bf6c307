#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ftp_client::fuzzing::run(data));
