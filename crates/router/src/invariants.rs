//! The router's structural self-check: every list, index and sum agrees with the conversation
//! table. The policies themselves are restated independently in [`crate::oracle`].

use crate::assignment::Agent;
use crate::dispatch::Reserve;
use crate::types::{AgentId, Lane, Role, State};
use crate::waiting::WaitingQueue;
use crate::Router;

impl Router {
    /// Checks every structural invariant, then the policies and timers as the reference oracle
    /// restates them ([`Router::check_policy`], [`Router::check_timers`]) and anything the offer
    /// audit found; the property tests call this after every command. Costs up to
    /// O(waiting × free agents × refusals): a test and debugging aid, never on the hot path.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut reserve = Reserve::default();
        for (id, a) in self.roster.iter() {
            self.check_agent(*id, a)?;
            if a.counts_for_reserve() {
                reserve.add(a.capacity(), a.non_vip_for_reserve());
            }
        }
        if reserve != self.roster.reserve() {
            return Err(format!(
                "reserve sums {:?} != {reserve:?}",
                self.roster.reserve()
            ));
        }
        let indexed = self.roster.indexed_len();
        let expected: usize = self
            .roster
            .iter()
            .map(|(_, a)| a)
            .filter(|a| a.eligible())
            .map(|a| a.queues().len() + usize::from(a.role() == Role::Bot))
            .sum();
        if indexed != expected {
            return Err(format!(
                "index holds {indexed} entries, expected {expected}"
            ));
        }
        self.check_conversations()?;
        if let Some(failure) = &self.audit.failure {
            return Err(format!("offer audit: {failure}"));
        }
        // The policies, restated independently of dispatch, with no look-ahead limit.
        self.check_policy()?;
        self.check_timers()
    }

    /// One agent's lists agree with the conversations they name and with its index entries.
    fn check_agent(&self, id: AgentId, a: &Agent) -> Result<(), String> {
        // Above capacity only by conversations accepted before a reconnect lowered it.
        if a.load() > a.capacity() && !a.offered().is_empty() {
            return Err(format!(
                "{id:?} holds {} > capacity {} with offers pending",
                a.load(),
                a.capacity()
            ));
        }
        let mut non_vip = 0;
        for (i, c) in a.held().iter().enumerate() {
            if a.held()[..i].contains(c) {
                return Err(format!("{id:?} lists {c:?} twice"));
            }
            let conv = self
                .conversations
                .get(c)
                .ok_or_else(|| format!("{id:?} holds unknown {c:?}"))?;
            if conv.agent != Some(id)
                || !matches!(
                    conv.state,
                    State::Offered | State::Assigned | State::WrapUp | State::WithBot
                )
            {
                return Err(format!("{id:?} holds {c:?} in {:?}", conv.state));
            }
            if conv.ranking.lane != Lane::Vip {
                non_vip += 1;
            }
            if (conv.state == State::Offered) != a.offered().contains(c) {
                return Err(format!("{id:?} pending-offer list disagrees about {c:?}"));
            }
        }
        if a.offered().iter().any(|c| !a.held().contains(c)) {
            return Err(format!("{id:?} lists an offer it does not hold"));
        }
        if non_vip != a.non_vip_held() {
            return Err(format!(
                "{id:?} non-VIP count {} != {non_vip}",
                a.non_vip_held()
            ));
        }
        for c in a.sticky() {
            if self.conversations.get(c).and_then(|c| c.sticky_for) != Some(id) {
                return Err(format!("{id:?} holds sticky {c:?} not held for it"));
            }
        }
        for (q, level) in a.queues() {
            let listed = self.roster.indexed(a, *q, *level);
            if listed != a.eligible() {
                return Err(format!("{id:?} index membership in {q:?} is {listed}"));
            }
        }
        Ok(())
    }

    /// Every open conversation is in exactly one state, held by the agent it names, and a
    /// waiting one is in exactly one queue or held for exactly one agent.
    fn check_conversations(&self) -> Result<(), String> {
        let mut queued = 0;
        for (id, c) in self.conversations.iter() {
            if c.state.is_final() {
                return Err(format!("{id:?} is {:?} but still open", c.state));
            }
            if let Some(agent) = c.agent {
                let holds = self
                    .roster
                    .get(&agent)
                    .is_some_and(|a| a.held().contains(id));
                if !holds && c.state != State::Waiting {
                    return Err(format!("{id:?} names {agent:?}, which does not hold it"));
                }
            }
            match (c.state, c.wait_key, c.sticky_for) {
                (State::Waiting, Some(key), None) => {
                    queued += 1;
                    let found = self.waiting[usize::from(c.queue.0)]
                        .iter()
                        .any(|(k, x)| *k == key && x == *id);
                    if !found {
                        return Err(format!("{id:?} waits but is not in its queue"));
                    }
                    if c.agent.is_some() {
                        return Err(format!("{id:?} waits but names an agent"));
                    }
                }
                (State::Waiting, None, Some(agent)) => {
                    let holds = self
                        .roster
                        .get(&agent)
                        .is_some_and(|a| a.sticky().contains(id));
                    if !holds {
                        return Err(format!("{id:?} is held for {agent:?}, which forgot it"));
                    }
                }
                (State::Waiting, _, _) => return Err(format!("{id:?} waits nowhere")),
                (_, None, None) => {
                    if c.agent.is_none() {
                        return Err(format!("{id:?} is {:?} with no agent", c.state));
                    }
                }
                (state, _, _) => return Err(format!("{id:?} is {state:?} yet waits")),
            }
        }
        let in_queues: usize = self.waiting.iter().map(WaitingQueue::len).sum();
        if in_queues != queued {
            return Err(format!(
                "queues hold {in_queues}, conversations say {queued}"
            ));
        }
        Ok(())
    }
}
