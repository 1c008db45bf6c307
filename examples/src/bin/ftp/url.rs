//! `ftp://user:password@host:port/path` URLs (RFC 1738 §3.2), and where credentials come from
//! when the URL has none.

use std::fmt;

/// A parsed FTP URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FtpUrl {
    pub(crate) user: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `ftps://`: implicit FTPS (TLS from the first byte, port 990 by default).
    pub(crate) implicit_tls: bool,
    /// The path as the client sends it: relative to the login directory, as RFC 1738 says
    /// (`ftp://host/%2Fetc/motd` names the absolute `/etc/motd`). Empty for the login
    /// directory itself.
    pub(crate) path: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UrlError(&'static str);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an FTP URL: {}", self.0)
    }
}

impl std::error::Error for UrlError {}

fn percent_decode(text: &str) -> Result<Vec<u8>, UrlError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .ok_or(UrlError("truncated % escape"))?;
            let hex = std::str::from_utf8(hex).map_err(|_| UrlError("bad % escape"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| UrlError("bad % escape"))?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

fn decode_text(text: &str) -> Result<String, UrlError> {
    String::from_utf8(percent_decode(text)?).map_err(|_| UrlError("user or password not UTF-8"))
}

impl FtpUrl {
    pub(crate) fn parse(text: &str) -> Result<Self, UrlError> {
        let scheme_end = text
            .find("://")
            .ok_or(UrlError("expected ftp:// or ftps://"))?;
        let implicit_tls = match text[..scheme_end].to_ascii_lowercase().as_str() {
            "ftp" => false,
            "ftps" => true,
            _ => return Err(UrlError("expected ftp:// or ftps://")),
        };
        let rest = &text[scheme_end + 3..];
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash + 1..]),
            None => (rest, ""),
        };
        // The password may contain `@` when escaped; the last `@` ends the user part.
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(info) => match info.split_once(':') {
                Some((u, p)) => (Some(decode_text(u)?), Some(decode_text(p)?)),
                None => (Some(decode_text(info)?), None),
            },
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or(UrlError("unclosed [ in host"))?;
            (host, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(UrlError("no host"));
        }
        let port = match port {
            None | Some("") if implicit_tls => 990,
            None | Some("") => 21,
            Some(p) => p.parse().map_err(|_| UrlError("bad port"))?,
        };
        // `;type=i` and friends (RFC 1738) are not supported; they would end up in the name.
        Ok(Self {
            user: user.filter(|u| !u.is_empty()),
            password,
            host: host.to_owned(),
            port,
            implicit_tls,
            path: percent_decode(path)?,
        })
    }

    /// Whether the path names a directory (`ftp://host/dir/`) or the login directory.
    pub(crate) fn is_dir(&self) -> bool {
        self.path.is_empty() || self.path.ends_with(b"/")
    }

    /// The last component of the path.
    pub(crate) fn file_name(&self) -> Option<&[u8]> {
        let trimmed = self.path.strip_suffix(b"/").unwrap_or(&self.path);
        let name = trimmed.rsplit(|&b| b == b'/').next()?;
        (!name.is_empty()).then_some(name)
    }
}

/// One `machine` (or `default`) entry of a `.netrc` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NetrcEntry {
    pub(crate) login: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) account: Option<String>,
}

/// The entry of a `.netrc` text for `host`: its `machine` entry, else `default`. Tokens are
/// separated by any white space, as ftp(1) reads them; `macdef` bodies are skipped.
pub(crate) fn netrc_lookup(text: &str, host: &str) -> Option<NetrcEntry> {
    let mut tokens = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        for word in line.split_whitespace() {
            if word == "macdef" {
                // A macro runs until the next empty line.
                lines
                    .by_ref()
                    .take_while(|l| !l.trim().is_empty())
                    .for_each(drop);
                break;
            }
            tokens.push(word);
        }
    }
    // (machine name, or None for `default`; its entry), in file order.
    let mut entries: Vec<(Option<&str>, NetrcEntry)> = Vec::new();
    let mut it = tokens.into_iter();
    while let Some(token) = it.next() {
        let value = |it: &mut std::vec::IntoIter<&str>| it.next().map(str::to_owned);
        match token {
            "machine" => entries.push((Some(it.next().unwrap_or_default()), NetrcEntry::default())),
            "default" => entries.push((None, NetrcEntry::default())),
            "login" | "password" | "account" => {
                let v = value(&mut it);
                if let Some((_, e)) = entries.last_mut() {
                    match token {
                        "login" => e.login = v,
                        "password" => e.password = v,
                        _ => e.account = v,
                    }
                }
            }
            _ => {}
        }
    }
    let find = |want: Option<&str>| {
        entries.iter().find(|(name, _)| match (name, want) {
            (Some(n), Some(h)) => n.eq_ignore_ascii_case(h),
            (None, None) => true,
            _ => false,
        })
    };
    find(Some(host))
        .or_else(|| find(None))
        .map(|(_, e)| e.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_minimal_urls() {
        let u = FtpUrl::parse("ftp://al%40ice:p%3Ass@example.org:2121/pub/a%20b.txt").unwrap();
        assert_eq!(u.user.as_deref(), Some("al@ice"));
        assert_eq!(u.password.as_deref(), Some("p:ss"));
        assert_eq!((u.host.as_str(), u.port), ("example.org", 2121));
        assert_eq!(u.path, b"pub/a b.txt");
        assert_eq!(u.file_name(), Some(&b"a b.txt"[..]));
        assert!(!u.is_dir());

        let u = FtpUrl::parse("ftps://example.org").unwrap();
        assert!(u.implicit_tls);
        assert_eq!(u.port, 990);
        let u = FtpUrl::parse("FTPS://example.org:2990/x").unwrap();
        assert_eq!((u.implicit_tls, u.port), (true, 2990));
        assert!(FtpUrl::parse("http://example.org/").is_err());
        let u = FtpUrl::parse("ftp://example.org").unwrap();
        assert!(!u.implicit_tls);
        assert_eq!(
            (u.user, u.password, u.port, u.path.len()),
            (None, None, 21, 0)
        );
        let u = FtpUrl::parse("ftp://h/%2Fetc/").unwrap();
        assert_eq!(u.path, b"/etc/");
        assert!(u.is_dir());
        assert_eq!(u.file_name(), Some(&b"etc"[..]));
    }

    #[test]
    fn ipv6_hosts_and_bad_urls() {
        let u = FtpUrl::parse("ftp://u@[::1]:2121/x").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.user.as_deref()),
            ("::1", 2121, Some("u"))
        );
        assert_eq!(FtpUrl::parse("ftp://[::1]/").unwrap().port, 21);
        for bad in [
            "http://h/",
            "ftp://",
            "ftp://h:x/",
            "ftp://[::1/",
            "ftp://h/%zz",
        ] {
            assert!(FtpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn netrc_machine_then_default() {
        let text = "machine other login o password op\n\
                    machine FTP.example.org\n  login alice\n  password s3cret account acct\n\
                    macdef init\ncd /pub\n\n\
                    default login anonymous password me@\n";
        let e = netrc_lookup(text, "ftp.example.org").unwrap();
        assert_eq!(e.login.as_deref(), Some("alice"));
        assert_eq!(e.password.as_deref(), Some("s3cret"));
        assert_eq!(e.account.as_deref(), Some("acct"));
        let d = netrc_lookup(text, "elsewhere").unwrap();
        assert_eq!(d.login.as_deref(), Some("anonymous"));
        assert_eq!(netrc_lookup("machine a login b", "c"), None);
    }
}
