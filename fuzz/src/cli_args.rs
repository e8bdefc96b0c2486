//! Target `cli_args`: the `idem` command line, from any words.
//!
//! The input is split into argv words at NUL bytes (the one byte a command-line word cannot
//! hold), so that words may hold any other byte, invalid UTF-8 included; `idem` is put in front
//! as the program name. [`idem_cli::fuzz_command_line`] parses them with the binary's own clap
//! definition and, for `idem key ... --args JSON`, computes the key as the binary does (it
//! prints it: run the fuzzer with `-close_fd_mask=1`). Commands that would read stdin (`idem
//! key` without `--args`) or open a store (`idem store ...`) are only parsed: nothing touches the
//! file system or the network.
//!
//! Any outcome is fine but a panic, with one promise of the command checked: an error is
//! printed as one line (`idem: error: <message>`), so its message holds no line break and is not
//! empty, and bad input exits with 2, a failure of the environment with 1.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::process::ExitCode;

use idem_cli::FuzzRun;

/// Checks one input: see the module documentation.
pub fn check(data: &[u8]) {
    let words = data
        .split(|&b| b == 0)
        .map(|word| OsString::from_vec(word.to_vec()));
    let argv = std::iter::once(OsString::from("idem")).chain(words);
    match idem_cli::fuzz_command_line(argv) {
        FuzzRun::Usage(message) => assert!(!message.is_empty(), "clap gives an empty message"),
        FuzzRun::Key(Ok(())) | FuzzRun::NotRun => {}
        FuzzRun::Key(Err((line, code))) => {
            assert!(
                !line.is_empty() && !line.contains(['\n', '\r']),
                "an error message is not one line: {line:?}",
            );
            assert!(
                code == ExitCode::from(2) || code == ExitCode::from(1),
                "an error exits with {code:?}, not 1 or 2: {line}",
            );
        }
    }
}
