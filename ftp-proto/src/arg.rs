//! Command arguments: raw bytes that can never smuggle a line end onto the wire.

use std::fmt;

use bytes::Bytes;

/// A command argument or path: raw bytes, not assumed to be UTF-8 (RFC 2640 §2.2 allows any
/// octets but CR, LF and NUL in a pathname).
///
/// The constructor refuses CR, LF and NUL, so no encoder can ever be tricked into writing a
/// second command. An `Arg` may be empty.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Arg(Bytes);

/// An argument that contained a byte an FTP argument cannot hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid byte {byte:#04x} at offset {at}")]
pub struct InvalidArg {
    /// The offending byte (CR, LF or NUL).
    pub byte: u8,
    /// Its offset in the argument.
    pub at: usize,
}

impl Arg {
    /// Checks and wraps `bytes`.
    pub fn new(bytes: impl Into<Bytes>) -> Result<Self, InvalidArg> {
        let bytes = bytes.into();
        // memchr's vectorised search: arguments are mostly paths, scanned once per command.
        match memchr::memchr3(b'\r', b'\n', 0, &bytes) {
            Some(at) => Err(InvalidArg {
                byte: bytes.get(at).copied().unwrap_or_default(),
                at,
            }),
            None => Ok(Self(bytes)),
        }
    }

    /// Wraps a static string, checking it like [`Arg::new`].
    pub fn from_static(s: &'static str) -> Result<Self, InvalidArg> {
        Self::new(Bytes::from_static(s.as_bytes()))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The raw bytes, without copying.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The argument as text, with invalid UTF-8 replaced (for display and logs only).
    pub fn to_str_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Whether the argument has no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the argument equals `other`, ignoring ASCII case.
    pub fn eq_ignore_ascii_case(&self, other: &[u8]) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl TryFrom<&str> for Arg {
    type Error = InvalidArg;
    fn try_from(s: &str) -> Result<Self, InvalidArg> {
        Self::new(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl TryFrom<String> for Arg {
    type Error = InvalidArg;
    fn try_from(s: String) -> Result<Self, InvalidArg> {
        Self::new(s)
    }
}

impl TryFrom<Vec<u8>> for Arg {
    type Error = InvalidArg;
    fn try_from(v: Vec<u8>) -> Result<Self, InvalidArg> {
        Self::new(v)
    }
}

impl AsRef<[u8]> for Arg {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Arg({:?})", self.0)
    }
}

/// Lossy UTF-8, control characters escaped ([`LogSafe`](crate::LogSafe)).
impl fmt::Display for Arg {
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
    fn secret_never_prints() {
        let s = Secret::new(Arg::try_from("hunter2").unwrap());
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        assert_eq!(s.expose_secret().as_bytes(), b"hunter2");
    }
}
