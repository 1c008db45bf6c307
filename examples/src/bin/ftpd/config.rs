//! `ftpd --config FILE`: a TOML file with every setting the flags have, under the flags' own
//! names (`max-connections = 1024`, `bind = ["0.0.0.0:21", "[::]:21"]`, `writable = true`),
//! and the users as `[[user]]` tables (a PHC hash each, a root and permissions of their own).
//! The flags on the command line override the file. Every error names the file and the line.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};

use clap::ArgAction;
use ftp_proto::{Permissions, VirtualPath};
use serde::Deserialize;
use toml::Spanned;

/// What a configuration file says.
#[derive(Debug, Default)]
pub(crate) struct FileSettings {
    /// The flags the file stands for, each with the id of its argument (so that the command
    /// line can override it) and the words it makes (`--bind`, `127.0.0.1:21`).
    pub(crate) flags: Vec<(String, Vec<OsString>)>,
    /// The `[[user]]` tables.
    pub(crate) users: Vec<FileUser>,
}

/// One `[[user]]` table.
#[derive(Clone, Debug)]
pub(crate) struct FileUser {
    pub(crate) name: String,
    pub(crate) hash: String,
    pub(crate) root: VirtualPath,
    /// `None`: what `writable` says.
    pub(crate) permissions: Option<Permissions>,
    pub(crate) tls_required: bool,
    pub(crate) protected_data_required: bool,
    /// Where the table starts, for errors found later (a hash that does not parse).
    pub(crate) line: usize,
}

/// A configuration error: the file, the line when it is known, what is wrong.
#[derive(Debug)]
pub(crate) struct ConfigError {
    path: PathBuf,
    line: Option<usize>,
    message: String,
}

impl ConfigError {
    pub(crate) fn new(path: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Settings of the command line that have no place in the file.
const NOT_IN_FILE: &[&str] = &["config", "check-config"];

#[derive(Deserialize)]
struct Users {
    #[serde(default)]
    user: Vec<Spanned<UserTable>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct UserTable {
    name: Spanned<String>,
    password_hash: Spanned<String>,
    #[serde(default)]
    root: Option<Spanned<String>>,
    #[serde(default)]
    permissions: Option<Spanned<String>>,
    #[serde(default)]
    tls_required: bool,
    #[serde(default)]
    protected_data_required: bool,
}

/// The line of byte offset `at` in `text`, from 1.
fn line_of(text: &str, at: usize) -> usize {
    text.get(..at).map_or(0, |t| t.matches('\n').count()) + 1
}

/// Reads and checks `path` against the flags of `cmd`.
pub(crate) fn load(path: &Path, cmd: &clap::Command) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(path, None, format!("cannot read: {e}")))?;
    parse(path, &text, cmd)
}

fn parse(path: &Path, text: &str, cmd: &clap::Command) -> Result<FileSettings, ConfigError> {
    let syntax = |e: toml::de::Error| {
        let line = e.span().map(|s| line_of(text, s.start));
        ConfigError::new(path, line, e.message().trim().to_owned())
    };
    let top: BTreeMap<Spanned<String>, Spanned<toml::Value>> =
        toml::from_str(text).map_err(syntax)?;
    let mut settings = FileSettings::default();
    // In the order written, so that errors come in that order too.
    let mut entries: Vec<_> = top.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    for (key, value) in entries {
        let line = line_of(text, key.span().start);
        let fail = |message: String| ConfigError::new(path, Some(line), message);
        let name = key.get_ref().replace('_', "-");
        if name == "user" {
            continue;
        }
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(name.as_str()))
            .filter(|_| !NOT_IN_FILE.contains(&name.as_str()))
            .ok_or_else(|| fail(format!("unknown setting `{}`", key.get_ref())))?;
        let flag = format!("--{name}");
        let words = match arg.get_action() {
            ArgAction::SetTrue => match value.get_ref() {
                toml::Value::Boolean(true) => vec![OsString::from(&flag)],
                toml::Value::Boolean(false) => Vec::new(),
                _ => return Err(fail(format!("`{name}` is true or false"))),
            },
            action => {
                let many = matches!(action, ArgAction::Append);
                let scalars: Vec<&toml::Value> = match value.get_ref() {
                    toml::Value::Array(items) if many => items.iter().collect(),
                    toml::Value::Array(_) => {
                        return Err(fail(format!("`{name}` takes one value, not a list")));
                    }
                    one => vec![one],
                };
                let mut words = Vec::new();
                for v in scalars {
                    let text = match v {
                        toml::Value::String(s) => s.clone(),
                        toml::Value::Integer(i) => i.to_string(),
                        other => {
                            return Err(fail(format!(
                                "`{name}` takes a string or a number, not {}",
                                other.type_str()
                            )));
                        }
                    };
                    // The flag's own parser: the file accepts exactly what the flag does.
                    check_value(arg, &text)
                        .map_err(|e| fail(format!("`{name}`: {}", clap_reason(&e))))?;
                    words.push(OsString::from(&flag));
                    words.push(OsString::from(text));
                }
                words
            }
        };
        settings.flags.push((arg.get_id().to_string(), words));
    }
    let users: Users = toml::from_str(text).map_err(syntax)?;
    let mut seen = std::collections::HashSet::new();
    for table in users.user {
        let line = line_of(text, table.span().start);
        let t = table.into_inner();
        let at = |s: &std::ops::Range<usize>| Some(line_of(text, s.start));
        let name = t.name.get_ref().clone();
        if name.is_empty() || name.chars().any(|c| c.is_control() || c == ' ' || c == ':') {
            return Err(ConfigError::new(
                path,
                at(&t.name.span()),
                format!("user name {name:?} is empty or has blanks"),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(ConfigError::new(
                path,
                at(&t.name.span()),
                format!("user {name:?} is listed twice"),
            ));
        }
        let root = match &t.root {
            Some(root) if !root.get_ref().starts_with('/') => {
                return Err(ConfigError::new(
                    path,
                    at(&root.span()),
                    format!("root {:?} must start with /", root.get_ref()),
                ));
            }
            Some(root) => VirtualPath::root().resolve(root.get_ref().as_bytes()),
            None => VirtualPath::root(),
        };
        let permissions = match &t.permissions {
            Some(p) => Some(
                ftp_server::auth::parse_permissions(p.get_ref())
                    .map_err(|e| ConfigError::new(path, at(&p.span()), e))?,
            ),
            None => None,
        };
        // The hash is checked as the user table will take it.
        let hash = t.password_hash.get_ref().clone();
        if ftp_server::auth::UserTable::new()
            .with_user_hash("x", hash.clone(), VirtualPath::root(), Permissions::NONE)
            .is_err()
        {
            return Err(ConfigError::new(
                path,
                at(&t.password_hash.span()),
                "password-hash is not an Argon2 PHC hash (make one with `ftpd hash-password`)",
            ));
        }
        settings.users.push(FileUser {
            name,
            hash,
            root,
            permissions,
            tls_required: t.tls_required || t.protected_data_required,
            protected_data_required: t.protected_data_required,
            line,
        });
    }
    Ok(settings)
}

/// Runs `value` through the value parser of `arg` alone (not its relations to other flags,
/// which are checked once the whole command line is put together).
fn check_value(arg: &clap::Arg, value: &str) -> Result<(), clap::Error> {
    let long = arg.get_long().unwrap_or("value").to_owned();
    let alone = clap::Arg::new("value")
        .long(long)
        .value_name(
            arg.get_value_names()
                .and_then(|n| n.first())
                .map_or("VALUE".to_owned(), ToString::to_string),
        )
        .value_parser(arg.get_value_parser().clone())
        .action(ArgAction::Set);
    let flag = format!("--{}", arg.get_long().unwrap_or("value"));
    clap::Command::new("ftpd")
        .arg(alone)
        .try_get_matches_from([OsStr::new("ftpd"), OsStr::new(&flag), OsStr::new(value)])
        .map(drop)
}

/// The reason in a clap error, without its `error:` and its advice.
pub(crate) fn clap_reason(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let reason: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect();
    let joined = reason.join(" ");
    joined.strip_prefix("error: ").unwrap_or(&joined).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd() -> clap::Command {
        clap::Command::new("t")
            .arg(
                clap::Arg::new("bind")
                    .long("bind")
                    .action(ArgAction::Append)
                    .value_parser(clap::value_parser!(std::net::SocketAddr)),
            )
            .arg(
                clap::Arg::new("max_connections")
                    .long("max-connections")
                    .value_parser(clap::value_parser!(usize)),
            )
            .arg(
                clap::Arg::new("writable")
                    .long("writable")
                    .action(ArgAction::SetTrue),
            )
    }

    fn err(text: &str) -> String {
        parse(Path::new("f.toml"), text, &cmd())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn flags_from_the_file() {
        let s = parse(
            Path::new("f.toml"),
            "bind = [\"127.0.0.1:21\", \"[::1]:21\"]\nmax_connections = 5\nwritable = true\n",
            &cmd(),
        )
        .unwrap();
        let words: Vec<Vec<String>> = s
            .flags
            .iter()
            .map(|(_, w)| w.iter().map(|w| w.to_string_lossy().into_owned()).collect())
            .collect();
        assert_eq!(
            words,
            [
                vec!["--bind", "127.0.0.1:21", "--bind", "[::1]:21"],
                vec!["--max-connections", "5"],
                vec!["--writable"],
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            err("\n\nfrobnicate = 1\n"),
            "f.toml:3: unknown setting `frobnicate`"
        );
        assert!(
            err("writable = true\nbind = \"nowhere\"\n")
                .starts_with("f.toml:2: `bind`: invalid value 'nowhere'"),
            "{}",
            err("writable = true\nbind = \"nowhere\"\n")
        );
        assert_eq!(
            err("writable = 1\n"),
            "f.toml:1: `writable` is true or false"
        );
        assert_eq!(
            err("max-connections = [1, 2]\n"),
            "f.toml:1: `max-connections` takes one value, not a list"
        );
        assert!(err("x = \n").starts_with("f.toml:1: "), "{}", err("x = \n"));
        assert_eq!(
            err("[[user]]\nname = \"a\"\npassword-hash = \"plain\"\n"),
            "f.toml:3: password-hash is not an Argon2 PHC hash (make one with `ftpd hash-password`)"
        );
        assert_eq!(
            err("[[user]]\nname = \"a\"\npassword-hash = \"h\"\nshell = \"/bin/sh\"\n"),
            "f.toml:4: unknown field `shell`, expected one of `name`, `password-hash`, `root`, `permissions`, `tls-required`, `protected-data-required`"
        );
    }
}
