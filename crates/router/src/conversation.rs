//! A conversation as the router keeps it, and what an offer tells the agent about it.
//!
//! Owner: the router's [`Table`](crate::table::Table). Bound: open conversations only; one is
//! removed as soon as it is closed or abandoned. The transcript and the sentiment trend are
//! bounded by the tenant's `transcript_messages` and `trend_length`.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;

use crate::policy::Ranking;
use crate::refusals::Refusals;
use crate::types::{
    AgentId, ConnectorId, CustomerProfile, HandoffContext, Millis, OfferContext, QueueId, Speaker,
    State, TranscriptLine,
};
use crate::waiting::{Precedence, WaitKey};

/// A conversation the router knows about. Removed as soon as it is closed or abandoned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Conversation {
    /// The connector that opened it; only it may speak for the customer.
    pub(crate) connector: ConnectorId,
    /// Who the customer is, shared with every offer's context.
    pub(crate) profile: Arc<CustomerProfile>,
    /// The customer id hashed for sticky routing ([`crate::sticky::customer_key`]).
    pub(crate) customer: u64,
    /// The queue it waits in (or last waited in).
    pub(crate) queue: QueueId,
    /// Class, lane and priority, decided when it starts waiting.
    pub(crate) ranking: Ranking,
    /// Where it is in its lifecycle.
    pub(crate) state: State,
    /// The agent or bot holding it (offered, assigned, with a bot, in wrap-up).
    pub(crate) agent: Option<AgentId>,
    /// When the customer started waiting; kept across rescues so SLA and order stay honest.
    pub(crate) waiting_since: Millis,
    /// Its order among equals in its lane (see `Policy::age_key`): a sort key, not an age.
    pub(crate) age_key: i64,
    /// Arrival order, unique per router: the final tie-break.
    pub(crate) seq: u64,
    /// Whether it was rescued from an agent who left, which puts it at the head of its lane.
    pub(crate) precedence: Precedence,
    /// Present exactly while the conversation is in `waiting[queue]`.
    pub(crate) wait_key: Option<WaitKey>,
    /// Bumped on every state change so stale timers are ignored.
    pub(crate) epoch: u32,
    /// Agents who refused it, for the cooldown and last-resort rule.
    pub(crate) refusals: Refusals,
    /// The previous agent a returning customer is offered to or held for.
    pub(crate) sticky_for: Option<AgentId>,
    /// The first estimate the customer was given (carried over from their `Waiter`).
    pub(crate) predicted_ms: Option<Millis>,
    /// Whether a human has taken it once: only the first assignment ends a measured wait.
    pub(crate) answered: bool,
    /// Recent lines, oldest first, bounded by `transcript_messages`.
    pub(crate) transcript: VecDeque<TranscriptLine>,
    /// The last message either way, for the idle check.
    pub(crate) last_activity: Millis,
    /// Smoothed sentiment, once a customer message has been scored.
    pub(crate) sentiment: Option<f32>,
    /// Hysteresis state: below the threshold and not yet back above the recovery level.
    pub(crate) upset: bool,
    /// Recent smoothed scores, oldest first, bounded by `trend_length`.
    pub(crate) trend: VecDeque<f32>,
    /// Bot replies marked unresolved since it last came to a bot.
    pub(crate) unresolved: u32,
    /// Set when it leaves the bot for a human; cleared only by an explicit hand-back.
    pub(crate) handoff: Option<HandoffContext>,
}

/// Everything the agent needs to take over without asking the customer to repeat themselves.
///
/// The transcript is cut to `transcript_bytes` so the offer's size is known in advance.
pub(crate) fn offer_context(
    c: &Conversation,
    now: Millis,
    returning_customer: bool,
    transcript_bytes: usize,
) -> OfferContext {
    let customer_lines = c
        .transcript
        .iter()
        .filter(|l| l.speaker == Speaker::Customer)
        .map(|l| &*l.message.text);
    let (transcript, transcript_truncated) = newest_within(&c.transcript, transcript_bytes);
    OfferContext {
        queue: c.queue,
        class: c.ranking.class,
        profile: Arc::clone(&c.profile),
        transcript,
        transcript_truncated,
        waited_ms: now.saturating_sub(c.waiting_since),
        returning_customer,
        handoff: c.handoff.clone(),
        sentiment_trend: c.trend.iter().copied().collect(),
        numbers: switchboard_text::extract::numbers(customer_lines),
    }
}

/// The newest lines whose text and message ids fit in `budget` bytes, oldest first, and how
/// many older lines were left out. It stops at the first line that does not fit rather than
/// looking further back for smaller ones, so what the agent reads has no holes.
fn newest_within(
    transcript: &VecDeque<TranscriptLine>,
    budget: usize,
) -> (Vec<TranscriptLine>, u32) {
    let mut used = 0;
    let kept = transcript
        .iter()
        .rev()
        .take_while(|line| {
            used += line.budget_bytes();
            used <= budget
        })
        .count();
    let left_out = transcript.len() - kept;
    let lines = transcript.iter().skip(left_out).cloned().collect();
    (lines, u32::try_from(left_out).unwrap_or(u32::MAX))
}

/// Appends to a bounded buffer, dropping the oldest entry when full.
pub(crate) fn push_bounded<T>(buffer: &mut VecDeque<T>, limit: usize, item: T) {
    if limit == 0 {
        return;
    }
    if buffer.len() >= limit {
        buffer.pop_front();
    }
    buffer.push_back(item);
}
