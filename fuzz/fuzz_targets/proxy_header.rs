#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ftp_server::fuzzing::proxy_header(data));
