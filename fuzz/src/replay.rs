//! Replays a target's committed inputs through its check, for the ordinary test suite.
//!
//! The inputs are the seeds of `fuzz/corpus/<target>/` and the crashes kept in
//! `fuzz/regressions/<target>/` (a regression is an input that once failed; it must now pass).
//! Every input is run, and the failures are reported together, each with its file.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The directories of a target's committed inputs, under the `fuzz` directory.
const INPUT_DIRS: [&str; 2] = ["corpus", "regressions"];

/// Runs `check` on every committed input of `target`; panics naming each input that fails, or
/// when the target has no seed at all (a misplaced corpus must not pass silently).
pub fn replay(fuzz_dir: &Path, target: &str, check: fn(&[u8])) {
    let mut inputs = Vec::new();
    for dir in INPUT_DIRS {
        inputs.extend(files(&fuzz_dir.join(dir).join(target)));
    }
    assert!(
        !inputs.is_empty(),
        "no input for `{target}` under {}",
        fuzz_dir.display()
    );
    let failures: Vec<String> = inputs
        .iter()
        .filter_map(|path| {
            let data =
                fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| check(&data)));
            outcome.err().map(|_| path.display().to_string())
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} inputs of `{target}` fail (messages above):\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n"),
    );
}

/// The files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}
