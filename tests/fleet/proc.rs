//! [`Proc`]: the parent's handle on a worker process (this test binary, re-executed).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::mpsc;

use super::job::Job;
use super::{CallReport, JOB_VAR, WORKER_TEST};

/// The marker that starts a worker's report on a line of its standard output.
pub const MARK: &str = "@fleet ";

/// How much of a worker's other output is kept for failure messages.
const TAIL: usize = 40;

/// One report of a worker: its kind (`ready`, `call`, `in-tool`, `done`, ...) and its JSON.
#[derive(Debug)]
pub struct Report {
    pub kind: String,
    pub value: Value,
}

/// A worker process. Dropping the handle kills the process (SIGKILL) and reaps it.
pub struct Proc {
    pub name: String,
    pub pid: u32,
    child: Child,
    stdin: Option<ChildStdin>,
    reports: mpsc::UnboundedReceiver<Report>,
    /// The last lines the worker wrote that are not reports (stdout and stderr).
    tail: Arc<Mutex<VecDeque<String>>>,
}

impl Proc {
    /// Starts a worker for `job`.
    pub fn spawn(job: &Job) -> Proc {
        let exe = std::env::current_exe().expect("the test binary");
        let mut child = Command::new(exe)
            .args(["--exact", WORKER_TEST, "--nocapture", "--test-threads", "1"])
            .env(JOB_VAR, serde_json::to_string(job).expect("a job"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start a worker process");
        let (tx, reports) = mpsc::unbounded_channel();
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        {
            let tail = Arc::clone(&tail);
            std::thread::spawn(move || read_lines(stdout, Some(tx), &tail));
        }
        {
            let tail = Arc::clone(&tail);
            std::thread::spawn(move || read_lines(stderr, None, &tail));
        }
        Proc {
            name: job.name.clone(),
            pid: child.id(),
            stdin: child.stdin.take(),
            child,
            reports,
            tail,
        }
    }

    /// Sends the command `line` to the worker.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("the worker's stdin is open");
        let sent = writeln!(stdin, "{line}").and_then(|()| stdin.flush());
        if let Err(err) = sent {
            panic!("{}: cannot send `{line}`: {err}{}", self.name, self.tail());
        }
    }

    /// The next report, whatever its kind, within `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Report {
        match tokio::time::timeout(timeout, self.reports.recv()).await {
            Ok(Some(report)) => {
                if report.kind == "error" {
                    panic!(
                        "{}: the worker failed: {}{}",
                        self.name,
                        report.value,
                        self.tail()
                    );
                }
                report
            }
            Ok(None) => {
                let status = self.child.wait().ok();
                panic!(
                    "{}: the worker exited ({status:?}) without the report awaited{}",
                    self.name,
                    self.tail()
                );
            }
            Err(_) => panic!(
                "{}: no report from the worker within {timeout:?}{}",
                self.name,
                self.tail()
            ),
        }
    }

    /// The next report, which must be of `kind`.
    pub async fn expect<T: DeserializeOwned>(&mut self, kind: &str, timeout: Duration) -> T {
        let report = self.next(timeout).await;
        assert_eq!(
            report.kind, kind,
            "{}: expected a `{kind}` report, got {report:?}",
            self.name
        );
        self.parse(report.value)
    }

    /// Every `call` report until the `done` report, within `timeout` in all.
    pub async fn calls_until_done<T: DeserializeOwned>(
        &mut self,
        timeout: Duration,
    ) -> (Vec<CallReport>, T) {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut calls = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let report = self.next(left.max(Duration::from_millis(1))).await;
            match report.kind.as_str() {
                "call" => calls.push(self.parse(report.value)),
                "done" => return (calls, self.parse(report.value)),
                other => panic!("{}: unexpected `{other}` report: {report:?}", self.name),
            }
        }
    }

    /// Waits for the worker to exit, within `timeout`.
    pub async fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{}: still running after {timeout:?}{}",
                self.name,
                self.tail()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends `signal` (`"STOP"`, `"CONT"`) with `kill(1)`.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string())
            .status()
            .expect("run kill(1)");
        assert!(status.success(), "kill -{signal} {}: {status}", self.pid);
    }

    fn parse<T: DeserializeOwned>(&self, value: Value) -> T {
        serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("{}: unreadable report {value}: {e}", self.name))
    }

    /// The worker's last lines, for a failure message.
    fn tail(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.is_empty() {
            return String::new();
        }
        let lines: Vec<&str> = tail.iter().map(String::as_str).collect();
        format!("\n--- its last lines ---\n{}", lines.join("\n"))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // A stopped worker dies of SIGKILL too.
        self.kill();
    }
}

/// Reads `from` line by line: reports go to `reports`, other lines to `tail`.
fn read_lines(
    from: impl Read,
    reports: Option<mpsc::UnboundedSender<Report>>,
    tail: &Mutex<VecDeque<String>>,
) {
    for line in BufReader::new(from).lines() {
        let Ok(line) = line else { break };
        if let Some(reports) = &reports
            && let Some((_, rest)) = line.split_once(MARK)
        {
            let (kind, json) = rest.split_once(' ').unwrap_or((rest, "null"));
            let value = serde_json::from_str(json).unwrap_or(Value::String(json.to_owned()));
            let _ = reports.send(Report {
                kind: kind.to_owned(),
                value,
            });
            continue;
        }
        let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.len() == TAIL {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}
