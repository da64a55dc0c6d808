//! The process under test: Switchboard (`switchboard serve`) or the baseline relay, each started
//! as a child process so `/proc/PID` gives its own RSS and CPU, apart from the load generator's.
//!
//! A child is killed when its [`Target`] is dropped, so an error anywhere in the bench never
//! leaves a server behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use switchboard::config::{Config, EMBEDDED_TOML};
use switchboard::gateway::auth::{sign, Claims};
use switchboard::gateway::unix_now;

/// How long a spawned target has to print its address.
const STARTUP: Duration = Duration::from_secs(30);

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The real gateway.
    Switchboard,
    /// The real gateway with `[gateway.tls]`: clients speak `wss://`.
    SwitchboardTls,
    /// `relay-baseline`.
    Baseline,
}

impl Kind {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Switchboard => "switchboard",
            Kind::SwitchboardTls => "switchboard-tls",
            Kind::Baseline => "baseline",
        }
    }

    /// Parses a `--spawn` value.
    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "switchboard" => Some(Kind::Switchboard),
            "switchboard-tls" => Some(Kind::SwitchboardTls),
            "baseline" => Some(Kind::Baseline),
            _ => None,
        }
    }
}

/// A server to drive.
#[derive(Debug)]
pub struct Target {
    /// What it is.
    pub kind: Kind,
    /// `ws://HOST:PORT` or `wss://HOST:PORT`, without a path.
    pub base: String,
    /// Its process id when known (spawned, or `--target-pid`), for RSS and CPU.
    pub pid: Option<u32>,
    child: Option<Child>,
    /// A temporary file the child reads (its configuration), removed with the target.
    scratch: Option<PathBuf>,
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            // SIGKILL: a benchmark target has nothing to drain, and a graceful stop would only
            // add the gateway's drain period to every run.
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(path) = self.scratch.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Target {
    /// A target started by someone else.
    pub fn external(kind: Kind, base: &str, pid: Option<u32>) -> Target {
        Target {
            kind,
            base: base.trim_end_matches('/').to_string(),
            pid,
            child: None,
            scratch: None,
        }
    }

    /// Whether a spawned child is still running (always true for an external target).
    pub fn alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// Stops a spawned child now.
    pub fn stop(self) {
        // Drop kills the child and removes its scratch file.
        drop(self);
    }
}

/// The API key of bench connector `i`. Every connector needs its own: a second connection with
/// the same key replaces the first (protocol: one connection per identity).
pub fn connector_key(i: usize) -> String {
    format!("loadtest-connector-key-{i:06}")
}

/// The bench configuration: `base` (the embedded defaults when `None`) plus `connectors`
/// connector identities.
///
/// Appending `[[connectors]]` tables to the TOML keeps every other setting of the base (the
/// config types implement `Deserialize` only, so a file cannot be re-serialised). A different
/// base is for targets built from another version of the code, whose embedded defaults may not
/// parse there: pass that version's `config/switchboard.toml`.
pub fn bench_config(base: Option<&str>, connectors: usize) -> Result<(String, Config), String> {
    let base = base.unwrap_or(EMBEDDED_TOML);
    let mut text = String::with_capacity(base.len() + connectors * 96);
    text.push_str(base);
    text.push_str("\n# gateway-bench connectors\n");
    for i in 0..connectors {
        text.push_str(&format!(
            "[[connectors]]\nname = \"bench-{i}\"\ntenant = \"default\"\napi_key = \"{}\"\n",
            connector_key(i)
        ));
    }
    let config = Config::from_toml_str(&text)
        .map_err(|e| format!("the generated bench configuration is invalid: {e}"))?;
    Ok((text, config))
}

/// A token for bench agent `i` of the default tenant: a human with `general=5`, so every
/// conversation of the default queue can go to any of them.
pub fn agent_token(config: &Config, i: usize, capacity: u32) -> Result<String, String> {
    let secret = &config.default_tenant().jwt_secret;
    sign(
        &Claims {
            sub: format!("bench-agent-{i}"),
            tenant: config.default_tenant().id.clone(),
            role: "agent".into(),
            skills: [("general".to_string(), 5)].into_iter().collect(),
            capacity,
            exp: unix_now() + 6 * 3600,
            name: Some(format!("Bench agent {i}")),
            auto_accept: false,
        },
        secret.as_bytes(),
    )
    .map_err(|e| format!("bench agent {i}: {e}"))
}

/// A binary next to this executable (cargo puts every binary of a profile in one directory).
pub fn sibling_binary(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Spawns `bin args…` and waits for the line from which `find` extracts the base URL.
fn spawn_and_find(
    kind: Kind,
    bin: &Path,
    args: &[&str],
    log: &Path,
    find: fn(&str) -> Option<String>,
) -> Result<Target, String> {
    if !bin.exists() {
        return Err(format!(
            "{} not found: build it first with `cargo build --release -p loadtest -p switchboard`",
            bin.display()
        ));
    }
    let log_file =
        std::fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let mut child = Command::new(bin)
        .args(args)
        // The gateway's documented default log level, explicitly, so a RUST_LOG in the caller's
        // environment cannot turn on per-message logging and skew the figures.
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let mut target = Target {
        kind,
        base: String::new(),
        pid: Some(pid),
        child: Some(child),
        scratch: None,
    };
    // A thread reads stdout for the whole life of the child: the address now, and afterwards
    // whatever else it prints, so a full pipe can never block it.
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + STARTUP;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(base) = find(&line) {
                    target.base = base;
                    return Ok(target);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "{} printed no address within {STARTUP:?}; see {}",
                    kind.name(),
                    log.display()
                ))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(format!(
                    "{} exited before listening; see {}",
                    kind.name(),
                    log.display()
                ))
            }
        }
    }
}

/// Starts `switchboard serve` on 127.0.0.1:0 with the bench configuration.
pub fn spawn_switchboard(bin: &Path, config_text: &str) -> Result<Target, String> {
    spawn_gateway(Kind::Switchboard, bin, config_text)
}

/// [`spawn_switchboard`] with TLS on the public listener, serving this certificate and key.
pub fn spawn_switchboard_tls(
    bin: &Path,
    config_text: &str,
    cert_file: &Path,
    key_file: &Path,
) -> Result<Target, String> {
    // Absolute, because the child's working directory is not necessarily ours.
    let absolute =
        |path: &Path| std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()));
    let text = format!(
        "{config_text}\n[gateway.tls]\ncert_file = '{}'\nkey_file = '{}'\n",
        absolute(cert_file)?.display(),
        absolute(key_file)?.display()
    );
    spawn_gateway(Kind::SwitchboardTls, bin, &text)
}

fn spawn_gateway(kind: Kind, bin: &Path, config_text: &str) -> Result<Target, String> {
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let name = kind.name();
    let config_path = dir.join(format!("gateway-bench-{pid}-{name}.toml"));
    std::fs::write(&config_path, config_text)
        .map_err(|e| format!("cannot write {}: {e}", config_path.display()))?;
    let config_arg = config_path.display().to_string();
    let log = dir.join(format!("gateway-bench-{pid}-{name}.log"));
    let spawned = spawn_and_find(
        kind,
        bin,
        &[
            "serve",
            "--config",
            &config_arg,
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ],
        &log,
        // `  connectors: ws://127.0.0.1:PORT/v1/connector` (`wss://` with TLS)
        |line| {
            line.trim()
                .strip_prefix("connectors: ")
                .and_then(|rest| rest.strip_suffix("/v1/connector"))
                .filter(|base| base.starts_with("ws://") || base.starts_with("wss://"))
                .map(str::to_string)
        },
    );
    match spawned {
        Ok(mut target) => {
            target.scratch = Some(config_path);
            Ok(target)
        }
        // The log stays for the post-mortem; the configuration is ours to regenerate.
        Err(e) => {
            let _ = std::fs::remove_file(&config_path);
            Err(e)
        }
    }
}

/// Starts `relay-baseline` on 127.0.0.1:0.
pub fn spawn_baseline(bin: &Path) -> Result<Target, String> {
    let log =
        std::env::temp_dir().join(format!("gateway-bench-{}-baseline.log", std::process::id()));
    spawn_and_find(
        Kind::Baseline,
        bin,
        &["--listen", "127.0.0.1:0"],
        &log,
        // The first line is the bound address.
        |line| {
            let addr = line.trim();
            addr.parse::<std::net::SocketAddr>()
                .ok()
                .map(|_| format!("ws://{addr}"))
        },
    )
}
