//! Command arguments: raw bytes that can never smuggle a line end onto the wire.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use bytes::Bytes;

/// A command argument or path: raw bytes, not assumed to be UTF-8 (RFC 2640 §2.2 allows any
/// octets but CR, LF and NUL in a pathname).
///
/// The constructors refuse CR, LF and NUL, so no encoder can ever be tricked into writing a
/// second command. An `Arg` may be empty.
///
/// An `Arg<'a>` either borrows the line it was parsed from (`'a`), which costs nothing, or
/// holds a shared [`Bytes`] (`Arg<'static>`), which a session can keep. [`Arg::into_owned`]
/// turns the first into the second. Equality, order and hashing look at the bytes only, so a
/// borrowed and a shared argument with the same bytes are equal.
#[derive(Clone)]
pub struct Arg<'a>(Repr<'a>);

#[derive(Clone)]
enum Repr<'a> {
    Borrowed(&'a [u8]),
    Shared(Bytes),
}

/// An argument that contained a byte an FTP argument cannot hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid byte {byte:#04x} at offset {at}")]
pub struct InvalidArg {
    /// The offending byte (CR, LF or NUL).
    pub byte: u8,
    /// Its offset in the argument.
    pub at: usize,
}

/// Checks that `bytes` holds no CR, LF or NUL.
pub(crate) fn check(bytes: &[u8]) -> Result<(), InvalidArg> {
    // memchr's vectorised search: arguments are mostly paths, scanned once per command.
    match memchr::memchr3(b'\r', b'\n', 0, bytes) {
        Some(at) => Err(InvalidArg {
            byte: bytes.get(at).copied().unwrap_or_default(),
            at,
        }),
        None => Ok(()),
    }
}

impl Arg<'static> {
    /// Checks and wraps `bytes`, without copying them.
    pub fn new(bytes: impl Into<Bytes>) -> Result<Self, InvalidArg> {
        let bytes = bytes.into();
        check(&bytes)?;
        Ok(Self(Repr::Shared(bytes)))
    }

    /// Wraps a static string, checking it like [`Arg::new`].
    pub fn from_static(s: &'static str) -> Result<Self, InvalidArg> {
        Self::borrowed(s.as_bytes())
    }

    /// Wraps bytes the caller has checked with [`check`].
    pub(crate) fn shared_unchecked(bytes: Bytes) -> Self {
        Self(Repr::Shared(bytes))
    }
}

impl<'a> Arg<'a> {
    /// Checks and borrows `bytes`.
    pub fn borrowed(bytes: &'a [u8]) -> Result<Self, InvalidArg> {
        check(bytes)?;
        Ok(Self(Repr::Borrowed(bytes)))
    }

    /// Borrows bytes the caller has checked with [`check`].
    pub(crate) fn borrowed_unchecked(bytes: &'a [u8]) -> Self {
        Self(Repr::Borrowed(bytes))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Borrowed(b) => b,
            Repr::Shared(b) => b,
        }
    }

    /// The raw bytes: without copying when the argument is shared, copied when it borrows.
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            Repr::Borrowed(b) => Bytes::copy_from_slice(b),
            Repr::Shared(b) => b,
        }
    }

    /// The argument with no borrow left: a borrowed one is copied, a shared one moves.
    pub fn into_owned(self) -> Arg<'static> {
        Arg(Repr::Shared(self.into_bytes()))
    }

    /// The argument as text, with invalid UTF-8 replaced (for display and logs only).
    pub fn to_str_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.as_bytes())
    }

    /// Whether the argument has no bytes.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the argument equals `other`, ignoring ASCII case.
    pub fn eq_ignore_ascii_case(&self, other: &[u8]) -> bool {
        self.as_bytes().eq_ignore_ascii_case(other)
    }
}

impl Default for Arg<'_> {
    fn default() -> Self {
        Self(Repr::Borrowed(&[]))
    }
}

impl<'b> PartialEq<Arg<'b>> for Arg<'_> {
    fn eq(&self, other: &Arg<'b>) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Arg<'_> {}

impl PartialOrd for Arg<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Arg<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for Arg<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl TryFrom<&str> for Arg<'static> {
    type Error = InvalidArg;
    fn try_from(s: &str) -> Result<Self, InvalidArg> {
        Self::new(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl TryFrom<String> for Arg<'static> {
    type Error = InvalidArg;
    fn try_from(s: String) -> Result<Self, InvalidArg> {
        Self::new(s)
    }
}

impl TryFrom<Vec<u8>> for Arg<'static> {
    type Error = InvalidArg;
    fn try_from(v: Vec<u8>) -> Result<Self, InvalidArg> {
        Self::new(v)
    }
}

impl AsRef<[u8]> for Arg<'_> {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for Arg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Arg(b\"{}\")", self.as_bytes().escape_ascii())
    }
}

/// Lossy UTF-8, control characters escaped ([`LogSafe`](crate::LogSafe)).
impl fmt::Display for Arg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::LogSafe(&self.to_str_lossy()).fmt(f)
    }
}

/// A value that must not reach logs: its `Debug` and `Display` always print `<redacted>`,
/// in every build profile.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Borrows the secret; the name makes each use easy to find in review.
    pub fn expose_secret(&self) -> &T {
        &self.0
    }

    /// Unwraps the secret.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl Secret<Arg<'_>> {
    /// The secret argument with no borrow left (see [`Arg::into_owned`]).
    pub fn into_owned(self) -> Secret<Arg<'static>> {
        Secret(self.0.into_owned())
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_line_ends_and_nul() {
        assert_eq!(
            Arg::try_from("a\r\nQUIT"),
            Err(InvalidArg { byte: b'\r', at: 1 })
        );
        assert_eq!(
            Arg::try_from("ab\n"),
            Err(InvalidArg { byte: b'\n', at: 2 })
        );
        assert_eq!(Arg::new(&b"x\0y"[..]), Err(InvalidArg { byte: 0, at: 1 }));
        let ok = Arg::new(&b"r\xc3\xa9sum\xff \xfe"[..]).unwrap();
        assert_eq!(ok.as_bytes(), b"r\xc3\xa9sum\xff \xfe");
        assert!(Arg::default().is_empty());
    }

    #[test]
    fn borrowed_and_shared_compare_by_bytes() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |a: &Arg<'_>| {
            let mut h = DefaultHasher::new();
            a.hash(&mut h);
            h.finish()
        };
        let line = b"pub/file".to_vec();
        let borrowed = Arg::borrowed(&line).unwrap();
        let shared = Arg::try_from("pub/file").unwrap();
        assert_eq!(borrowed, shared);
        assert_eq!(hash(&borrowed), hash(&shared));
        assert_eq!(borrowed.cmp(&shared), Ordering::Equal);
        assert!(Arg::borrowed(b"pub/a").unwrap() < Arg::try_from("pub/b").unwrap());
        assert_eq!(
            Arg::borrowed(b"a\nb"),
            Err(InvalidArg { byte: b'\n', at: 1 })
        );
        let owned = borrowed.clone().into_owned();
        assert_ne!(owned.as_bytes().as_ptr(), line.as_ptr());
        assert_eq!(owned, borrowed);
        assert_eq!(format!("{borrowed:?}"), format!("{shared:?}"));
        assert_eq!(
            format!("{:?}", Arg::borrowed(b"a\xffb").unwrap()),
            r#"Arg(b"a\xffb")"#
        );
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new(Arg::try_from("hunter2").unwrap());
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        assert_eq!(s.expose_secret().as_bytes(), b"hunter2");
    }
}
