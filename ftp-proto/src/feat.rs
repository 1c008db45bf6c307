//! `FEAT` (RFC 2389 §3): the reply a server writes from what it offers, and what a client reads
//! from one, side by side so that both follow the same grammar: `211-` and a first line, one
//! feature per line each starting with a space, then the closing `211` line.

use bytes::{Bytes, BytesMut};

use crate::checksum::HashAlgorithm;
use crate::listing::FactSet;
use crate::reply::{Reply, ReplyCode};

/// The extensions a server offers in `FEAT` (RFC 2389) and accepts. A driver turns off what its
/// back-end cannot do, so `FEAT` lists exactly what is implemented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Features {
    /// `SIZE` (RFC 3659).
    pub size: bool,
    /// `MDTM` (RFC 3659).
    pub mdtm: bool,
    /// `MFMT`.
    pub mfmt: bool,
    /// `MLST` and `MLSD` with these facts (RFC 3659); empty turns both off.
    pub mlst: FactSet,
    /// `REST STREAM` (RFC 3659).
    pub rest_stream: bool,
    /// `AUTH TLS`, `PBSZ`, `PROT` (RFC 4217): the driver can run TLS.
    pub tls: bool,
    /// `HASH`, `OPTS HASH` and `RANG` (draft-bryan-ftpext-hash, draft-bryan-ftp-range) and the
    /// legacy `XCRC`, `XMD5`, `XSHA1`, `XSHA256`, `XSHA512`: the driver answers
    /// [`Action::Checksum`](crate::Action::Checksum).
    pub hash: bool,
}

impl Default for Features {
    fn default() -> Self {
        Self {
            size: true,
            mdtm: true,
            mfmt: true,
            mlst: FactSet::DEFAULT,
            rest_stream: true,
            tls: false,
            hash: true,
        }
    }
}

/// The `FEAT` reply of a server offering `f`, with `mlst_facts` marked as in use (RFC 3659
/// §7.8: the facts of `MLST` with a `*` for those sent) and `hash` as the algorithm of `HASH`
/// (draft-bryan-ftpext-hash §3.3: the one in use starred).
pub(crate) fn feat_reply(f: Features, mlst_facts: FactSet, hash: HashAlgorithm) -> Reply {
    let mlst = (!f.mlst.is_empty()).then(|| {
        let mut line = BytesMut::from(&b" MLST "[..]);
        mlst_facts.write_feat(f.mlst, &mut line);
        line.freeze()
    });
    // Every line is backed by code: HOST (RFC 7151) by `host_cmd`, which hands the name to
    // the authenticator; LANG (RFC 2640) by `lang`, English only; TVFS (RFC 3659 §6) by
    // `VirtualPath`, one tree of `/`-separated names; UTF8 by `opts`.
    let hash_line = f.hash.then(|| {
        let names: Vec<String> = HashAlgorithm::ALL
            .iter()
            .map(|&a| {
                let star = if a == hash { "*" } else { "" };
                format!("{a}{star}")
            })
            .collect();
        Bytes::from(format!(" HASH {}", names.join(";")))
    });
    let fixed = [(f.tls, " AUTH TLS"), (true, " EPRT"), (true, " EPSV")];
    let middle = [
        (true, " HOST"),
        (true, " LANG EN*"),
        (f.mdtm, " MDTM"),
        (f.mfmt, " MFMT"),
    ];
    let after = [
        (f.tls, " PBSZ"),
        (f.tls, " PROT"),
        (f.hash, " RANG STREAM"),
        (f.rest_stream, " REST STREAM"),
        (f.size, " SIZE"),
        (true, " TVFS"),
        (true, " UTF8"),
        // The legacy checksum commands, listed as ProFTPD's mod_digest lists them.
        (f.hash, " XCRC"),
        (f.hash, " XMD5"),
        (f.hash, " XSHA1"),
        (f.hash, " XSHA256"),
        (f.hash, " XSHA512"),
    ];
    let pick = |list: &[(bool, &'static str)]| -> Vec<Bytes> {
        list.iter()
            .filter(|(on, _)| *on)
            .map(|(_, t)| Bytes::from_static(t.as_bytes()))
            .collect()
    };
    let mut lines: Vec<Bytes> = vec![Bytes::from_static(b"Features:")];
    lines.extend(pick(&fixed));
    lines.extend(hash_line);
    lines.extend(pick(&middle));
    lines.extend(mlst);
    lines.extend(pick(&after));
    lines.push(Bytes::from_static(b"End"));
    Reply::multiline(ReplyCode::SYSTEM_STATUS, lines)
        .unwrap_or_else(|_| Reply::from_static(ReplyCode::LOCAL_ERROR, "Local error."))
}

/// The features a server announced: `MDTM`, `REST STREAM`, `MLST type*;size*;modify*;`, ...
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeatureList {
    /// (name in upper case, parameters as sent).
    entries: Vec<(String, String)>,
}

impl FeatureList {
    /// Reads a `211` reply: every line between the first and the last that starts with a space
    /// is a feature (RFC 2389 §3.2). Lines of other shapes are ignored.
    pub fn parse(reply: &Reply) -> Self {
        let lines: Vec<_> = reply.lines().collect();
        let inner = lines
            .get(1..lines.len().saturating_sub(1))
            .unwrap_or_default();
        let entries = inner
            .iter()
            .filter_map(|line| line.strip_prefix(b" "))
            .filter_map(|line| {
                let line = String::from_utf8_lossy(line);
                let line = line.trim();
                let (name, params) = line.split_once(' ').unwrap_or((line, ""));
                (!name.is_empty()).then(|| (name.to_ascii_uppercase(), params.trim().to_owned()))
            })
            .collect();
        Self { entries }
    }

    /// What a refused `FEAT` means: a server that does not know the command (500, 502; RFC
    /// 2389 §3.1 expects exactly those from servers without it) has no features to announce,
    /// so the answer is an empty list; any other refusal is a real failure (`None`).
    pub fn from_refusal(reply: &Reply) -> Option<Self> {
        matches!(reply.code().as_u16(), 500 | 502).then(Self::default)
    }

    /// Whether the server announced `name` (case-insensitive), such as `"MLST"` or `"EPSV"`.
    pub fn supports(&self, name: &str) -> bool {
        self.params(name).is_some()
    }

    /// Whether `MLSD` and `MLST` can be used: RFC 3659 §7.8 has a server announce both with
    /// the one `MLST` feature line.
    pub fn supports_mlsx(&self) -> bool {
        self.supports("MLST")
    }

    /// The parameters announced with `name`: `"STREAM"` for `REST`, the fact list for `MLST`.
    pub fn params(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, p)| p.as_str())
    }

    /// Every feature as (name, parameters), in the order announced.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(n, p)| (n.as_str(), p.as_str()))
    }

    /// The algorithms of the `HASH` line (draft-bryan-ftpext-hash §3.3: `SHA-256*;MD5;...`,
    /// the one in use starred), those this crate knows, with the one in use; `None` when
    /// `HASH` is not announced.
    pub fn hash_algorithms(&self) -> Option<(Vec<HashAlgorithm>, Option<HashAlgorithm>)> {
        let params = self.params("HASH")?;
        let mut selected = None;
        let list = params
            .split(';')
            .filter_map(|name| {
                let (name, star) = match name.trim().strip_suffix('*') {
                    Some(n) => (n, true),
                    None => (name.trim(), false),
                };
                let alg = HashAlgorithm::from_name(name.as_bytes())?;
                if star {
                    selected = Some(alg);
                }
                Some(alg)
            })
            .collect();
        Some((list, selected))
    }

    /// Whether no feature was announced (or the server does not know `FEAT`).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReplyDecoder;
    use bytes::BytesMut;

    fn decode(wire: &str) -> Reply {
        let mut buf = BytesMut::from(wire);
        ReplyDecoder::default().decode(&mut buf).unwrap().unwrap()
    }

    #[test]
    fn vsftpd_and_proftpd_feat_replies() {
        // vsftpd 3.0.3, as captured in ftp-proto's fixtures.
        let f = decode(
            "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n",
        );
        assert!(f.is_multiline());
        let f = FeatureList::parse(&f);
        assert!(f.supports("epsv") && f.supports("SIZE") && !f.supports("MLST"));
        assert_eq!(f.params("REST"), Some("STREAM"));
        assert_eq!(f.iter().count(), 8);
        // ProFTPD announces MLST facts and LANG lists.
        let f = FeatureList::parse(&decode(
            "211-Features:\r\n LANG en-US*\r\n MLST modify*;perm*;size*;type*;unique*;\r\n211 End\r\n",
        ));
        assert_eq!(f.params("mlst"), Some("modify*;perm*;size*;type*;unique*;"));
        assert_eq!(f.params("LANG"), Some("en-US*"));
    }

    #[test]
    fn hash_lines() {
        // ProFTPD's, with its trailing `;` and CRC32 first.
        let f = FeatureList::parse(&decode(
            "211-Features:\r\n HASH CRC32;MD5;SHA-1*;SHA-256;SHA-512;\r\n XCRC\r\n211 End\r\n",
        ));
        let (list, selected) = f.hash_algorithms().unwrap();
        assert_eq!(list.len(), 5);
        assert_eq!(selected, Some(HashAlgorithm::Sha1));
        assert!(f.supports("XCRC") && !f.supports("XMD5"));
        // Unknown names are skipped.
        let f = FeatureList::parse(&decode("211-Features:\r\n HASH TTH;SHA-1\r\n211 End\r\n"));
        assert_eq!(f.hash_algorithms(), Some((vec![HashAlgorithm::Sha1], None)));
        assert_eq!(FeatureList::default().hash_algorithms(), None);
    }

    #[test]
    fn what_a_server_writes_a_client_reads() {
        let mut offered = Features {
            tls: true,
            ..Features::default()
        };
        let reply = feat_reply(
            offered,
            FactSet::TYPE | FactSet::SIZE,
            HashAlgorithm::Sha256,
        );
        let f = FeatureList::parse(&reply);
        for name in [
            "AUTH", "EPRT", "EPSV", "MDTM", "MFMT", "PBSZ", "PROT", "SIZE", "UTF8",
        ] {
            assert!(f.supports(name), "{name}");
        }
        assert_eq!(f.params("AUTH"), Some("TLS"));
        assert_eq!(f.params("REST"), Some("STREAM"));
        assert_eq!(
            f.params("MLST"),
            Some("type*;size*;modify;perm;unique;"),
            "the facts in use are starred"
        );
        offered.tls = false;
        offered.mlst = FactSet::EMPTY;
        let f = FeatureList::parse(&feat_reply(offered, FactSet::EMPTY, HashAlgorithm::Sha256));
        assert!(!f.supports("AUTH") && !f.supports_mlsx() && f.supports("SIZE"));
    }

    #[test]
    fn servers_without_feat() {
        let refused = |code| Reply::new(ReplyCode::new(code).unwrap(), "no").unwrap();
        assert_eq!(
            FeatureList::from_refusal(&refused(502)),
            Some(FeatureList::default())
        );
        assert_eq!(
            FeatureList::from_refusal(&refused(500)),
            Some(FeatureList::default())
        );
        assert_eq!(FeatureList::from_refusal(&refused(530)), None);
    }

    #[test]
    fn single_line_and_odd_replies_have_no_features() {
        assert!(FeatureList::parse(&decode("211 No features\r\n")).is_empty());
        let f = FeatureList::parse(&decode("211-x\r\nno leading space\r\n  \r\n211 End\r\n"));
        assert!(f.is_empty());
    }
}
