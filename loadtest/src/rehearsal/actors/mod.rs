//! The actors: one tokio task per socket, each a [`Play`] driven by [`drive`].
//!
//! - [`connector`]: one per connector socket, playing the customers the plan gives it;
//! - [`bot`]: one per bot socket;
//! - [`agent`]: one per human agent socket, with its planned disconnect.
//!
//! A task owns its socket ([`Link`]) and its schedule: a time-ordered map of what the plan says
//! to do next. One loop waits for whichever comes first — a frame, the next planned action, a
//! heartbeat, the end of the run — handles it, and then writes everything it produced (feed
//! every frame, flush once). Actions carry the time they were *meant* for: a message goes out
//! at its intended time whatever the gateway did to earlier ones (open model), and that
//! intended time, not the actual one, is what its latency is measured from.

pub mod agent;
pub mod bot;
pub mod connector;

use std::collections::BTreeMap;

use serde::Serialize;
use switchboard_config::TenantConfig;
use switchboard_protocol::{ErrorReport, Offer};
use switchboard_sim::scenario::{AgentGroup, Plan};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::link::{Event, Link, Received};
use super::measure::{Author, Tag};
use crate::clock::{now_ns, sleep_until_ns};

/// Milliseconds of the plan as nanoseconds of [`crate::clock`].
pub fn ms_ns(ms: u64) -> u64 {
    ms.saturating_mul(1_000_000)
}

/// What every actor plays by: the plan and the tenant's settings.
#[derive(Debug)]
pub struct Rules {
    /// The seeded plan.
    pub plan: Plan,
    /// The tenant played (SLA targets, classes, handoff settings, transcript length).
    pub tenant: TenantConfig,
    /// Agent groups, for accept delays and handle times.
    pub groups: Vec<AgentGroup>,
}

impl Rules {
    /// Takes in an offer: which customer of the plan it is (the first transcript line with one
    /// of our customer message ids says), its transcript counted as delivery of every line in
    /// it, and the gateway's class checked against the plan's. `None` (reported) when the
    /// conversation is none of ours.
    pub fn take_offer(&self, link: &Link, offer: &Offer, now: u64) -> Option<u32> {
        let context = &offer.context;
        let index = context
            .transcript
            .iter()
            .filter_map(|line| Tag::parse(&line.message_id))
            .find(|tag| tag.author == Author::Customer)
            .map(|tag| tag.conversation)
            .filter(|&index| (index as usize) < self.plan.customers.len());
        let Some(index) = index else {
            link.unexpected(format!(
                "an offer of {} with no customer of ours",
                offer.conversation
            ));
            return None;
        };
        let truncated = context.transcript_truncated.is_some()
            || context.transcript.len() >= self.tenant.timing.transcript_messages as usize;
        let planned = self
            .plan
            .customers
            .get(index as usize)
            .map(|c| c.class(&self.tenant).as_str());
        let class = wire_name(&context.class);
        link.shared().with(|m| {
            m.ledger.offer(
                index,
                context.transcript.iter().map(|l| l.message_id.as_str()),
                truncated,
                now,
            );
            if planned != Some(class.as_str()) {
                m.class_mismatches += 1;
            }
            m.whereabouts.ids.insert(index, offer.conversation.clone());
        });
        Some(index)
    }

    /// Records a live `customer_message` (or `reply`) for `link`'s actor: its latency from the
    /// intended send time in its id, and its delivery.
    pub fn delivered(&self, link: &Link, message_id: &str, replayed: bool, now: u64) {
        let Some(tag) = Tag::parse(message_id) else {
            link.unexpected(format!("a message with an id not ours: {message_id}"));
            return;
        };
        let latency = now.saturating_sub(tag.intended_ns);
        let actor = link.actor;
        link.shared().with(|m| {
            let h = if replayed {
                &mut m.replayed
            } else if tag.author == Author::Customer {
                &mut m.to_agent
            } else {
                &mut m.to_customer
            };
            super::measure::record(h, latency);
            m.ledger.live(message_id, actor);
        });
    }
}

/// A wire enum's snake_case name (its serde spelling), e.g. `customer_request`.
pub fn wire_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => "?".to_string(),
    }
}

/// What an actor asks its driver to do with the socket after an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing.
    Continue,
    /// Close the socket (a planned disconnect).
    Disconnect,
    /// Connect again and resume the session.
    Reconnect,
}

/// Planned actions by intended time. Bounded by the plan: each action is one the plan calls for.
#[derive(Debug)]
pub struct Schedule<A> {
    due: BTreeMap<(u64, u64), A>,
    counter: u64,
}

impl<A> Default for Schedule<A> {
    fn default() -> Self {
        Schedule {
            due: BTreeMap::new(),
            counter: 0,
        }
    }
}

impl<A> Schedule<A> {
    /// Plans `action` for `at` (nanoseconds on [`crate::clock`]); same-time actions keep their
    /// order.
    pub fn at(&mut self, at: u64, action: A) {
        self.counter += 1;
        self.due.insert((at, self.counter), action);
    }

    fn next(&self) -> Option<u64> {
        self.due.keys().next().map(|(at, _)| *at)
    }

    fn pop_due(&mut self, now: u64) -> Option<(u64, A)> {
        if self.next()? > now {
            return None;
        }
        self.due.pop_first().map(|((at, _), action)| (at, action))
    }
}

/// What an actor works with while it handles one event.
#[derive(Debug)]
pub struct Turn<'a, A> {
    /// When the event was taken up.
    pub now: u64,
    /// The actor's socket.
    pub link: &'a mut Link,
    /// Its planned actions.
    pub schedule: &'a mut Schedule<A>,
}

/// One actor's part.
pub trait Play: Send + 'static {
    /// What it can be scheduled to do.
    type Action: Send;

    /// The run starts at `t0`: plan what the plan says.
    fn start(&mut self, t0: u64, schedule: &mut Schedule<Self::Action>);

    /// Does `action`, meant for `at`.
    fn act(&mut self, at: u64, action: Self::Action, turn: &mut Turn<'_, Self::Action>) -> Step;

    /// Handles a server message.
    fn message(&mut self, received: Received, turn: &mut Turn<'_, Self::Action>);

    /// Whether a refusal is a benign race: about a conversation this actor has already seen
    /// leave it, with a code that such a race produces.
    fn benign(&self, report: &ErrorReport) -> bool;

    /// The run's end: freeze whatever outcome is measured at the end.
    fn end(&mut self) {}
}

/// When to start and stop, shared by every actor.
#[derive(Debug, Clone)]
pub struct Cue {
    /// The run's start on [`crate::clock`], once every client is welcomed.
    pub t0: watch::Receiver<Option<u64>>,
    /// Set when the run is over and every actor should hand back its socket.
    pub stop: watch::Receiver<bool>,
    /// The plan's end, milliseconds from `t0`: no action is played after it.
    pub end_ms: u64,
}

/// How many times in a row a lost connection is tried again, the first after [`RETRY_NS`],
/// each next one twice as long after the previous.
const RETRIES: u32 = 4;
const RETRY_NS: u64 = 1_000_000_000;

/// Plays `play` over `link` until told to stop, then hands both back.
pub async fn drive<P: Play>(mut play: P, mut link: Link, mut cue: Cue) -> (P, Link) {
    let mut schedule = Schedule::default();
    if let Err(e) = link.open().await {
        link.shared().failed(format!("{}: {e}", link.name));
        return (play, link);
    }
    let mut end: Option<u64> = None;
    let mut ended = false;
    // When a lost connection is tried again, and how many tries in a row failed.
    let mut retry: Option<u64> = None;
    let mut failures = 0;
    loop {
        let wake = [
            schedule.next().filter(|_| !ended),
            end.filter(|_| !ended),
            link.due(),
            retry,
        ]
        .into_iter()
        .flatten()
        .min();
        let frame = tokio::select! {
            biased;
            _ = cue.stop.changed() => break,
            changed = cue.t0.changed(), if end.is_none() => {
                if changed.is_err() {
                    break;
                }
                let t0 = *cue.t0.borrow();
                if let Some(t0) = t0 {
                    end = Some(t0 + ms_ns(cue.end_ms));
                    play.start(t0, &mut schedule);
                }
                None
            }
            frame = link.recv() => Some(frame),
            _ = sleep_until(wake) => None,
        };
        let now = now_ns();
        let lost = match frame {
            None => None,
            Some(Some(Ok(Message::Text(text)))) => {
                for event in link.process(&text) {
                    match event {
                        Event::Message(received) => {
                            let mut turn = Turn {
                                now,
                                link: &mut link,
                                schedule: &mut schedule,
                            };
                            play.message(received, &mut turn);
                        }
                        Event::Refused { report, resent } => {
                            // After a resume, refusals of resent messages are expected.
                            let benign = resent || play.benign(&report);
                            link.refused(&report, benign);
                        }
                    }
                }
                None
            }
            Some(Some(Ok(Message::Close(frame)))) => {
                Some(format!("closed by the gateway: {frame:?}"))
            }
            Some(Some(Ok(_))) => None,
            Some(Some(Err(e))) => Some(e.to_string()),
            Some(None) => Some("the stream ended".to_string()),
        };
        if let Some(why) = lost {
            link.lost(&why);
        }
        if end.is_some_and(|end| now >= end) && !ended {
            ended = true;
            play.end();
        }
        while let Some((at, action)) = schedule.pop_due(now) {
            if ended {
                break;
            }
            let mut turn = Turn {
                now,
                link: &mut link,
                schedule: &mut schedule,
            };
            match play.act(at, action, &mut turn) {
                Step::Continue => {}
                Step::Disconnect => link.begin_close().await,
                // At once, so the actions due next already find the socket up.
                Step::Reconnect => reconnect(&mut link, &mut failures).await,
            }
        }
        link.tick(now);
        link.flush().await;
        // However it was lost (a read, a write, the gateway's close), a connection the actor
        // did not drop itself is tried again.
        if retry.is_none() && link.needs_reconnect() && failures < RETRIES {
            retry = Some(now + (RETRY_NS << failures));
        }
        if retry.is_some_and(|at| at <= now) {
            retry = None;
            reconnect(&mut link, &mut failures).await;
        }
    }
    (play, link)
}

/// Connects again, resuming the session; counts the failures in a row.
async fn reconnect(link: &mut Link, failures: &mut u32) {
    match link.open().await {
        Ok(()) => *failures = 0,
        Err(e) => {
            *failures += 1;
            link.shared().with(|m| m.sessions.connect_failures += 1);
            if *failures == RETRIES {
                link.unexpected(format!(
                    "gave up reconnecting after {RETRIES} attempts: {e}"
                ));
            }
        }
    }
}

async fn sleep_until(at: Option<u64>) {
    match at {
        Some(at) => sleep_until_ns(at).await,
        None => std::future::pending().await,
    }
}
