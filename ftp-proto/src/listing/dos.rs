//! MS-DOS style lines, as Microsoft IIS sends them for `LIST` by default.

use bytes::Bytes;
use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case};
use nom::character::complete::{char, space1, u64};
use nom::combinator::{opt, value};
use nom::sequence::preceded;

use super::{EntryKind, ListEntry, ListTime, dec, prefix};
use crate::time::Timestamp;

/// Width of the size-or-`<DIR>` column plus the space before the name, counted from the end of
/// the time (IIS right-aligns sizes so that names start at a fixed column).
const NAME_COLUMN: usize = 22;

// IIS "MS-DOS" directory listing style:
//   MM-DD-YY  HH:MM{AM|PM}       <DIR>          name
//   MM-DD-YY  HH:MM{AM|PM}                 1234 name
// with MM-DD-YYYY when IIS's four-digit-year option is on. Years 70 to 99 are 19xx, the other
// two-digit years 20xx; 12AM is midnight and 12PM noon; a time without AM/PM is read as 24-hour.
// The name starts NAME_COLUMN bytes after the time when the line has that layout (so leading
// spaces in names survive), otherwise after the blanks that follow the size or `<DIR>`.
pub(super) fn parse(line: &[u8]) -> Option<ListEntry> {
    let year = alt((
        dec(4, 4),
        dec::<u16>(2, 2).map(|y| if y >= 70 { 1900 + y } else { 2000 + y }),
    ));
    let meridiem = opt(alt((
        value(false, tag_no_case("AM")),
        value(true, tag_no_case("PM")),
    )));
    let stamp = (
        dec(2, 2),
        preceded(char('-'), dec(2, 2)),
        preceded(char('-'), year),
        preceded(space1, dec::<u8>(1, 2)),
        preceded(char(':'), dec(2, 2)),
        meridiem,
    );
    let (after_time, (month, day, year, hour, minute, pm)) = prefix(stamp, line)?;
    let hour = match pm {
        Some(pm) if (1..=12).contains(&hour) => hour % 12 + if pm { 12 } else { 0 },
        Some(_) => return None,
        None => hour,
    };
    let modified = Timestamp::new(year, month, day, hour, minute, 0).ok()?;

    let size = preceded(space1, alt((value(None, tag("<DIR>")), u64.map(Some))));
    let (after_size, size) = prefix(size, after_time)?;
    let time_end = line.len() - after_time.len();
    let column = time_end + NAME_COLUMN;
    let name = match line.get(line.len() - after_size.len()..column) {
        Some(gap) if !gap.is_empty() && gap.iter().all(|&b| b == b' ') => line.get(column..)?,
        _ => {
            let name = after_size.trim_ascii_start();
            if name.len() == after_size.len() {
                return None;
            }
            name
        }
    };
    if name.is_empty() {
        return None;
    }
    let kind = if size.is_some() {
        EntryKind::File
    } else {
        EntryKind::Directory
    };
    Some(ListEntry {
        size,
        modified: Some(ListTime::Unzoned(modified)),
        ..ListEntry::new(Bytes::copy_from_slice(name), kind)
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::other_format_blocks;
    use super::*;

    fn at(text: &str) -> Option<ListTime> {
        Some(ListTime::Unzoned(
            Timestamp::parse(text.as_bytes()).unwrap(),
        ))
    }

    #[test]
    fn iis_fixture_blocks() {
        let blocks = other_format_blocks();
        for (block, year) in [(&blocks[0], "26"), (&blocks[1], "2026")] {
            let entries: Vec<ListEntry> = block.iter().map(|l| parse(l).unwrap()).collect();
            let names: Vec<&[u8]> = entries.iter().map(|e| e.name.as_ref()).collect();
            let expected: &[&[u8]] = &[
                b"subdir",
                b"Program Files (x86)",
                b"big-sparse.bin",
                b"empty.txt",
                b"old.txt",
                b"regular.txt",
                "résumé ünï.txt".as_bytes(),
                b"today.txt",
                b"with spaces.txt",
                b"  two leading spaces.txt",
            ];
            assert_eq!(names, expected[..entries.len()], "year {year}");

            assert_eq!(
                (entries[0].kind, entries[0].size),
                (EntryKind::Directory, None)
            );
            assert_eq!(entries[0].modified, at("20261124082800"));
            assert_eq!(entries[1].kind, EntryKind::Directory);
            assert_eq!(
                (entries[2].kind, entries[2].size),
                (EntryKind::File, Some(5_368_709_120))
            );
            assert_eq!(entries[3].size, Some(0));
            assert_eq!(
                entries[4].modified,
                at("20240115000000"),
                "12:00AM is midnight"
            );
            assert_eq!(
                entries[5].modified,
                at("20261124123000"),
                "12:30PM is after noon"
            );
            assert_eq!(entries[5].size, Some(45));
            if let Some(today) = entries.get(7) {
                assert_eq!(today.modified, at("20261124202800"));
                assert_eq!(entries[9].size, Some(14));
            }
        }
    }

    #[test]
    fn loose_layouts() {
        let e = parse(b"01-15-24  12:00AM <DIR> pub").unwrap();
        assert_eq!(
            (e.name.as_ref(), e.kind),
            (&b"pub"[..], EntryKind::Directory)
        );
        let e = parse(b"01-15-69 23:59 17 a  b").unwrap();
        assert_eq!(e.name, "a  b");
        assert_eq!(e.modified, at("20690115235900"));
        let e = parse(b"12-31-99  11:59pm   1   x").unwrap();
        assert_eq!(
            (e.name.as_ref(), e.modified),
            (&b"x"[..], at("19991231235900"))
        );
        for bad in [
            &b"01-15-24  12:00AM <DIR>"[..],
            b"01-15-24  12:00AM <DIR>    ",
            b"01-15-24  12:00AM 17",
            b"01-15-24  13:00PM 17 x",
            b"01-15-24  00:00AM 17 x",
            b"02-30-24  10:00AM 17 x",
            b"01-15-124  10:00AM 17 x",
            b"01-15-24  10:00AM 17x",
        ] {
            assert_eq!(parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
