//! The server's `FEAT` reply (RFC 2389), parsed.

use ftp_proto::Reply;

/// The features a server announced: `MDTM`, `REST STREAM`, `MLST type*;size*;modify*;`, ...
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// (name in upper case, parameters as sent).
    entries: Vec<(String, String)>,
}

impl Features {
    /// Reads a `211` reply: every line between the first and the last that starts with a space
    /// is a feature (RFC 2389 §3.2). Lines of other shapes are ignored.
    pub fn from_reply(reply: &Reply) -> Self {
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

    /// Whether the server announced `name` (case-insensitive), such as `"MLST"` or `"EPSV"`.
    pub fn supports(&self, name: &str) -> bool {
        self.params(name).is_some()
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

    /// Whether no feature was announced (or the server does not know `FEAT`).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use ftp_proto::ReplyDecoder;

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
        let f = Features::from_reply(&f);
        assert!(f.supports("epsv") && f.supports("SIZE") && !f.supports("MLST"));
        assert_eq!(f.params("REST"), Some("STREAM"));
        assert_eq!(f.iter().count(), 8);
        // ProFTPD announces MLST facts and LANG lists.
        let f = Features::from_reply(&decode(
            "211-Features:\r\n LANG en-US*\r\n MLST modify*;perm*;size*;type*;unique*;\r\n211 End\r\n",
        ));
        assert_eq!(f.params("mlst"), Some("modify*;perm*;size*;type*;unique*;"));
        assert_eq!(f.params("LANG"), Some("en-US*"));
    }

    #[test]
    fn single_line_and_odd_replies_have_no_features() {
        assert!(Features::from_reply(&decode("211 No features\r\n")).is_empty());
        let f = Features::from_reply(&decode("211-x\r\nno leading space\r\n  \r\n211 End\r\n"));
        assert!(f.is_empty());
    }
}
