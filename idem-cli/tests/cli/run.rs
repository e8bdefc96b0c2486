//! Running the `idem` binary, as every test here does.

use std::io::{ErrorKind, Write};
use std::process::{Command, Stdio};

/// What one run of `idem` did.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// The stdout of a run that must have succeeded, saying nothing on stderr; `what` names the
    /// run when it did not.
    pub(crate) fn succeeded(self, what: &dyn std::fmt::Debug) -> String {
        assert_eq!(self.code, Some(0), "{what:?} failed: {self:?}");
        assert_eq!(self.stderr, "", "{what:?} wrote to stderr");
        self.stdout
    }
}

/// Runs `idem` with these arguments and, when given, this text on stdin (otherwise stdin is
/// empty).
pub(crate) fn idem(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idem"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the idem binary starts");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        // idem may exit before reading stdin (a wrong flag is reported first): a broken pipe
        // is then expected. Dropping the pipe closes stdin.
        if let Err(err) = pipe.write_all(text.as_bytes()) {
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "writing stdin: {err}");
        }
    }
    let output = child.wait_with_output().expect("idem finishes");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `future` to its end on a runtime of its own (the stores' calls are async; the tests
/// are not).
pub(crate) fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime")
        .block_on(future)
}
