//! The interactive shell, after the classic Unix `ftp`. Commands come from stdin, one a line,
//! so the shell can be scripted too (`ftp < commands`); the prompt shows only on a terminal.
//! The exit status is 1 when any command failed.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ftp_client::proto::{FormatControl, TransferType};
use ftp_client::{Client, DataMode};
use tokio::io::{AsyncBufReadExt, BufReader, Lines, Stdin};

use crate::url::FtpUrl;
use crate::{Failure, TlsArgs, local_name, open};

const HELP: &str = "\
open HOST [PORT] | open URL   connect (and log in from the URL, FTP_USER or ~/.netrc);
                              ftps:// URLs and --tls use TLS
user NAME [PASSWORD]          log in
ls [PATH]                     names in a directory (NLST)
dir [PATH]                    long listing (LIST)
cd PATH, pwd                  change or show the remote directory
get REMOTE [LOCAL]            download a file
put LOCAL [REMOTE]            upload a file
mget PATTERN...               download the files matching * and ? patterns
mput PATTERN...               upload the local files matching * and ? patterns
mkdir PATH, rmdir PATH        create or remove a remote directory
delete PATH                   delete a remote file
rename FROM TO                rename a remote file or directory
binary, ascii                 transfer type (binary by default)
passive, active               data connection mode (passive by default)
size PATH                     a remote file's size
status                        connection status, and the server's
help                          this text
bye (quit, exit)              log out and leave";

struct Shell {
    ftp: Option<Client>,
    ascii: bool,
    active: bool,
    lines: Lines<BufReader<Stdin>>,
    interactive: bool,
    /// `--tls`, `--ca-file`, `--insecure`: how `open` secures its connections.
    tls: TlsArgs,
}

/// Runs the shell; `target` is opened first when given.
pub(crate) async fn run(target: Option<String>, tls: TlsArgs) -> ExitCode {
    let mut shell = Shell {
        ftp: None,
        ascii: false,
        active: false,
        lines: BufReader::new(tokio::io::stdin()).lines(),
        interactive: std::io::stdin().is_terminal(),
        tls,
    };
    let mut failed = false;
    if let Some(target) = target {
        if let Err(e) = shell.execute(&["open".to_owned(), target]).await {
            eprintln!("ftp: {e}");
            failed = true;
        }
    }
    loop {
        if shell.interactive {
            print!("ftp> ");
            let _ = std::io::stdout().flush();
        }
        let line = match shell.lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                eprintln!("ftp: reading commands: {e}");
                failed = true;
                break;
            }
        };
        let words = split_words(&line);
        if words.is_empty() {
            continue;
        }
        if matches!(words[0].as_str(), "bye" | "quit" | "exit") {
            break;
        }
        if let Err(e) = shell.execute(&words).await {
            eprintln!("ftp: {e}");
            failed = true;
        }
    }
    if let Some(ftp) = shell.ftp.take() {
        match ftp.quit().await {
            Ok(reply) if shell.interactive => println!("{reply}"),
            Ok(_) => {}
            Err(e) => {
                eprintln!("ftp: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Splits a command line into words; `"..."` keeps spaces.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

/// Whether `name` matches a shell pattern, as the server expands them (`ftp_proto::glob`:
/// `*`, `?`, `[set]`, a leading dot matched only by a leading dot).
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    ftp_proto::glob::matches(pattern, name)
}

fn need<'a>(words: &'a [String], n: usize, usage: &str) -> Result<&'a [String], Failure> {
    if words.len() < n + 1 {
        return Err(format!("usage: {usage}").into());
    }
    Ok(&words[1..])
}

impl Shell {
    fn client(&mut self) -> Result<&mut Client, Failure> {
        self.ftp
            .as_mut()
            .ok_or_else(|| "not connected (use open)".into())
    }

    fn say(&self, text: impl std::fmt::Display) {
        println!("{text}");
    }

    async fn execute(&mut self, words: &[String]) -> Result<(), Failure> {
        let args = &words[1..];
        match words[0].as_str() {
            "help" | "?" => self.say(HELP),
            "open" => {
                let args = need(words, 1, "open HOST [PORT] | open URL")?;
                let text = if args[0].contains("://") {
                    args[0].clone()
                } else {
                    let port = args.get(1).map(String::as_str).unwrap_or("21");
                    if args[0].contains(':') {
                        format!("ftp://[{}]:{port}/", args[0])
                    } else {
                        format!("ftp://{}:{port}/", args[0])
                    }
                };
                let url = FtpUrl::parse(&text)?;
                if let Some(old) = self.ftp.take() {
                    let _ = old.quit().await;
                }
                let mut ftp = open(&url, self.active, &self.tls).await?;
                let secured = if ftp.is_secure() { " (TLS)" } else { "" };
                self.say(format!("Connected to {}{secured}.", ftp.peer_addr()));
                if !url.path.is_empty() {
                    ftp.cwd(&url.path).await?;
                }
                self.ftp = Some(ftp);
                self.apply_type().await?;
            }
            "user" => {
                let args = need(words, 1, "user NAME [PASSWORD]")?;
                let password = match args.get(1) {
                    Some(p) => p.clone(),
                    None => {
                        if self.interactive {
                            print!("Password: ");
                            let _ = std::io::stdout().flush();
                        }
                        self.lines.next_line().await?.unwrap_or_default()
                    }
                };
                let reply = self.client()?.login(&args[0], &password).await?;
                self.say(reply);
            }
            "ls" | "nlst" => {
                let path = args.first().map_or("", String::as_str);
                for name in self.client()?.list_names(path).await? {
                    self.say(String::from_utf8_lossy(&name));
                }
            }
            "dir" | "list" => {
                let path = args.first().map_or("", String::as_str);
                for line in self.client()?.list_lines(path).await? {
                    self.say(String::from_utf8_lossy(&line));
                }
            }
            "cd" | "cwd" => {
                let args = need(words, 1, "cd PATH")?;
                let reply = self.client()?.cwd(&args[0]).await?;
                self.say(reply);
            }
            "cdup" => {
                let reply = self.client()?.cdup().await?;
                self.say(reply);
            }
            "pwd" => {
                let dir = self.client()?.pwd().await?;
                self.say(String::from_utf8_lossy(&dir));
            }
            "get" | "recv" => {
                let args = need(words, 1, "get REMOTE [LOCAL]")?;
                let local = match args.get(1) {
                    Some(l) => PathBuf::from(l),
                    None => base_name(&args[0])?,
                };
                let n = self.client()?.download_file(&args[0], &local, 0).await?;
                self.say(format!("{n} bytes received into {}", local.display()));
            }
            "put" | "send" => {
                let args = need(words, 1, "put LOCAL [REMOTE]")?;
                let remote = match args.get(1) {
                    Some(r) => r.clone(),
                    None => Path::new(&args[0])
                        .file_name()
                        .ok_or("LOCAL names no file")?
                        .to_string_lossy()
                        .into_owned(),
                };
                let n = self.client()?.upload_file(&args[0], &remote, 0).await?;
                self.say(format!("{n} bytes sent to {remote}"));
            }
            "mget" => {
                need(words, 1, "mget PATTERN...")?;
                let names = self.client()?.list_names("").await?;
                for name in names {
                    let base = name.rsplit(|&b| b == b'/').next().unwrap_or(&name);
                    if args.iter().any(|p| glob_match(p.as_bytes(), base)) {
                        let local = local_name(base);
                        let n = self.client()?.download_file(&name, &local, 0).await?;
                        self.say(format!("{n} bytes received into {}", local.display()));
                    }
                }
            }
            "mput" => {
                need(words, 1, "mput PATTERN...")?;
                let mut files: Vec<PathBuf> = Vec::new();
                for entry in std::fs::read_dir(".")? {
                    let entry = entry?;
                    let name = entry.file_name();
                    let matches = args
                        .iter()
                        .any(|p| glob_match(p.as_bytes(), name.as_encoded_bytes()));
                    if matches && entry.file_type()?.is_file() {
                        files.push(PathBuf::from(name));
                    }
                }
                files.sort();
                for file in files {
                    let remote = file.as_os_str().as_encoded_bytes().to_vec();
                    let n = self.client()?.upload_file(&file, &remote, 0).await?;
                    self.say(format!("{n} bytes sent to {}", file.display()));
                }
            }
            "mkdir" | "mkd" => {
                let args = need(words, 1, "mkdir PATH")?;
                let name = self.client()?.mkdir(&args[0]).await?;
                self.say(format!("created {}", String::from_utf8_lossy(&name)));
            }
            "rmdir" | "rmd" => {
                let args = need(words, 1, "rmdir PATH")?;
                let reply = self.client()?.rmdir(&args[0]).await?;
                self.say(reply);
            }
            "delete" | "dele" | "rm" => {
                let args = need(words, 1, "delete PATH")?;
                let reply = self.client()?.delete(&args[0]).await?;
                self.say(reply);
            }
            "rename" => {
                let args = need(words, 2, "rename FROM TO")?;
                let reply = self.client()?.rename(&args[0], &args[1]).await?;
                self.say(reply);
            }
            "binary" | "image" => {
                self.ascii = false;
                self.apply_type().await?;
                self.say("Type set to I (binary).");
            }
            "ascii" => {
                self.ascii = true;
                self.apply_type().await?;
                self.say("Type set to A (ASCII).");
            }
            "passive" | "active" => {
                self.active = words[0] == "active";
                let mode = if self.active {
                    DataMode::Active { bind: None }
                } else {
                    DataMode::Passive
                };
                if let Some(ftp) = self.ftp.as_mut() {
                    ftp.set_data_mode(mode);
                }
                self.say(if self.active {
                    "Active mode on."
                } else {
                    "Passive mode on."
                });
            }
            "size" => {
                let args = need(words, 1, "size PATH")?;
                let size = self.client()?.size(&args[0]).await?;
                self.say(format!("{} {size}", args[0]));
            }
            "status" => {
                match &self.ftp {
                    Some(ftp) => self.say(format!("Connected to {}.", ftp.peer_addr())),
                    None => self.say("Not connected."),
                }
                self.say(format!(
                    "Mode: {}; Type: {}.",
                    if self.active { "active" } else { "passive" },
                    if self.ascii { "ascii" } else { "binary" }
                ));
                if let Some(ftp) = self.ftp.as_mut() {
                    let reply = ftp.status("").await?;
                    self.say(reply);
                }
            }
            other => return Err(format!("unknown command {other:?} (try help)").into()),
        }
        Ok(())
    }

    async fn apply_type(&mut self) -> Result<(), Failure> {
        let wanted = if self.ascii {
            TransferType::Ascii(FormatControl::NonPrint)
        } else {
            TransferType::Image
        };
        if let Some(ftp) = self.ftp.as_mut() {
            ftp.set_type(wanted).await?;
        }
        Ok(())
    }
}

fn base_name(remote: &str) -> Result<PathBuf, Failure> {
    let name = remote
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!("{remote:?} names no file; give a local name").into());
    }
    Ok(PathBuf::from(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_quotes() {
        assert_eq!(
            split_words("  put  \"a b.txt\" c "),
            ["put", "a b.txt", "c"]
        );
        assert_eq!(split_words("get \"\""), ["get", ""]);
        assert!(split_words("   ").is_empty());
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"*.txt", b"a.txt"));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"f?le*", b"file.tar.gz"));
        assert!(!glob_match(b"*.txt", b"a.txt.bak"));
        assert!(!glob_match(b"?", b""));
    }
}
