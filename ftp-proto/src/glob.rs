//! Wildcards in the last component of a `LIST` or `NLST` path, as vsftpd, ProFTPD and wu-ftpd
//! expand them: `mget *` in tnftp and inetutils ftp and `ncftpget host dir 'f*.bin'` send
//! `NLST *` or `NLST dir/f*.bin` and fetch each name the server returns.
//!
//! `*` matches any run of bytes, `?` one byte, `[abc]`, `[a-z]` and `[!a-z]` (or `[^a-z]`) one
//! byte of (or not of) a set; `\` makes the next byte literal. As in the shell, a name that
//! begins with `.` is matched only by a pattern that begins with `.`. Matching is bounded:
//! patterns longer than [`MAX_PATTERN_LEN`] are not expanded, and the matcher backtracks to
//! the last `*` only, so a match costs at most pattern length × name length steps.

use bytes::{Bytes, BytesMut};

/// Longest pattern expanded; a longer last component is taken literally.
pub const MAX_PATTERN_LEN: usize = 255;

/// Whether `component` holds a wildcard (`*`, `?` or `[`).
pub fn has_wildcard(component: &[u8]) -> bool {
    component.iter().any(|&b| matches!(b, b'*' | b'?' | b'['))
}

/// Whether `name` matches the shell pattern `pattern` (see the module docs).
pub fn matches(pattern: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pattern.first() != Some(&b'.') {
        return false;
    }
    let (mut p, mut n) = (0, 0);
    // Where to resume after the last `*`: the pattern after it, and the name byte it ate up to.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, n));
                p += 1;
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => match class(pattern, p, name.get(n).copied().unwrap_or(0)) {
                Some((true, next)) => Some(next),
                Some((false, _)) => None,
                // No closing `]`: a literal `[`.
                None => (name.get(n) == Some(&b'[')).then_some(p + 1),
            },
            Some(b'\\') if p + 1 < pattern.len() => {
                (pattern.get(p + 1) == name.get(n)).then_some(p + 2)
            }
            Some(&c) => (name.get(n) == Some(&c)).then_some(p + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                p = next;
                n += 1;
            }
            (None, Some((after, ate))) => {
                p = after;
                n = ate + 1;
                star = Some((after, ate + 1));
            }
            (None, None) => return false,
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&b| b == b'*'))
}

/// Reads the class that starts at `pattern[at]` (a `[`) against `byte`: whether it matched and
/// where the pattern goes on, or `None` when the class has no closing `]`.
fn class(pattern: &[u8], at: usize, byte: u8) -> Option<(bool, usize)> {
    let mut i = at + 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let &c = pattern.get(i)?;
        if c == b']' && !first {
            return Some((found != negate, i + 1));
        }
        first = false;
        match (pattern.get(i + 1), pattern.get(i + 2)) {
            (Some(b'-'), Some(&hi)) if hi != b']' => {
                found |= (c..=hi).contains(&byte);
                i += 3;
            }
            _ => {
                found |= c == byte;
                i += 1;
            }
        }
    }
}

/// What a wildcard listing shows: the entries of a directory whose names match `pattern`, each
/// named with `prefix` (the directory part of the argument as the client wrote it) before it,
/// as the shell's `ls dir/*.txt` does, so that the client can fetch each name as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamePattern {
    pattern: Bytes,
    prefix: Bytes,
}

impl NamePattern {
    /// The pattern of the last component of `arg`, when that component has wildcards (and is
    /// short enough to expand).
    pub fn from_arg(arg: &[u8]) -> Option<Self> {
        let (prefix, last) = match arg.iter().rposition(|&b| b == b'/') {
            Some(slash) => arg.split_at(slash + 1),
            None => (&[][..], arg),
        };
        (has_wildcard(last) && last.len() <= MAX_PATTERN_LEN).then(|| Self {
            pattern: Bytes::copy_from_slice(last),
            prefix: Bytes::copy_from_slice(prefix),
        })
    }

    /// The name to show for `name`, if it matches.
    pub fn shown(&self, name: &Bytes) -> Option<Bytes> {
        if !matches(&self.pattern, name) {
            return None;
        }
        if self.prefix.is_empty() {
            return Some(name.clone());
        }
        let mut out = BytesMut::with_capacity(self.prefix.len() + name.len());
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(name);
        Some(out.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_patterns() {
        for (pattern, name, expected) in [
            (&b"*"[..], &b"a.bin"[..], true),
            (b"*", b"", true),
            (b"f*.bin", b"f1.bin", true),
            (b"f*.bin", b"f.bin", true),
            (b"f*.bin", b"f1.bin.txt", false),
            (b"f*.bin", b"g1.bin", false),
            (b"?", b"a", true),
            (b"?", b"ab", false),
            (b"a?c", b"abc", true),
            (b"*a*b*c*", b"xxaxxbxxcxx", true),
            (b"*a*b*c*", b"xxaxxcxxbxx", false),
            (b"[ab]*", b"bat", true),
            (b"[ab]*", b"cat", false),
            (b"[a-c]x", b"bx", true),
            (b"[!a-c]x", b"bx", false),
            (b"[^a-c]x", b"dx", true),
            (b"[]]", b"]", true),
            (b"[a-]", b"-", true),
            (b"[abc", b"[abc", true),
            (b"\\*", b"*", true),
            (b"\\*", b"a", false),
            (b"*", b".hidden", false),
            (b".*", b".hidden", true),
            (b"*.txt", b"r\xc3\xa9sum\xc3\xa9.txt", true),
        ] {
            assert_eq!(
                matches(pattern, name),
                expected,
                "{} against {}",
                String::from_utf8_lossy(pattern),
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn the_worst_pattern_is_cheap() {
        let pattern = [b'*', b'a'].repeat(127);
        let name = vec![b'a'; 255];
        assert!(!matches(&[&pattern[..], b"b"].concat(), &name));
    }

    #[test]
    fn patterns_from_arguments() {
        assert_eq!(NamePattern::from_arg(b"dir/file.txt"), None);
        assert_eq!(
            NamePattern::from_arg(b"d*r/file.txt"),
            None,
            "only the last component"
        );
        let p = NamePattern::from_arg(b"dir/f*.bin").unwrap();
        assert_eq!(
            p.shown(&Bytes::from_static(b"f1.bin")),
            Some(Bytes::from_static(b"dir/f1.bin"))
        );
        assert_eq!(p.shown(&Bytes::from_static(b"g.bin")), None);
        let p = NamePattern::from_arg(b"*").unwrap();
        assert_eq!(
            p.shown(&Bytes::from_static(b"a")),
            Some(Bytes::from_static(b"a"))
        );
        assert_eq!(NamePattern::from_arg(&[b'*'; 256]), None);
    }
}
