//! Bots and handoff: a conversation goes to a bot first when the tenant says so, and leaves it
//! for the human queue when the customer asks for a person, their mood sinks, the bot gives up or
//! asks, or a rule sends it past the bot. **To change when a conversation leaves the bot, change
//! [`Router::take_customer_message`] (what the customer's message triggers) or the policy's
//! `skips_bot` and `handoff_points`.**

use std::sync::Arc;

use crate::conversation::{offer_context, push_bounded};
use crate::timers::Timer;
use crate::types::{
    AgentId, ConversationId, Effect, HandoffContext, HandoffReason, Lane, Message, Speaker, State,
    TranscriptLine, WithdrawReason,
};
use crate::Router;

impl Router {
    /// Records a customer message in the transcript and the sentiment, and says whether it
    /// triggers a handoff (only checked while the conversation is with a bot).
    ///
    /// Sentiment drives handoff (with a bot) and priority (waiting); once a human holds the
    /// conversation nothing reads it until a hand-back, so the built-in scorer is not run then —
    /// it is the costliest step per message. A connector's own score is still recorded.
    pub(crate) fn take_customer_message(
        &mut self,
        id: ConversationId,
        message: Message,
        with_bot: bool,
    ) -> Option<HandoffReason> {
        let with_human = self
            .conversations
            .get(&id)
            .is_some_and(|c| matches!(c.state, State::Offered | State::Assigned));
        let connector_score = message
            .sentiment
            .filter(|s| s.is_finite())
            .map(|s| s.clamp(-1.0, 1.0));
        let score = match connector_score {
            Some(score) => Some(score),
            None if with_human => None,
            None => Some(self.scorer.0.score(&message.text)),
        };
        let asks_for_human = with_bot && self.human_request.matches(&message.text);
        let now = self.now;
        let h = &self.policy.handoff;
        let (limit, trend_len) = (self.policy.transcript_len, h.trend_length as usize);
        let c = self.conversations.get_mut(&id)?;
        c.last_activity = now;
        push_bounded(
            &mut c.transcript,
            limit,
            TranscriptLine {
                at: now,
                speaker: Speaker::Customer,
                message,
            },
        );
        // With a human and no connector score there is nothing to smooth.
        let score = score?;
        let smoothed = match c.sentiment {
            None => score,
            Some(previous) => previous + h.sentiment_smoothing * (score - previous),
        };
        c.sentiment = Some(smoothed);
        push_bounded(&mut c.trend, trend_len, smoothed);
        let became_upset = !c.upset && smoothed <= h.sentiment_threshold;
        if became_upset {
            c.upset = true;
        } else if c.upset && smoothed > h.sentiment_recover {
            c.upset = false;
        }
        if asks_for_human {
            Some(HandoffReason::CustomerRequest)
        } else if became_upset {
            Some(HandoffReason::NegativeSentiment)
        } else {
            None
        }
    }

    /// A bot takes the conversation at once (bots never decline).
    pub(crate) fn give_to_bot(&mut self, id: ConversationId, bot: AgentId, out: &mut Vec<Effect>) {
        let now = self.now;
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        c.state = State::WithBot;
        c.agent = Some(bot);
        c.epoch = c.epoch.wrapping_add(1);
        c.unresolved = 0;
        let (epoch, queue) = (c.epoch, c.queue);
        let vip = c.ranking.lane == Lane::Vip;
        let context = Arc::new(offer_context(c, now, false, self.policy.transcript_bytes));
        self.update_agent(bot, |a| a.take(id, vip, now));
        out.push(Effect::StateChanged {
            conversation: id,
            state: State::WithBot,
            queue,
        });
        out.push(Effect::Offer {
            agent: bot,
            conversation: id,
            context,
            auto_accepted: true,
        });
        if self.policy.idle_ms > 0 {
            self.timers
                .set(now + self.policy.idle_ms, Timer::Idle(id, epoch));
        }
    }

    /// Moves a conversation from its bot (if any) to the human queue for `reason`.
    pub(crate) fn hand_off(
        &mut self,
        id: ConversationId,
        reason: HandoffReason,
        out: &mut Vec<Effect>,
    ) {
        let Some(c) = self.conversations.get(&id) else {
            return;
        };
        let bot = match c.state {
            State::WithBot => c.agent,
            _ => None,
        };
        let connector = c.connector;
        if let Some(bot) = bot {
            out.push(Effect::OfferWithdrawn {
                agent: bot,
                conversation: id,
                reason: WithdrawReason::HandedOff,
            });
            self.release(bot, id);
        }
        out.push(Effect::Handoff {
            connector,
            conversation: id,
            bot,
            reason,
        });
        let points = self.policy.handoff_points(reason);
        let now = self.now;
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        let previous = c.handoff.take();
        c.handoff = Some(HandoffContext {
            reason,
            bot_reason: previous.as_ref().and_then(|h| h.bot_reason.clone()),
            bot_summary: previous.and_then(|h| h.bot_summary),
            sentiment: c.sentiment,
        });
        c.agent = None;
        // The wait a customer feels, and the SLA, start when they are handed to the humans.
        c.waiting_since = now;
        c.ranking = self.policy.rank(&c.profile, c.upset, points);
        c.age_key = self.policy.age_key(now, c.ranking.priority);
        self.wait_for_human(id, out);
    }
}
