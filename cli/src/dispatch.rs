//! `takedown match`, `takedown platform …` and `takedown demo`: forwarded to the
//! companion programs `takedown-platform` and `takedown-demo` (ADR 0012).
//!
//! The platform kit needs an HTTP client and a SQLite list, and the demo runs the whole
//! service in-process; hashing a file needs neither. Keeping them in their own binaries
//! keeps `takedown hash` free of the network and storage stack, the way `git` and `cargo`
//! run `git-foo` and `cargo-foo`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// Where the companion `name` is: beside this executable first (a cargo build or an
/// install puts them together), then the `PATH`.
fn locate(name: &str) -> Option<PathBuf> {
    let exe = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    if let Ok(me) = std::env::current_exe()
        && let Some(dir) = me.parent()
    {
        let beside = dir.join(&exe);
        if beside.is_file() {
            return Some(beside);
        }
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(&exe))
            .find(|p| p.is_file())
    })
}

/// Runs companion `program` with `args` (the first of them possibly a subcommand of
/// its own) and exits with its status.
pub fn forward(program: &str, package: &str, args: Vec<OsString>) -> ExitCode {
    let Some(path) = locate(program) else {
        eprintln!(
            "error: `{program}` was not found beside `takedown` or on the PATH.\n\
             Build it with `cargo build --release -p {package}` (or `cargo build --release` for everything)."
        );
        return ExitCode::from(2);
    };
    let mut cmd = Command::new(path);
    cmd.args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // `exec` only returns on failure.
        let err = cmd.exec();
        eprintln!("error: could not start `{program}`: {err}");
        ExitCode::from(2)
    }
    #[cfg(not(unix))]
    match cmd.status() {
        Ok(s) => ExitCode::from(s.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(2)),
        Err(err) => {
            eprintln!("error: could not start `{program}`: {err}");
            ExitCode::from(2)
        }
    }
}
