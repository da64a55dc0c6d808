//! The whole configuration: how it is read (embedded defaults, file, environment) and validated.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use crate::{
    ConfigError, ConnectorConfig, GatewayConfig, JournalConfig, TenantConfig, EMBEDDED_TOML,
};

/// The whole validated configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listeners, limits and timeouts of the WebSocket gateway.
    #[serde(default)]
    pub gateway: GatewayConfig,
    /// The journal of inputs and snapshots (restart-only).
    #[serde(default)]
    pub journal: JournalConfig,
    /// Channel connectors allowed to connect, each bound to one tenant.
    #[serde(default)]
    pub connectors: Vec<ConnectorConfig>,
    /// Tenants, each with its own router. The first one is the default tenant.
    #[serde(default = "default_tenants")]
    pub tenants: Vec<TenantConfig>,
}

fn default_tenants() -> Vec<TenantConfig> {
    vec![TenantConfig::default()]
}

impl Default for Config {
    fn default() -> Self {
        Config {
            gateway: GatewayConfig::default(),
            journal: JournalConfig::default(),
            connectors: Vec::new(),
            tenants: default_tenants(),
        }
    }
}

impl Config {
    /// The configuration embedded in the binary (`config/switchboard.toml`).
    pub fn embedded() -> Self {
        // The embedded file is validated by a unit test, so failing here would be a build defect;
        // falling back to the code defaults still gives a runnable gateway.
        Self::from_toml_str(EMBEDDED_TOML).unwrap_or_default()
    }

    /// Parses and validates TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let reason = e.message().to_string();
            let key = e
                .span()
                .map(|span| describe_span(text, span))
                .unwrap_or_else(|| "(file)".to_string());
            ConfigError::new(key, reason)
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path.display().to_string(), e.to_string()))?;
        Self::from_toml_str(&text)
    }

    /// Checks ranges and cross-references that serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.tenants.is_empty() {
            return Err(ConfigError::new(
                "tenants",
                "at least one tenant is required",
            ));
        }
        let mut ids = BTreeSet::new();
        for (i, tenant) in self.tenants.iter().enumerate() {
            let key = format!("tenants[{i}]");
            if !ids.insert(tenant.id.as_str()) {
                return Err(ConfigError::new(
                    format!("{key}.id"),
                    format!("tenant id {:?} is used twice", tenant.id),
                ));
            }
            tenant.validate(&key)?;
        }
        self.gateway.validate("gateway")?;
        self.journal.validate("journal")?;
        // An agent reconnecting within its grace period must still find its session.
        if let Some((i, tenant)) = self
            .tenants
            .iter()
            .enumerate()
            .find(|(_, t)| t.timing.agent_grace_secs > self.gateway.session_resume_secs)
        {
            return Err(ConfigError::new(
                "gateway.session_resume_secs",
                format!(
                    "must be at least tenants[{i}].timing.agent_grace_secs ({})",
                    tenant.timing.agent_grace_secs
                ),
            ));
        }
        let mut keys = BTreeSet::new();
        let mut names = BTreeSet::new();
        for (i, connector) in self.connectors.iter().enumerate() {
            let key = format!("connectors[{i}]");
            if connector.name.trim().is_empty() {
                return Err(ConfigError::new(format!("{key}.name"), "must not be empty"));
            }
            if !names.insert(connector.name.as_str()) {
                return Err(ConfigError::new(
                    format!("{key}.name"),
                    format!("connector {:?} is defined twice", connector.name),
                ));
            }
            if connector.api_key.len() < 16 {
                return Err(ConfigError::new(
                    format!("{key}.api_key"),
                    "must be at least 16 characters",
                ));
            }
            if !keys.insert(connector.api_key.as_str()) {
                return Err(ConfigError::new(
                    format!("{key}.api_key"),
                    "is the same as another connector's",
                ));
            }
            if !ids.contains(connector.tenant.as_str()) {
                return Err(ConfigError::new(
                    format!("{key}.tenant"),
                    format!("no tenant is named {:?}", connector.tenant),
                ));
            }
        }
        Ok(())
    }

    /// Applies `SWITCHBOARD_LISTEN` and `SWITCHBOARD_ADMIN_LISTEN` from the environment (they
    /// override the file), then validates again.
    pub fn apply_env(&mut self) -> Result<(), ConfigError> {
        for (var, target) in [
            ("SWITCHBOARD_LISTEN", &mut self.gateway.listen),
            ("SWITCHBOARD_ADMIN_LISTEN", &mut self.gateway.admin_listen),
        ] {
            if let Ok(value) = std::env::var(var) {
                *target = value;
            }
        }
        self.validate()
    }

    /// The tenant used when a client does not name one.
    pub fn default_tenant(&self) -> &TenantConfig {
        // `validate` guarantees at least one tenant; the code default covers an unvalidated struct.
        &self.tenants[0]
    }
}

/// Turns a byte span into `line N` for serde errors that carry no key path.
fn describe_span(text: &str, span: std::ops::Range<usize>) -> String {
    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
    let snippet: String = text
        .get(span)
        .unwrap_or("")
        .chars()
        .take(40)
        .collect::<String>()
        .replace('\n', " ");
    format!("line {line} ({})", snippet.trim())
}
