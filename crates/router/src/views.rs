//! Read-only views of the router's state, for tests, the admin API, metrics and the simulator.

use crate::types::{
    AgentCounts, AgentId, AgentView, ConversationId, ConversationView, Millis, ProfileUpdate,
    QueueId, QueueStats,
};
use crate::waiting::Precedence;
use crate::Router;

impl Router {
    /// A conversation, if it is open.
    pub fn conversation(&self, id: ConversationId) -> Option<ConversationView<'_>> {
        self.conversations.get(&id).map(|c| ConversationView {
            state: c.state,
            queue: c.queue,
            class: c.ranking.class,
            lane: c.ranking.lane,
            priority: c.ranking.priority,
            agent: c.agent,
            waiting_since: c.waiting_since,
            refusals: c.refusals.as_slice(),
            held_for: c.sticky_for,
            rescued: c.precedence == Precedence::Rescued,
            sentiment: c.sentiment,
            handoff: c.handoff.as_ref().map(|h| h.reason),
        })
    }

    /// An agent, if logged in.
    pub fn agent(&self, id: AgentId) -> Option<AgentView<'_>> {
        self.roster.get(&id).map(|a| AgentView {
            role: a.role(),
            status: a.status(),
            connected: a.connected(),
            load: a.load(),
            capacity: a.capacity(),
            held: a.held(),
        })
    }

    /// Logged-in agents, in id order.
    pub fn agent_ids(&self) -> Vec<AgentId> {
        let mut ids: Vec<AgentId> = self.roster.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids
    }

    /// Conversations waiting in a queue, in service order.
    pub fn waiting(&self, queue: QueueId) -> impl Iterator<Item = ConversationId> + '_ {
        self.waiting
            .get(usize::from(queue.0))
            .into_iter()
            .flat_map(|w| w.iter().map(|(_, c)| c))
    }

    /// How many conversations are open.
    pub fn open_conversations(&self) -> usize {
        self.conversations.len()
    }

    /// Per queue (in configuration order): how many wait and since when, by lane, and the
    /// estimate for the next customer. Walks the queues (no conversation lookups): for a
    /// once-a-second metrics refresh, not the hot path.
    pub fn queue_stats(&self) -> Vec<QueueStats> {
        self.waiting
            .iter()
            .zip(&self.rates)
            .map(|(waiting, rate)| {
                let mut stats = QueueStats {
                    ewt_next_ms: rate.estimate(self.now, 1),
                    ..QueueStats::default()
                };
                for (key, waiter) in waiting.waiters() {
                    let lane = key.lane as usize;
                    stats.waiting[lane] += 1;
                    let oldest = &mut stats.oldest_since[lane];
                    *oldest = Some(oldest.map_or(waiter.since, |o: Millis| o.min(waiter.since)));
                }
                stats
            })
            .collect()
    }

    /// Agents by presence and role, and the load and capacity of available humans.
    pub fn agent_counts(&self) -> AgentCounts {
        let mut counts = AgentCounts::default();
        for (_, agent) in self.roster.iter() {
            counts.add(agent.role(), agent.connected(), agent.status());
            if agent.counts_for_reserve() {
                counts.load += u64::from(agent.load());
                counts.capacity += u64::from(agent.capacity());
            }
        }
        counts
    }

    /// Whether `agent` refused conversation `id` less than the refusal cooldown ago, so it is not
    /// offered to them now even if nobody else can take it.
    pub fn refusal_holds_back(&self, id: ConversationId, agent: AgentId) -> bool {
        self.conversations.get(&id).is_some_and(|c| {
            c.refusals
                .cooling(agent, self.now, self.policy.refusal_cooldown_ms)
        })
    }

    /// Whether `update` would change the description of open conversation `id`.
    pub fn profile_changed_by(&self, id: ConversationId, update: &ProfileUpdate) -> bool {
        self.conversations
            .get(&id)
            .is_some_and(|c| update.changes(&c.profile))
    }

    /// Gives back memory a surge of conversations left behind; changes no behaviour.
    pub fn shrink(&mut self) {
        self.conversations.shrink();
        self.timers.shrink();
    }
}
