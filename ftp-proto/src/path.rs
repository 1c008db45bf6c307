//! Virtual paths: what a server shows its users, always inside the user's root.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

/// An absolute, normalised path inside a user's root: it starts with `/`, has no `.` or `..`
/// components, no repeated and no trailing slashes, and no NUL bytes. Resolving `..` at the
/// root stays at the root, so a `VirtualPath` can never climb above it.
///
/// Components are raw bytes (RFC 2640: usually UTF-8, never assumed). A back-end maps the
/// components onto its own namespace; it must still refuse to follow links out of the root.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VirtualPath(Bytes);

impl Default for VirtualPath {
    fn default() -> Self {
        Self::root()
    }
}

impl VirtualPath {
    /// The root, `/`.
    pub fn root() -> Self {
        Self(Bytes::from_static(b"/"))
    }

    /// Resolves `path` against `self` as the current directory: an absolute `path` starts from
    /// the root, a relative one from `self`. `.` and empty components are dropped, `..` removes
    /// the previous component (and does nothing at the root). NUL bytes, which no file name can
    /// hold, are dropped with the component that holds them.
    pub fn resolve(&self, path: &[u8]) -> Self {
        let mut parts: Vec<&[u8]> = if path.first() == Some(&b'/') {
            Vec::new()
        } else {
            self.components().collect()
        };
        for part in path.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    parts.pop();
                }
                p if p.contains(&0) => {}
                p => parts.push(p),
            }
        }
        let mut out =
            BytesMut::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>().max(1));
        for part in &parts {
            out.put_u8(b'/');
            out.extend_from_slice(part);
        }
        if out.is_empty() {
            return Self::root();
        }
        Self(out.freeze())
    }

    /// Joins one file name onto this directory. A name holding `/` is resolved like a relative
    /// path, so the result is still normalised.
    pub fn join(&self, name: &[u8]) -> Self {
        self.resolve(name)
    }

    /// The path bytes, starting with `/`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0.len() == 1
    }

    /// The components, root first; none for the root itself.
    pub fn components(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        self.0.split(|&b| b == b'/').filter(|c| !c.is_empty())
    }

    /// The last component; `None` for the root.
    pub fn file_name(&self) -> Option<&[u8]> {
        self.components().next_back()
    }

    /// The parent directory; the root is its own parent.
    pub fn parent(&self) -> Self {
        self.resolve(b"..")
    }

    /// Whether `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &Self) -> bool {
        other.is_root()
            || self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.get(other.0.len()) == Some(&b'/'))
    }

    /// The path with `"` doubled, as a `257` reply quotes it (RFC 959 Appendix II).
    pub fn quoted(&self) -> Bytes {
        if !self.0.contains(&b'"') {
            let mut out = BytesMut::with_capacity(self.0.len() + 2);
            out.put_u8(b'"');
            out.extend_from_slice(&self.0);
            out.put_u8(b'"');
            return out.freeze();
        }
        let mut out = BytesMut::with_capacity(self.0.len() + 4);
        out.put_u8(b'"');
        for &b in self.0.iter() {
            if b == b'"' {
                out.put_u8(b'"');
            }
            out.put_u8(b);
        }
        out.put_u8(b'"');
        out.freeze()
    }

    /// The path as text, invalid UTF-8 replaced (for display and logs).
    pub fn to_str_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl fmt::Debug for VirtualPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VirtualPath({:?})", self.to_str_lossy())
    }
}

/// Lossy UTF-8, control characters escaped ([`LogSafe`](crate::LogSafe)).
impl fmt::Display for VirtualPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::LogSafe(&self.to_str_lossy()).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> VirtualPath {
        VirtualPath::root().resolve(s.as_bytes())
    }

    #[test]
    fn normalises() {
        assert_eq!(p("").as_bytes(), b"/");
        assert_eq!(p("/").as_bytes(), b"/");
        assert_eq!(p("a//b/./c/").as_bytes(), b"/a/b/c");
        assert_eq!(p("/a/b/../c").as_bytes(), b"/a/c");
        assert_eq!(p("a/b").resolve(b"../d e").as_bytes(), b"/a/d e");
        assert_eq!(p("a/b").resolve(b"/x").as_bytes(), b"/x");
        assert_eq!(p("a/b").parent().as_bytes(), b"/a");
        assert_eq!(p("a").file_name(), Some(&b"a"[..]));
        assert_eq!(VirtualPath::root().file_name(), None);
    }

    #[test]
    fn never_climbs_above_root() {
        for s in [
            "..",
            "../..",
            "/../../etc/passwd",
            "a/../../..",
            "./../a/../../b",
        ] {
            let path = p(s);
            assert!(path.components().all(|c| c != b".." && c != b"."), "{s}");
        }
        assert_eq!(p("/../../etc/passwd").as_bytes(), b"/etc/passwd");
        assert_eq!(VirtualPath::root().parent(), VirtualPath::root());
        assert_eq!(p("a\0b/c").as_bytes(), b"/c");
    }

    #[test]
    fn prefix_and_quoting() {
        assert!(p("/pub/a").starts_with(&p("/pub")));
        assert!(!p("/public").starts_with(&p("/pub")));
        assert!(p("/x").starts_with(&VirtualPath::root()));
        assert_eq!(p("/say \"hi\"").quoted().as_ref(), b"\"/say \"\"hi\"\"\"");
    }
}
