//! EPLF lines (`+facts,\tname`).

use bytes::Bytes;
use nom::character::complete::u64;

use super::{EntryKind, ListEntry, ListTime, mode_text, octal, whole};
use crate::time::Timestamp;

// EPLF, "Easily Parsed LIST Format" (D. J. Bernstein, https://cr.yp.to/ftp/list/eplf.html):
// '+', facts each followed by ',', one TAB, then the name to the end of the line. Facts:
// `r` (RETR may work: a file), `/` (CWD may work: a directory), `s<size>`, `m<unix seconds>`,
// `i<id>`, `up<octal mode>`; unknown facts are skipped. With neither `r` nor `/` the kind is
// `Other`; a malformed `s`, `m` or `up` rejects the line.
pub(super) fn parse(line: &[u8]) -> Option<ListEntry> {
    let rest = line.strip_prefix(b"+")?;
    let (facts, name) = rest.split_at_checked(rest.iter().position(|&b| b == b'\t')?)?;
    let name = name.get(1..)?;
    if name.is_empty() {
        return None;
    }
    let (mut file, mut dir) = (false, false);
    let mut entry = ListEntry::new(Bytes::copy_from_slice(name), EntryKind::Other);
    for fact in facts.split(|&b| b == b',') {
        match fact {
            b"r" => file = true,
            b"/" => dir = true,
            [b's', size @ ..] => entry.size = Some(whole(u64, size)?),
            [b'm', secs @ ..] => {
                let time = Timestamp::from_unix(whole(u64, secs)?, 0).ok()?;
                entry.modified = Some(ListTime::Exact(time));
            }
            [b'u', b'p', mode @ ..] => entry.permissions = Some(mode_text(octal(mode)?)),
            _ => {}
        }
    }
    entry.kind = match (dir, file) {
        (true, _) => EntryKind::Directory,
        (false, true) => EntryKind::File,
        (false, false) => EntryKind::Other,
    };
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::super::tests::other_format_blocks;
    use super::*;

    #[test]
    fn eplf_fixture_block() {
        let blocks = other_format_blocks();
        let entries: Vec<ListEntry> = blocks[2].iter().map(|l| parse(l).unwrap()).collect();
        let recent = Some(ListTime::Exact(
            Timestamp::parse(b"20261124082839").unwrap(),
        ));

        assert_eq!(
            (entries[0].name.as_ref(), entries[0].kind),
            (&b"subdir"[..], EntryKind::Directory)
        );
        assert_eq!(entries[0].modified, recent);
        assert_eq!(entries[0].size, None);
        assert_eq!(
            (entries[1].name.as_ref(), entries[1].size),
            (&b"regular.txt"[..], Some(45))
        );
        assert_eq!(entries[1].permissions.as_deref(), Some(&b"rw-r--r--"[..]));
        assert_eq!(entries[1].kind, EntryKind::File);
        assert_eq!(
            (entries[2].size, entries[2].permissions.as_ref()),
            (Some(0), None)
        );
        assert_eq!(entries[3].name, "with spaces.txt");
        assert_eq!(entries[4].name, "résumé ünï.txt".as_bytes());
        assert_eq!(entries[5].name, "old.txt");
        let old = Timestamp::parse(b"20240115000000").unwrap();
        assert_eq!(entries[5].modified, Some(ListTime::Exact(old)));
        assert_eq!(entries[6].size, Some(5_368_709_120));
        let bare = &entries[7];
        assert_eq!(
            (bare.name.as_ref(), bare.kind),
            (&b"no-size-no-date.txt"[..], EntryKind::File)
        );
        assert_eq!((bare.size, bare.modified), (None, None));
    }

    #[test]
    fn odd_lines() {
        let e = parse(b"+\t name\twith tab").unwrap();
        assert_eq!(
            (e.name.as_ref(), e.kind),
            (&b" name\twith tab"[..], EntryKind::Other)
        );
        let e = parse(b"+r,/,up4755,xyz,\td").unwrap();
        assert_eq!(e.kind, EntryKind::Directory);
        assert_eq!(e.permissions.as_deref(), Some(&b"rwsr-xr-x"[..]));
        for bad in [
            &b"+r,"[..],
            b"+r,\t",
            b"r,\tx",
            b"+s1x,\tx",
            b"+m-1,\tx",
            b"+up9,\tx",
            b"+up,\tx",
        ] {
            assert_eq!(parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
