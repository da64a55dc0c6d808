//! Reading a scenario file: parse, then validate every key, naming the first bad one.

use std::path::{Path, PathBuf};

use switchboard_config::{Config, ConfigError};

use super::{AgentGroup, Arrivals, Dist, Saturation, Scenario};

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path.display().to_string(), e.to_string()))?;
        Self::from_toml_str(&text)
    }

    /// Parses and validates scenario TOML.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |span| {
                text[..span.start.min(text.len())].lines().count().max(1)
            });
            ConfigError::new(format!("line {line}"), e.message().to_string())
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// The gateway configuration this scenario runs against, for a scenario file at `path`.
    pub fn gateway_config(&self, path: &Path) -> Result<(Config, Option<PathBuf>), ConfigError> {
        if self.gateway_config.is_empty() {
            return Ok((Config::embedded(), None));
        }
        let file = path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(&self.gateway_config);
        let config = Config::load(&file)?;
        if !config.tenants.iter().any(|t| t.id == self.tenant) {
            return Err(ConfigError::new(
                "tenant",
                format!("no tenant {:?} in {}", self.tenant, file.display()),
            ));
        }
        Ok((config, Some(file)))
    }

    /// Every key's rules; the first one broken is the error, and it names its key.
    fn validate(&self) -> Result<(), ConfigError> {
        self.arrivals.validate()?;
        if !(self.drain_secs.is_finite() && self.drain_secs >= 0.0) {
            return Err(ConfigError::new("drain_secs", "must be finite and ≥ 0"));
        }
        if self.connectors.count == 0 {
            return Err(ConfigError::new("connectors.count", "must be at least 1"));
        }
        self.validate_customers()?;
        self.bots.reply_ms.check("bots.reply_ms")?;
        if self.bots.count > 0 && self.bots.capacity == 0 {
            return Err(ConfigError::new("bots.capacity", "must be at least 1"));
        }
        for (i, group) in self.agents.iter().enumerate() {
            group.validate(i)?;
        }
        self.saturation.validate()
    }

    fn validate_customers(&self) -> Result<(), ConfigError> {
        let c = &self.customers;
        c.messages.check("customers.messages")?;
        c.think_secs.check("customers.think_secs")?;
        c.patience_secs.check("customers.patience_secs")?;
        for (key, share) in [
            ("customers.vip_share", c.vip_share),
            ("customers.ask_human_share", c.ask_human_share),
            ("customers.angry_share", c.angry_share),
            ("bots.resolve_probability", self.bots.resolve_probability),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(ConfigError::new(key, "must be between 0 and 1"));
            }
        }
        if c.vip_share > 0.0 && (c.vip_levels.is_empty() || c.vip_levels.contains(&0)) {
            return Err(ConfigError::new(
                "customers.vip_levels",
                "needs levels of at least 1",
            ));
        }
        if c.intents.values().any(|w| !w.is_finite() || *w < 0.0)
            || c.intents.values().sum::<f64>() <= 0.0
        {
            return Err(ConfigError::new(
                "customers.intents",
                "weights must be ≥ 0 and not all 0",
            ));
        }
        if c.channels.is_empty() {
            return Err(ConfigError::new(
                "customers.channels",
                "needs at least one channel",
            ));
        }
        Ok(())
    }
}

impl Arrivals {
    fn validate(&self) -> Result<(), ConfigError> {
        let points = &self.points;
        if points.len() < 2 || points[0][0] != 0.0 {
            return Err(ConfigError::new(
                "arrivals.points",
                "needs at least two points, the first at 0 s",
            ));
        }
        for (i, pair) in points.windows(2).enumerate() {
            if !pair[1][0].is_finite() || pair[1][0] < pair[0][0] {
                return Err(ConfigError::new(
                    format!("arrivals.points[{}]", i + 1),
                    "times must not decrease",
                ));
            }
        }
        if points.iter().any(|p| !p[1].is_finite() || p[1] < 0.0) {
            return Err(ConfigError::new(
                "arrivals.points",
                "rates must be finite and ≥ 0",
            ));
        }
        Ok(())
    }
}

impl AgentGroup {
    /// `i`: the group's position in the file, for the key in the error.
    fn validate(&self, i: usize) -> Result<(), ConfigError> {
        let key = |k: &str| format!("agents[{i}].{k}");
        if self.name.is_empty() || self.capacity == 0 || self.skills.is_empty() {
            return Err(ConfigError::new(
                key("name"),
                "needs a name, a capacity of at least 1 and at least one skill",
            ));
        }
        self.accept_ms.check(&key("accept_ms"))?;
        self.handle_secs.check(&key("handle_secs"))?;
        self.away_secs.check(&key("away_secs"))?;
        if !(0.0..=1.0).contains(&self.disconnect_share) {
            return Err(ConfigError::new(
                key("disconnect_share"),
                "must be between 0 and 1",
            ));
        }
        if !(self.reply_every_secs > 0.0 && self.reply_every_secs.is_finite()) {
            return Err(ConfigError::new(key("reply_every_secs"), "must be above 0"));
        }
        Ok(())
    }
}

impl Saturation {
    fn validate(&self) -> Result<(), ConfigError> {
        let s = self;
        if !(s.start_rate > 0.0
            && s.factor > 1.0
            && s.max_rate >= s.start_rate
            && s.step_secs > 0.0)
        {
            return Err(ConfigError::new(
                "saturation",
                "needs start_rate > 0, factor > 1, max_rate ≥ start_rate, step_secs > 0",
            ));
        }
        Ok(())
    }
}

impl Dist {
    fn check(&self, key: &str) -> Result<(), ConfigError> {
        let ok = match *self {
            Dist::Fixed { value } => value.is_finite() && value >= 0.0,
            Dist::Uniform { min, max } => {
                min.is_finite() && max.is_finite() && 0.0 <= min && min <= max
            }
            Dist::Exponential { mean } => mean.is_finite() && mean > 0.0,
            Dist::Lognormal { mean, cv } => {
                mean.is_finite() && mean > 0.0 && cv.is_finite() && cv >= 0.0
            }
            Dist::Never => true,
        };
        if ok {
            Ok(())
        } else {
            Err(ConfigError::new(
                key,
                "must be finite and not negative (min ≤ max, mean > 0)",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_scenarios_name_the_key() {
        let bad = [
            ("name = \"x\"\n[arrivals]\npoints = [[1.0, 2.0], [2.0, 2.0]]", "arrivals.points"),
            ("name = \"x\"\n[arrivals]\npoints = [[0.0, 2.0], [10.0, -1.0]]", "arrivals.points"),
            (
                "name = \"x\"\n[arrivals]\npoints = [[0.0, 2.0], [10.0, 2.0]]\n[customers]\nvip_share = 2.0",
                "customers.vip_share",
            ),
            (
                "name = \"x\"\n[arrivals]\npoints = [[0.0, 2.0], [10.0, 2.0]]\n[[agents]]\nname = \"a\"\ncount = 1\nskills = {}\nhandle_secs = { kind = \"fixed\", value = 1.0 }",
                "agents[0].name",
            ),
        ];
        for (text, key) in bad {
            let error = Scenario::from_toml_str(text).expect_err(text);
            assert!(
                error.to_string().starts_with(key),
                "{error} should name {key}"
            );
        }
        assert!(Scenario::from_toml_str(
            "name = \"x\"\ntypo = 1\n[arrivals]\npoints = [[0.0, 1.0], [1.0, 1.0]]"
        )
        .is_err());
    }
}
