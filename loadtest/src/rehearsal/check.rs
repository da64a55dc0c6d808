//! The gateway's own count, for a cross-check: `/metrics` on the admin listener (Prometheus
//! text, no auth) is scraped before and after the run, and its message counters' deltas are
//! compared with what the clients counted.
//!
//! The gateway counts client messages it accepted (not `hello`, not `ping`) in
//! `switchboard_messages_received_total` and frames it wrote in
//! `switchboard_messages_sent_total` (one message per frame), both by role. Against a gateway
//! that serves other clients too the deltas include their traffic: the comparison is exact only
//! for a gateway of our own (`--spawn`).

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

use super::measure::{Role, Traffic};

/// A scrape: every sample by its name and labels as written, e.g.
/// `switchboard_messages_sent_total{role="agent"}`.
pub type Samples = HashMap<String, f64>;

/// Reads `/metrics` from `http://HOST:PORT`.
pub async fn scrape(admin: &str) -> Result<Samples, String> {
    match super::http::get(admin, "/metrics", None).await? {
        (200, body) => Ok(parse(&body)),
        (status, _) => Err(format!("{admin}/metrics answered {status}")),
    }
}

/// Parses Prometheus text: `name{labels} value` lines; comments and anything else skipped.
pub fn parse(text: &str) -> Samples {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            Some((key.trim().to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

/// One role's counts, client side and gateway side.
#[derive(Debug, Clone, Serialize)]
pub struct RoleCheck {
    /// `connector`, `agent` or `bot`.
    pub role: &'static str,
    /// Messages the clients sent (no `hello`, no `ping`).
    pub client_sent: u64,
    /// Delta of `switchboard_messages_received_total`.
    pub server_received: u64,
    /// Frames the clients received.
    pub client_received: u64,
    /// Delta of `switchboard_messages_sent_total`.
    pub server_sent: u64,
}

/// The whole cross-check.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CrossCheck {
    /// Why there is no comparison, when the scrapes failed.
    pub unavailable: Option<String>,
    /// Per role.
    pub roles: Vec<RoleCheck>,
    /// Sum of the absolute differences.
    pub mismatch: u64,
}

/// Compares the clients' counts with the gateway's deltas.
pub fn cross_check(
    before: &Result<Samples, String>,
    after: &Result<Samples, String>,
    traffic: &BTreeMap<Role, Traffic>,
) -> CrossCheck {
    let (before, after) = match (before, after) {
        (Ok(before), Ok(after)) => (before, after),
        (Err(e), _) | (_, Err(e)) => {
            return CrossCheck {
                unavailable: Some(e.clone()),
                ..CrossCheck::default()
            }
        }
    };
    let delta = |metric: &str, role: Role| {
        let key = format!("{metric}{{role=\"{}\"}}", role.label());
        let read = |s: &Samples| s.get(&key).copied().unwrap_or(0.0);
        (read(after) - read(before)).max(0.0) as u64
    };
    let mut check = CrossCheck::default();
    for role in [Role::Connector, Role::Agent, Role::Bot] {
        let counted = traffic.get(&role).copied().unwrap_or_default();
        let row = RoleCheck {
            role: role.label(),
            client_sent: counted.sent,
            server_received: delta("switchboard_messages_received_total", role),
            client_received: counted.frames,
            server_sent: delta("switchboard_messages_sent_total", role),
        };
        check.mismatch += row.client_sent.abs_diff(row.server_received)
            + row.client_received.abs_diff(row.server_sent);
        check.roles.push(row);
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_are_compared_per_role() {
        let before = Ok(parse(
            "# HELP x\nswitchboard_messages_received_total{role=\"agent\"} 5\n",
        ));
        let after = Ok(parse(
            "switchboard_messages_received_total{role=\"agent\"} 15\n\
             switchboard_messages_sent_total{role=\"agent\"} 7\n\
             switchboard_messages_received_total{role=\"bot\"} 2\n",
        ));
        let traffic = BTreeMap::from([
            (
                Role::Agent,
                Traffic {
                    sent: 10,
                    frames: 7,
                },
            ),
            (Role::Bot, Traffic { sent: 3, frames: 0 }),
        ]);
        let check = cross_check(&before, &after, &traffic);
        assert_eq!(check.mismatch, 1, "{check:?}");
        let unavailable = cross_check(&Err("down".into()), &after, &traffic);
        assert_eq!(unavailable.unavailable.as_deref(), Some("down"));
    }
}
