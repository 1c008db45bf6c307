//! The memory of a process tree from Linux's `/proc`: RSS and PSS of a process and all its
//! descendants (a forking server's children count too).

use std::collections::HashMap;
use std::fs;

/// Memory of a process tree, in KiB.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Usage {
    pub(crate) rss_kib: u64,
    pub(crate) pss_kib: u64,
    pub(crate) processes: usize,
}

/// RSS and PSS of `pid` and its descendants (from `smaps_rollup`, Linux 4.14 and later).
pub(crate) fn tree_usage(pid: u32) -> Result<Usage, String> {
    let mut usage = Usage::default();
    for p in descendants_and_self(pid)? {
        let path = format!("/proc/{p}/smaps_rollup");
        match fs::read_to_string(&path) {
            Ok(text) => {
                usage.rss_kib += field_kib(&text, "Rss:").unwrap_or(0);
                usage.pss_kib += field_kib(&text, "Pss:").unwrap_or(0);
                usage.processes += 1;
            }
            // A child that exited between the walk and the read.
            Err(_) if p != pid => {}
            Err(e) => {
                return Err(format!(
                    "cannot read {path}: {e} (the server's memory needs the same user or root)"
                ));
            }
        }
    }
    Ok(usage)
}

/// `pid` first, then every process whose chain of parents leads to it.
fn descendants_and_self(pid: u32) -> Result<Vec<u32>, String> {
    if fs::metadata(format!("/proc/{pid}")).is_err() {
        return Err(format!("no process {pid} (is the server's --pid right?)"));
    }
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let entries = fs::read_dir("/proc").map_err(|e| format!("cannot read /proc: {e}"))?;
    for entry in entries.flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        if let Some(ppid) = parent_of(&stat) {
            children.entry(ppid).or_default().push(p);
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while let Some(&p) = out.get(i) {
        if let Some(kids) = children.get(&p) {
            out.extend(kids.iter().copied().filter(|k| *k != pid));
        }
        i += 1;
    }
    Ok(out)
}

/// The parent pid in a `/proc/PID/stat` line: `pid (comm) state ppid ...`, where comm may
/// hold spaces and parentheses, so the fields are counted from the last `)`.
fn parent_of(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// The value of a `Name:   1234 kB` line.
fn field_kib(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name))?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_command_names() {
        assert_eq!(parent_of("42 (ftpd) S 7 42 42 0 -1"), Some(7));
        assert_eq!(parent_of("42 (a) b) (c) R 9 1 1"), Some(9));
        assert_eq!(parent_of("garbage"), None);
    }

    #[test]
    fn rollup_fields() {
        let text = "55d0-7ff [rollup]\nRss:              10240 kB\nPss:               8000 kB\n\
                    Pss_Anon:           100 kB\n";
        assert_eq!(field_kib(text, "Rss:"), Some(10240));
        assert_eq!(field_kib(text, "Pss:"), Some(8000));
        assert_eq!(field_kib(text, "Swap:"), None);
    }

    #[test]
    fn this_process_has_memory() {
        let usage = tree_usage(std::process::id()).expect("own smaps_rollup");
        assert!(usage.rss_kib > 0 && usage.pss_kib > 0 && usage.processes >= 1);
    }
}
