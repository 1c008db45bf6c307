//! Benchmarks of the FTP workspace: see `benches/` and README.md.
//!
//! This library holds the shared corpora so that benches and tests use the same inputs.

#![forbid(unsafe_code)]

/// A realistic mix of client command lines, as a server reads them (CRLF included).
pub fn command_corpus() -> Vec<u8> {
    let lines: &[&str] = &[
        "USER bench",
        "PASS bench",
        "SYST",
        "FEAT",
        "PWD",
        "TYPE I",
        "CWD /srv/ftp/projekte/übersicht/2026/november",
        "EPSV",
        "LIST -la",
        "EPSV",
        "MLSD /srv/ftp/projekte/übersicht/2026",
        "EPSV",
        "RETR /srv/ftp/projekte/übersicht/2026/november/résumé final version.pdf",
        "PORT 127,0,0,1,195,80",
        "EPRT |2|::1|50001|",
        "STOR /srv/ftp/uploads/données brutes/capture 2026-11-24 08h28.pcapng",
        "SIZE /srv/ftp/uploads/archive.tar.gz",
        "MDTM /srv/ftp/uploads/archive.tar.gz",
        "REST 1048576",
        "NOOP",
        "QUIT",
    ];
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A `211` FEAT reply of `lines` lines, as servers send it.
pub fn feat_reply(lines: usize) -> Vec<u8> {
    let mut out = b"211-Features:\r\n".to_vec();
    let features = [
        " EPRT",
        " EPSV",
        " MDTM",
        " MLST type*;size*;modify*;perm*;",
        " REST STREAM",
        " SIZE",
        " TVFS",
        " UTF8",
    ];
    for i in 0..lines.saturating_sub(2) {
        out.extend_from_slice(features[i % features.len()].as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"211 End\r\n");
    out
}

/// A `213` STAT reply listing a directory of `lines` lines.
pub fn stat_reply(lines: usize) -> Vec<u8> {
    let mut out = b"213-Status of /srv/ftp:\r\n".to_vec();
    for i in 0..lines.saturating_sub(2) {
        out.extend_from_slice(
            format!("-rw-r--r--    1 ftp      ftp          {i:>6} Nov 24 08:28 file-{i}.txt\r\n")
                .as_bytes(),
        );
    }
    out.extend_from_slice(b"213 End of status\r\n");
    out
}

fn fixture_lines(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.as_bytes().to_vec())
        .collect()
}

/// `LIST` lines of Unix servers (captured from vsftpd, ProFTPD, Pure-FTPd, pyftpdlib, libunftp).
pub fn unix_list_lines() -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for text in [
        include_str!("../../ftp-proto/tests/fixtures/servers/vsftpd-3.0.3/list-la.txt"),
        include_str!("../../ftp-proto/tests/fixtures/servers/proftpd-1.3.8/list-la.txt"),
        include_str!("../../ftp-proto/tests/fixtures/servers/pure-ftpd-1.0.50/list-la.txt"),
        include_str!("../../ftp-proto/tests/fixtures/servers/pyftpdlib-2.2.0/list-la.txt"),
        include_str!("../../ftp-proto/tests/fixtures/servers/libunftp-0.24/list-la.txt"),
    ] {
        lines.extend(fixture_lines(text).into_iter().map(|mut l| {
            l.retain(|&b| b != b'\r');
            l
        }));
    }
    lines
}

fn other_formats_block(first: u8) -> Vec<Vec<u8>> {
    fixture_lines(include_str!(
        "../../ftp-proto/tests/fixtures/listings/other-formats.txt"
    ))
    .into_iter()
    .filter(|l| l.first() == Some(&first))
    .collect()
}

/// Windows/IIS `LIST` lines (hand-written samples of the documented format).
pub fn dos_list_lines() -> Vec<Vec<u8>> {
    let mut lines = other_formats_block(b'0');
    lines.extend(other_formats_block(b'1'));
    lines
}

/// EPLF `LIST` lines.
pub fn eplf_list_lines() -> Vec<Vec<u8>> {
    other_formats_block(b'+')
}

/// MLSD lines (captured from ProFTPD, Pure-FTPd, pyftpdlib and libunftp).
pub fn mlsd_lines() -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for text in [
        include_str!("../../ftp-proto/tests/fixtures/servers/proftpd-1.3.8/mlsd.txt"),
        include_str!("../../ftp-proto/tests/fixtures/servers/pure-ftpd-1.0.50/mlsd.txt"),
        include_str!("../../ftp-proto/tests/fixtures/servers/pyftpdlib-2.2.0/mlsd.txt"),
        include_str!("../../ftp-proto/tests/fixtures/servers/libunftp-0.24/mlsd.txt"),
    ] {
        lines.extend(fixture_lines(text).into_iter().map(|mut l| {
            l.retain(|&b| b != b'\r');
            l
        }));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The corpora are what they claim: every line parses with the parser its bench times.
    #[test]
    fn corpora_parse() {
        let corpus = command_corpus();
        let lines: Vec<&[u8]> = corpus
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), 21);
        for l in lines {
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            assert!(ftp_proto::Command::parse(l).is_ok(), "{l:?}");
        }
        for (lines, min) in [
            (unix_list_lines(), 50),
            (dos_list_lines(), 16),
            (eplf_list_lines(), 8),
        ] {
            assert!(lines.len() >= min);
            for l in &lines {
                assert!(
                    ftp_proto::listing::parse_list_line(l).is_ok(),
                    "{}",
                    String::from_utf8_lossy(l)
                );
            }
        }
        for l in mlsd_lines() {
            assert!(
                ftp_proto::listing::parse_mlsx_line(&l).is_ok(),
                "{}",
                String::from_utf8_lossy(&l)
            );
        }
        let mut buf = bytes::BytesMut::from(&stat_reply(5000)[..]);
        let r = ftp_proto::ReplyDecoder::default()
            .decode(&mut buf)
            .unwrap()
            .unwrap();
        assert_eq!(r.lines().count(), 5000);
        let mut buf = bytes::BytesMut::from(&feat_reply(40)[..]);
        let r = ftp_proto::ReplyDecoder::default()
            .decode(&mut buf)
            .unwrap()
            .unwrap();
        assert_eq!(r.lines().count(), 40);
    }
}
