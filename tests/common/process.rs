//! The real `switchboard` binary as a child process, journalling into a directory of the test's
//! own: started, killed with SIGKILL or stopped with SIGTERM, and started again on the same
//! directory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use super::gateway::{admin_request_text, http_exchange, status_of, Transport, ADMIN_TOKEN};

/// A fresh, empty directory under the system's temp dir, unique to this test process and call.
pub fn scratch_dir(name: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "switchboard-{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch dir");
    dir
}

/// The binary serving on ephemeral ports; killed when dropped.
pub struct Process {
    child: Child,
    /// `HOST:PORT` of the public listener.
    pub addr: String,
    /// `HOST:PORT` of the admin listener.
    pub admin: String,
    /// Kept open: a gateway whose stdout is closed would fail its next print.
    _stdout: BufReader<ChildStdout>,
    log: PathBuf,
}

impl Process {
    /// `switchboard serve --data-dir DATA EXTRA…` on 127.0.0.1:0; panics, with its log, unless
    /// it comes up.
    pub fn start(data: &Path, extra: &[&str]) -> Process {
        match Self::try_start(data, extra) {
            Ok(process) => process,
            Err((status, log)) => panic!("the gateway did not start ({status:?}):\n{log}"),
        }
    }

    /// As [`Process::start`]; Err carries the exit status and what it logged when it does not
    /// come up.
    pub fn try_start(data: &Path, extra: &[&str]) -> Result<Process, (Option<ExitStatus>, String)> {
        let log = data.with_extension(format!("log-{}", std::process::id()));
        let stderr = std::fs::File::create(&log).expect("a log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
            ])
            .arg("--data-dir")
            .arg(data)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("switchboard starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let (mut addr, mut admin) = (None, None);
        // The banner ends with the admin line; the gateway serves once it is printed.
        for _ in 0..10 {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            if let Some(rest) = line.split("connectors: ws://").nth(1) {
                addr = rest.split('/').next().map(str::to_string);
            }
            if let Some(rest) = line.split("admin:      http://").nth(1) {
                admin = rest.split('/').next().map(str::to_string);
                break;
            }
        }
        match (addr, admin) {
            (Some(addr), Some(admin)) => Ok(Process {
                child,
                addr,
                admin,
                _stdout: stdout,
                log,
            }),
            _ => {
                let status = child.wait().ok();
                Err((status, std::fs::read_to_string(&log).unwrap_or_default()))
            }
        }
    }

    /// SIGKILL: nothing is flushed, nothing is said to anyone.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the exit (a graceful stop drains, snapshots and closes with 1001).
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "SIGTERM sent");
        self.child.wait().expect("the gateway exits")
    }

    /// What the gateway has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// An admin API GET with the development token: (status, body).
    pub async fn api_get(&self, path: &str) -> (u16, String) {
        let request = admin_request_text("GET", path, Some(ADMIN_TOKEN), "");
        let response = http_exchange(&Transport::Plain, &self.admin, &request)
            .await
            .unwrap_or_default();
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
        (status_of(&response), body)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
