//! File checksums: the algorithms of the `HASH` command (draft-bryan-ftpext-hash) and of the
//! older `XCRC`, `XMD5`, `XSHA1`, `XSHA256` and `XSHA512` commands, one [`Hasher`] that both
//! the server (hashing what its storage streams) and the client (hashing a local file to
//! compare) feed bytes to, and the reading of a server's checksum reply.
//!
//! Pure computation: bytes in, a digest out. Drivers decide where the work runs (off the
//! executor, in chunks).

use std::fmt;

use md5::Digest as _;

/// A checksum algorithm a server may offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256 (FIPS 180-4): the default of `HASH` here.
    Sha256,
    /// SHA-512.
    Sha512,
    /// SHA-1: broken for signatures, still what many servers offer.
    Sha1,
    /// MD5: broken for signatures, still what many servers offer.
    Md5,
    /// CRC-32 (IEEE 802.3, as `crc32` and zlib compute it).
    Crc32,
}

impl HashAlgorithm {
    /// Every algorithm, in the order a `FEAT` line lists them (strongest first).
    pub const ALL: [Self; 5] = [
        Self::Sha256,
        Self::Sha512,
        Self::Sha1,
        Self::Md5,
        Self::Crc32,
    ];

    /// The name `HASH`, `OPTS HASH` and `FEAT` use (the IANA hash function textual names:
    /// `SHA-256`, `SHA-512`, `SHA-1`, `MD5`, `CRC32`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA-256",
            Self::Sha512 => "SHA-512",
            Self::Sha1 => "SHA-1",
            Self::Md5 => "MD5",
            Self::Crc32 => "CRC32",
        }
    }

    /// The algorithm a name stands for, case-insensitive. Besides the draft's names, the forms
    /// without the hyphen (`SHA256`, `SHA1`) are taken: ProFTPD's mod_digest and some clients
    /// write them so.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        let upper: Vec<u8> = name
            .iter()
            .filter(|&&b| b != b'-')
            .map(u8::to_ascii_uppercase)
            .collect();
        match upper.as_slice() {
            b"SHA256" => Some(Self::Sha256),
            b"SHA512" => Some(Self::Sha512),
            b"SHA1" => Some(Self::Sha1),
            b"MD5" => Some(Self::Md5),
            b"CRC32" => Some(Self::Crc32),
            _ => None,
        }
    }

    /// The legacy command for this algorithm: `XSHA256`, `XSHA512`, `XSHA1`, `XMD5`, `XCRC`.
    pub fn x_verb(self) -> &'static str {
        match self {
            Self::Sha256 => "XSHA256",
            Self::Sha512 => "XSHA512",
            Self::Sha1 => "XSHA1",
            Self::Md5 => "XMD5",
            Self::Crc32 => "XCRC",
        }
    }

    /// The algorithm of a legacy verb (case-insensitive), if it is one.
    pub fn from_x_verb(verb: &[u8]) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.x_verb().as_bytes().eq_ignore_ascii_case(verb))
    }

    /// The digest's length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
            Self::Sha1 => 20,
            Self::Md5 => 16,
            Self::Crc32 => 4,
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A digest: the bytes of a checksum, shown in lower-case hexadecimal.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Digest(Vec<u8>);

impl Digest {
    /// Wraps digest bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Lower-case hexadecimal, as `sha256sum` writes it.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(self.0.len() * 2);
        for b in &self.0 {
            for nibble in [b >> 4, b & 15] {
                s.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
            }
        }
        s
    }

    /// Reads hexadecimal of either case; `None` for anything else or an odd length.
    pub fn from_hex(hex: &[u8]) -> Option<Self> {
        if hex.is_empty() || hex.len() % 2 != 0 {
            return None;
        }
        let nibble = |c: u8| {
            char::from(c)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        };
        hex.chunks_exact(2)
            .map(|pair| match pair {
                [hi, lo] => Some(nibble(*hi)? << 4 | nibble(*lo)?),
                _ => None,
            })
            .collect::<Option<Vec<u8>>>()
            .map(Self)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A running checksum: feed it bytes with [`update`](Self::update), then
/// [`finish`](Self::finish).
#[derive(Clone)]
pub struct Hasher(State);

#[derive(Clone)]
enum State {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
    Sha1(sha1::Sha1),
    Md5(md5::Md5),
    Crc32(crc32fast::Hasher),
}

impl Hasher {
    /// A checksum of nothing yet.
    pub fn new(algorithm: HashAlgorithm) -> Self {
        Self(match algorithm {
            HashAlgorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
            HashAlgorithm::Sha512 => State::Sha512(sha2::Sha512::new()),
            HashAlgorithm::Sha1 => State::Sha1(sha1::Sha1::new()),
            HashAlgorithm::Md5 => State::Md5(md5::Md5::new()),
            HashAlgorithm::Crc32 => State::Crc32(crc32fast::Hasher::new()),
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> HashAlgorithm {
        match self.0 {
            State::Sha256(_) => HashAlgorithm::Sha256,
            State::Sha512(_) => HashAlgorithm::Sha512,
            State::Sha1(_) => HashAlgorithm::Sha1,
            State::Md5(_) => HashAlgorithm::Md5,
            State::Crc32(_) => HashAlgorithm::Crc32,
        }
    }

    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            State::Sha256(h) => h.update(bytes),
            State::Sha512(h) => h.update(bytes),
            State::Sha1(h) => h.update(bytes),
            State::Md5(h) => h.update(bytes),
            State::Crc32(h) => h.update(bytes),
        }
    }

    /// The checksum of everything fed. CRC-32 is given big-endian, as `crc32` prints it.
    pub fn finish(self) -> Digest {
        Digest(match self.0 {
            State::Sha256(h) => h.finalize().to_vec(),
            State::Sha512(h) => h.finalize().to_vec(),
            State::Sha1(h) => h.finalize().to_vec(),
            State::Md5(h) => h.finalize().to_vec(),
            State::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
        })
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hasher({})", self.algorithm())
    }
}

/// The checksum of all of `bytes`.
pub fn digest(algorithm: HashAlgorithm, bytes: &[u8]) -> Digest {
    let mut h = Hasher::new(algorithm);
    h.update(bytes);
    h.finish()
}

/// What a `213` reply to `HASH` says (draft-bryan-ftpext-hash §3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HashReply {
    /// The algorithm the server used.
    pub algorithm: HashAlgorithm,
    /// The range as written: the draft's end is the last byte, ProFTPD's the byte after it.
    pub range: (u64, u64),
    /// The checksum.
    pub digest: Digest,
}

/// Reads the `213` reply to `HASH`: `SHA-256 0-49 hex name` on its last line (ProFTPD sends a
/// `213-Computing ...` line first). `None` for any other shape, an unknown algorithm, or a
/// digest of the wrong length for it.
pub fn parse_hash_reply(reply: &crate::Reply) -> Option<HashReply> {
    let line = reply.lines().last()?;
    let mut words = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let algorithm = HashAlgorithm::from_name(words.next()?)?;
    let range = words.next()?;
    let dash = range.iter().position(|&b| b == b'-')?;
    let number = |w: &[u8]| std::str::from_utf8(w).ok()?.parse::<u64>().ok();
    let range = (number(range.get(..dash)?)?, number(range.get(dash + 1..)?)?);
    let digest = Digest::from_hex(words.next()?)?;
    (digest.as_bytes().len() == algorithm.digest_len()).then_some(HashReply {
        algorithm,
        range,
        digest,
    })
}

/// Reads the `250` reply to a legacy checksum command: the hex on its last line, upper or
/// lower case, with or without `0x` (GlobalSCAPE). A CRC written without its leading zeros is
/// padded. `None` when it is no checksum of `algorithm`'s length.
pub fn parse_legacy_reply(reply: &crate::Reply, algorithm: HashAlgorithm) -> Option<Digest> {
    let line = reply.lines().last()?;
    let word = line.split(|&b| b == b' ').find(|w| !w.is_empty())?;
    let word = word
        .strip_prefix(b"0x")
        .or_else(|| word.strip_prefix(b"0X"))
        .unwrap_or(word);
    let want = algorithm.digest_len() * 2;
    if word.is_empty() || word.len() > want {
        return None;
    }
    let mut hex = vec![b'0'; want - word.len()];
    if !hex.is_empty() && algorithm != HashAlgorithm::Crc32 {
        return None;
    }
    hex.extend_from_slice(word);
    Digest::from_hex(&hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksums of "abc" as sha256sum, sha512sum, sha1sum, md5sum and crc32 print them.
    #[test]
    fn known_answers() {
        let cases = [
            (
                HashAlgorithm::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                HashAlgorithm::Sha512,
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ),
            (
                HashAlgorithm::Sha1,
                "a9993e364706816aba3e25717850c26c9cd0d89d",
            ),
            (HashAlgorithm::Md5, "900150983cd24fb0d6963f7d28e17f72"),
            (HashAlgorithm::Crc32, "352441c2"),
        ];
        for (alg, hex) in cases {
            let d = digest(alg, b"abc");
            assert_eq!(d.to_hex(), hex, "{alg}");
            assert_eq!(d.as_bytes().len(), alg.digest_len());
            // Fed in pieces, the same.
            let mut h = Hasher::new(alg);
            h.update(b"a");
            h.update(b"");
            h.update(b"bc");
            assert_eq!(h.finish(), d);
            assert_eq!(Digest::from_hex(hex.to_uppercase().as_bytes()), Some(d));
        }
    }

    #[test]
    fn names_and_verbs() {
        for alg in HashAlgorithm::ALL {
            assert_eq!(HashAlgorithm::from_name(alg.name().as_bytes()), Some(alg));
            let lower = alg.name().to_ascii_lowercase();
            assert_eq!(HashAlgorithm::from_name(lower.as_bytes()), Some(alg));
            assert_eq!(
                HashAlgorithm::from_x_verb(alg.x_verb().as_bytes()),
                Some(alg)
            );
        }
        assert_eq!(
            HashAlgorithm::from_name(b"SHA256"),
            Some(HashAlgorithm::Sha256)
        );
        assert_eq!(HashAlgorithm::from_name(b"SHA-3"), None);
        assert_eq!(
            HashAlgorithm::from_x_verb(b"xcrc"),
            Some(HashAlgorithm::Crc32)
        );
        assert_eq!(HashAlgorithm::from_x_verb(b"XSHA"), None);
    }

    fn reply(wire: &str) -> crate::Reply {
        let mut buf = bytes::BytesMut::from(wire);
        crate::ReplyDecoder::default()
            .decode(&mut buf)
            .unwrap()
            .unwrap()
    }

    /// Replies as our server, the draft's examples and ProFTPD's mod_digest write them.
    #[test]
    fn hash_replies() {
        let sha1 = "22596363b3de40b06f981fb85d82312e8c0ed511";
        let r = parse_hash_reply(&reply(&format!("213 SHA-1 0-12 {sha1} hello.txt\r\n"))).unwrap();
        assert_eq!((r.algorithm, r.range), (HashAlgorithm::Sha1, (0, 12)));
        assert_eq!(r.digest.to_hex(), sha1);
        let proftpd = format!("213-Computing SHA-1 digest\r\n213 SHA-1 0-12 {sha1} /x y\r\n");
        assert_eq!(parse_hash_reply(&reply(&proftpd)), Some(r));
        for bad in [
            "213 SHA-1 0-12 abcd f\r\n",
            "213 SHA-9 0-12 abcd f\r\n",
            "213 SHA-1 12 abcd f\r\n",
            "213 1234\r\n",
        ] {
            assert_eq!(parse_hash_reply(&reply(bad)), None, "{bad}");
        }
        let crc = |w: &str| parse_legacy_reply(&reply(w), HashAlgorithm::Crc32).map(|d| d.to_hex());
        assert_eq!(crc("250 AF083B2D\r\n").as_deref(), Some("af083b2d"));
        assert_eq!(
            crc("250-Computing CRC32 digest\r\n250 AF083B2D\r\n").as_deref(),
            Some("af083b2d")
        );
        assert_eq!(crc("250 0x52441C2\r\n").as_deref(), Some("052441c2"));
        assert_eq!(crc("250 nothing\r\n"), None);
        let md5 = parse_legacy_reply(
            &reply("250 0C6B798A185A18C318DC0BF05E1D23DB\r\n"),
            HashAlgorithm::Md5,
        );
        assert_eq!(md5.unwrap().to_hex(), "0c6b798a185a18c318dc0bf05e1d23db");
        assert_eq!(
            parse_legacy_reply(&reply("250 0C6B\r\n"), HashAlgorithm::Md5),
            None
        );
    }

    #[test]
    fn hex_is_checked() {
        assert_eq!(Digest::from_hex(b"0aF1").unwrap().as_bytes(), &[0x0a, 0xf1]);
        for bad in [&b""[..], b"abc", b"zz", b"0x12", b" 12"] {
            assert_eq!(Digest::from_hex(bad), None, "{bad:?}");
        }
    }
}
