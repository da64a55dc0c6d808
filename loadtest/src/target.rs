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

use switchboard::gateway::auth::{sign, Claims};
use switchboard::gateway::unix_now;
use switchboard_config::{Config, EMBEDDED_TOML};

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
    /// A spawned gateway's admin listener, `http://HOST:PORT` (for `/metrics`); `None` for the
    /// baseline and for external targets.
    pub admin: Option<String>,
    child: Option<Child>,
    /// A temporary file the child reads (its configuration), removed with the target.
    scratch: Option<PathBuf>,
    /// The child's working directory, where its journal (`./data`) goes: fresh for every
    /// target, so no run recovers another's state; removed with the target.
    workdir: Option<PathBuf>,
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
        if let Some(dir) = self.workdir.take() {
            let _ = std::fs::remove_dir_all(dir);
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
            admin: None,
            child: None,
            scratch: None,
            workdir: None,
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

/// `extra` laid over `base`, both TOML, as TOML text: for raising a limit of a base (the
/// embedded configuration, say) that already sets it, which appending text cannot do (TOML
/// refuses a key or table defined twice).
///
/// Tables merge key by key; an array of tables in `extra` merges element by element, by
/// position, into the base's (so `[[tenants]]` then `[tenants.limits]` in `extra` reaches the
/// base's first tenant; elements past the base's are added); any other value replaces the
/// base's. The result loses the base's comments, not its settings.
pub fn overlay_toml(base: &str, extra: &str) -> Result<String, String> {
    let mut merged: toml::Table =
        toml::from_str(base).map_err(|e| format!("the base configuration is not TOML: {e}"))?;
    let extra: toml::Table =
        toml::from_str(extra).map_err(|e| format!("the extra configuration is not TOML: {e}"))?;
    overlay_table(&mut merged, extra);
    toml::to_string(&merged).map_err(|e| format!("cannot write the merged configuration: {e}"))
}

fn overlay_table(base: &mut toml::Table, extra: toml::Table) {
    for (key, value) in extra {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(into)), toml::Value::Table(from)) => overlay_table(into, from),
            (Some(toml::Value::Array(into)), toml::Value::Array(from))
                if from.iter().all(toml::Value::is_table) =>
            {
                for (i, element) in from.into_iter().enumerate() {
                    match (into.get_mut(i), element) {
                        (Some(toml::Value::Table(into)), toml::Value::Table(from)) => {
                            overlay_table(into, from)
                        }
                        (_, element) => into.push(element),
                    }
                }
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// A token for bench agent `i` of the default tenant: a human with `general=5`, so every
/// conversation of the default queue can go to any of them.
pub fn agent_token(config: &Config, i: usize, capacity: u32) -> Result<String, String> {
    let secret = &config.default_tenant().jwt_secret;
    sign(
        &Claims {
            sub: format!("bench-agent-{i}"),
            tenant: config.default_tenant().id.clone(),
            role: switchboard::gateway::auth::Role::Agent,
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

/// Spawns `bin args…` and feeds its stdout to `find`, line by line, until `find` returns what
/// it was looking for (the addresses the child printed). The target's `base` is left empty for
/// the caller to fill from that.
fn spawn_and_find<T>(
    kind: Kind,
    bin: &Path,
    args: &[&str],
    cwd: Option<&Path>,
    log: &Path,
    mut find: impl FnMut(&str) -> Option<T>,
) -> Result<(Target, T), String> {
    if !bin.exists() {
        return Err(format!(
            "{} not found: build it first with `cargo build --release -p loadtest -p switchboard`",
            bin.display()
        ));
    }
    let log_file =
        std::fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let mut command = Command::new(bin);
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let mut child = command
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
    let target = Target {
        kind,
        base: String::new(),
        pid: Some(pid),
        admin: None,
        child: Some(child),
        scratch: None,
        workdir: None,
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
                if let Some(found) = find(&line) {
                    return Ok((target, found));
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
    // The working directory, not `--data-dir`: a binary from before the journal has no such flag.
    let workdir = dir.join(format!("gateway-bench-{pid}-{name}.d"));
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir)
        .map_err(|e| format!("cannot create {}: {e}", workdir.display()))?;
    // The gateway prints the connector URL, then the admin URL; the second line is awaited too,
    // so a caller can read `/metrics` of the gateway it spawned.
    let mut base = None;
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
        Some(&workdir),
        &log,
        // `  connectors: ws://127.0.0.1:PORT/v1/connector` (`wss://` with TLS), later
        // `  admin:      http://127.0.0.1:PORT/  (dashboard)  /metrics …`
        |line| {
            let line = line.trim();
            if let Some(found) = line
                .strip_prefix("connectors: ")
                .and_then(|rest| rest.strip_suffix("/v1/connector"))
                .filter(|base| base.starts_with("ws://") || base.starts_with("wss://"))
            {
                base = Some(found.to_string());
                return None;
            }
            let admin = line.strip_prefix("admin:")?.split_whitespace().next()?;
            Some((base.clone()?, admin.trim_end_matches('/').to_string()))
        },
    );
    match spawned {
        Ok((mut target, (base, admin))) => {
            target.base = base;
            target.admin = Some(admin);
            target.scratch = Some(config_path);
            target.workdir = Some(workdir);
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
    let (mut target, base) = spawn_and_find(
        Kind::Baseline,
        bin,
        &["--listen", "127.0.0.1:0"],
        None,
        &log,
        // The first line is the bound address.
        |line| {
            let addr = line.trim();
            addr.parse::<std::net::SocketAddr>()
                .ok()
                .map(|_| format!("ws://{addr}"))
        },
    )?;
    target.base = base;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlay_raises_a_nested_key_and_keeps_the_rest() {
        let base = "[gateway]\nlisten = \"a\"\nshards = 2\n[[tenants]]\nid = \"t\"\n\
                    [tenants.sla]\nvip_secs = 60\n[[tenants]]\nid = \"u\"\n";
        let extra = "[gateway]\nshards = 4\n[[tenants]]\n[tenants.sla]\nvip_secs = 5\n\
                     [tenants.limits]\nopen = 9\n";
        let merged: toml::Table = toml::from_str(&overlay_toml(base, extra).unwrap()).unwrap();
        assert_eq!(merged["gateway"]["listen"].as_str(), Some("a"));
        assert_eq!(merged["gateway"]["shards"].as_integer(), Some(4));
        let tenants = merged["tenants"].as_array().unwrap();
        assert_eq!(tenants.len(), 2);
        assert_eq!(tenants[0]["id"].as_str(), Some("t"));
        assert_eq!(tenants[0]["sla"]["vip_secs"].as_integer(), Some(5));
        assert_eq!(tenants[0]["limits"]["open"].as_integer(), Some(9));
        assert_eq!(tenants[1]["id"].as_str(), Some("u"));
    }

    #[test]
    fn the_embedded_configuration_survives_an_empty_overlay() {
        let merged = overlay_toml(EMBEDDED_TOML, "").unwrap();
        assert!(bench_config(Some(&merged), 2).is_ok());
    }
}
