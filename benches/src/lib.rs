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
