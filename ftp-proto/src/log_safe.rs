//! Text from the network, made safe for logs: control characters are written as escapes.
//!
//! A user name, a path or a command argument can hold terminal escape sequences (`ESC [ 2 J`)
//! or line ends that forge log lines. Every `Display` of this crate that shows network bytes
//! ([`Arg`](crate::Arg), [`VirtualPath`](crate::VirtualPath), [`Command`](crate::Command),
//! [`Reply`](crate::Reply)) goes through [`LogSafe`]; drivers wrap any other network-derived
//! string in it before logging.

use std::fmt;

/// Shows a string with its control characters (C0, DEL and C1) escaped as `\u{1b}`, and
/// everything else as it is.
#[derive(Clone, Copy, Debug)]
pub struct LogSafe<'a>(pub &'a str);

impl fmt::Display for LogSafe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(char::is_control) {
            let (clean, tail) = rest.split_at(at);
            f.write_str(clean)?;
            let mut chars = tail.chars();
            if let Some(c) = chars.next() {
                write!(f, "{}", c.escape_unicode())?;
            }
            rest = chars.as_str();
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(LogSafe("alice").to_string(), "alice");
        assert_eq!(
            LogSafe("\u{1b}[2Jroot\r\nfake").to_string(),
            "\\u{1b}[2Jroot\\u{d}\\u{a}fake"
        );
        assert_eq!(LogSafe("é\u{7f}\u{9b}").to_string(), "é\\u{7f}\\u{9b}");
    }
}
