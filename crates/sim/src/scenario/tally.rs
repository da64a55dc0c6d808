//! How each conversation ended, tallied per SLA class with one definition for both players.

use std::collections::BTreeMap;

use switchboard_config::TenantConfig;
use switchboard_router::Class;

/// How one conversation ended, as either player saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The bot resolved it; no human was needed.
    Resolved,
    /// A human answered after waiting this long (milliseconds in the queue).
    Answered {
        /// Milliseconds from joining the human queue to the agent's accept.
        wait_ms: u64,
    },
    /// The customer left while waiting for a human.
    Abandoned {
        /// Milliseconds they waited.
        wait_ms: u64,
    },
    /// The customer stopped without needing a human (ran out of questions with the bot).
    Left,
    /// Still open when the run ended (waiting for a human if `waiting`).
    Unfinished {
        /// Whether it was in a human queue.
        waiting: bool,
    },
}

/// Outcomes tallied per SLA class with one definition for both players.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Class → figures, most urgent class first.
    pub classes: BTreeMap<Class, ClassTally>,
}

/// One class's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassTally {
    /// Target in milliseconds.
    pub target_ms: u64,
    /// Conversations of the class.
    pub conversations: u64,
    /// Answered by a human.
    pub answered: u64,
    /// Answered within the target.
    pub within_target: u64,
    /// Left while waiting for a human.
    pub abandoned: u64,
    /// Resolved by the bot.
    pub resolved_by_bot: u64,
    /// Still waiting or open at the end.
    pub unfinished: u64,
    /// Sum of answered waits, milliseconds.
    pub wait_sum_ms: u64,
    /// Longest answered wait, milliseconds.
    pub wait_max_ms: u64,
}

impl ClassTally {
    /// Share answered within the target, of those answered (the gateway's
    /// `switchboard_sla_total` definition). `None` when nobody was answered.
    pub fn sla_attainment(&self) -> Option<f64> {
        (self.answered > 0).then(|| self.within_target as f64 / self.answered as f64)
    }

    /// Share answered within the target, of those who waited for a human (abandonment counts
    /// as a miss, as in Erlang A).
    pub fn sla_attainment_offered(&self) -> Option<f64> {
        let offered = self.answered + self.abandoned;
        (offered > 0).then(|| self.within_target as f64 / offered as f64)
    }

    /// Mean wait of those answered, seconds.
    pub fn mean_wait_secs(&self) -> Option<f64> {
        (self.answered > 0).then(|| self.wait_sum_ms as f64 / self.answered as f64 / 1000.0)
    }

    /// Share of those who waited for a human who left first.
    pub fn abandonment(&self) -> Option<f64> {
        let offered = self.answered + self.abandoned;
        (offered > 0).then(|| self.abandoned as f64 / offered as f64)
    }
}

impl Tally {
    /// Counts one conversation of `class` (target from the tenant's SLA).
    pub fn add(&mut self, class: Class, tenant: &TenantConfig, ending: Ending) {
        let entry = self.classes.entry(class).or_default();
        entry.target_ms = class.sla_ms(&tenant.sla);
        entry.conversations += 1;
        match ending {
            Ending::Resolved => entry.resolved_by_bot += 1,
            Ending::Answered { wait_ms } => {
                entry.answered += 1;
                entry.within_target += u64::from(wait_ms <= entry.target_ms);
                entry.wait_sum_ms += wait_ms;
                entry.wait_max_ms = entry.wait_max_ms.max(wait_ms);
            }
            Ending::Abandoned { .. } => entry.abandoned += 1,
            Ending::Left => {}
            Ending::Unfinished { .. } => entry.unfinished += 1,
        }
    }

    /// All classes together.
    pub fn total(&self) -> ClassTally {
        let mut all = ClassTally::default();
        for c in self.classes.values() {
            all.conversations += c.conversations;
            all.answered += c.answered;
            all.within_target += c.within_target;
            all.abandoned += c.abandoned;
            all.resolved_by_bot += c.resolved_by_bot;
            all.unfinished += c.unfinished;
            all.wait_sum_ms += c.wait_sum_ms;
            all.wait_max_ms = all.wait_max_ms.max(c.wait_max_ms);
        }
        all
    }
}
