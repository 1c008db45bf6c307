#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ftp_fuzz::client_e2e::run(data));
