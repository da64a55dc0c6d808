//! The ledger: where every chat message ended up, and what a crash did to the queue and to
//! the agents' conversations. Pure: it is fed what the actors and the admin API saw and gives
//! verdicts; nothing here reads a socket or a clock.
//!
//! - [`Ledger`]: every chat message sent and every delivery seen, accounted at the end of the
//!   run ([`Accounting`]): acked and never delivered is *lost*, delivered twice to one
//!   recipient as a live message is *duplicated* (a replayed frame already handled by its
//!   `seq` never reaches it: [`super::link`] skips it);
//! - [`queue_held`]: the waiting customers read before a kill against the same read after the
//!   restart, before any client was let back;
//! - [`assignments_held`]: assigned conversations read before a kill against the `resumed`
//!   list their agent got and the admin API once agents are back;
//! - [`CrashReport`]: the figures of a `--kill9-at` run.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::measure::{Author, Tag, MAX_SAMPLES};

/// The fate of one chat message the clients sent.
#[derive(Debug, Clone, Copy)]
struct Sent {
    conversation: u32,
    author: Author,
    sent_ns: u64,
    /// `None` until acked or refused.
    acked: Option<bool>,
    /// Whether someone held the conversation when it was sent, so it must reach them live;
    /// otherwise only a later offer's transcript can carry it.
    held: bool,
}

/// Offers of one conversation, as their recipients saw them.
#[derive(Debug, Clone, Copy, Default)]
struct Offers {
    last_ns: u64,
    /// Some transcript was at the tenant's length limit, so older lines may be cut.
    truncated: bool,
}

/// Every chat message sent and every delivery seen, for the end-of-run accounting.
#[derive(Debug, Default)]
pub struct Ledger {
    sent: HashMap<String, Sent>,
    live: HashMap<(String, u32), u32>,
    in_offer: HashSet<String>,
    offers: HashMap<u32, Offers>,
    /// Conversations the gateway refused to end as unknown (`unknown_conversation` to the
    /// customer's `customer_left` or `close`): it forgot a conversation it had acked messages
    /// in, so none of them counts as undeliverable.
    forgotten: HashSet<u32>,
}

/// Where every chat message ended up.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Accounting {
    /// Chat messages sent by customers.
    pub customer_sent: u64,
    /// Replies sent by bots.
    pub bot_sent: u64,
    /// Replies sent by human agents.
    pub agent_sent: u64,
    /// Acked without an error.
    pub acked: u64,
    /// Refused with an error (a race, or counted under errors).
    pub refused: u64,
    /// Neither acked nor refused by the end.
    pub unacked: u64,
    /// Acked and received by their recipient, live or inside an offer's transcript.
    pub delivered: u64,
    /// Acked but never delivered, although a recipient existed.
    pub lost: u64,
    /// Deliveries beyond the first of one message to one recipient as a live message.
    pub duplicated: u64,
    /// Acked, never delivered, and nobody to deliver to: sent while waiting for a human, by a
    /// customer who left before anyone was offered the conversation.
    pub undeliverable: u64,
    /// Not found in an offer whose transcript was cut at the tenant's length limit.
    pub truncated: u64,
}

impl Ledger {
    /// A chat message was handed to the socket.
    pub fn sent(&mut self, id: &str, tag: Tag, held: bool, now: u64) {
        self.sent.insert(
            id.to_string(),
            Sent {
                conversation: tag.conversation,
                author: tag.author,
                sent_ns: now,
                acked: None,
                held,
            },
        );
    }

    /// The gateway answered it: `true` applied (or recognised as a duplicate), `false` refused.
    pub fn answered(&mut self, id: &str, applied: bool) {
        if let Some(sent) = self.sent.get_mut(id) {
            sent.acked = Some(applied);
        }
    }

    /// The message turned out to be the one that handed its conversation to the human side: it
    /// reaches a human only inside an offer.
    pub fn not_held(&mut self, id: &str) {
        if let Some(sent) = self.sent.get_mut(id) {
            sent.held = false;
        }
    }

    /// The gateway answered the customer's leaving `conversation` with `unknown_conversation`.
    pub fn forgotten(&mut self, conversation: u32) {
        self.forgotten.insert(conversation);
    }

    /// `recipient` received it as a live message.
    pub fn live(&mut self, id: &str, recipient: u32) {
        *self.live.entry((id.to_string(), recipient)).or_default() += 1;
    }

    /// An offer of `conversation` arrived with these transcript ids; `truncated` when the
    /// transcript was at its length limit.
    pub fn offer<'a>(
        &mut self,
        conversation: u32,
        ids: impl Iterator<Item = &'a str>,
        truncated: bool,
        now: u64,
    ) {
        self.in_offer.extend(ids.map(str::to_string));
        let offers = self.offers.entry(conversation).or_default();
        offers.last_ns = offers.last_ns.max(now);
        offers.truncated |= truncated;
    }

    /// Where every message ended up. `lost` holds descriptions of the first lost ones.
    pub fn account(&self, lost: &mut Vec<String>) -> Accounting {
        let mut a = Accounting::default();
        let mut delivered: HashSet<&str> = self.in_offer.iter().map(String::as_str).collect();
        for ((id, _), count) in &self.live {
            delivered.insert(id.as_str());
            a.duplicated += u64::from(count.saturating_sub(1));
        }
        for (id, sent) in &self.sent {
            match sent.author {
                Author::Customer => a.customer_sent += 1,
                Author::Bot => a.bot_sent += 1,
                Author::Agent => a.agent_sent += 1,
            }
            match sent.acked {
                None => a.unacked += 1,
                Some(false) => a.refused += 1,
                Some(true) => a.acked += 1,
            }
            if sent.acked != Some(true) {
                continue;
            }
            if delivered.contains(id.as_str()) {
                a.delivered += 1;
                continue;
            }
            let offers = self.offers.get(&sent.conversation).copied();
            let offered_later = offers.is_some_and(|o| o.last_ns > sent.sent_ns);
            // Replies always have a recipient: the connector, which never leaves. A customer's
            // message sent while nobody held the conversation has one once it is offered, and
            // had one all along if the gateway forgot the conversation (a customer who left an
            // open conversation closed it legitimately first).
            let forgotten = self.forgotten.contains(&sent.conversation);
            let expected =
                sent.author != Author::Customer || sent.held || offered_later || forgotten;
            if !expected {
                a.undeliverable += 1;
            } else if offered_later && offers.is_some_and(|o| o.truncated) {
                a.truncated += 1;
            } else {
                a.lost += 1;
                if lost.len() < MAX_SAMPLES {
                    lost.push(format!("{id} (conversation c-{})", sent.conversation));
                }
            }
        }
        a
    }
}
/// A conversation as `GET /api/v1/conversations/{id}` describes it (the fields checked).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Standing {
    /// `with_bot`, `waiting`, `offered`, `assigned`, `wrap_up`.
    pub state: String,
    /// Its queue.
    pub queue: String,
    /// 1-based position while waiting.
    #[serde(default)]
    pub position: Option<u32>,
    /// The agent or bot holding it.
    #[serde(default)]
    pub agent: Option<String>,
    /// Seconds since it started waiting (whole seconds, truncated).
    pub waiting_secs: u64,
}

/// How far a waiting customer's `waiting_secs` after a restart may be from its value before
/// the kill plus the time between the two reads: one second for each read's truncation, and
/// the brief's ±2 s covers both.
pub const WAIT_TOLERANCE_MS: u64 = 2_000;

/// What one check across a kill found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Conversations checked.
    pub checked: u64,
    /// Those that failed it.
    pub failed: u64,
    /// The first failures, described (gateway conversation ids, never customer data).
    pub samples: Vec<String>,
}

impl Check {
    fn fail(&mut self, what: String) {
        self.failed += 1;
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(what);
        }
    }
}

/// Every conversation waiting `before` the kill must still wait after the restart, in the same
/// queue, behind exactly the sampled conversations it was behind (the line keeps its order), with
/// its wait grown by `elapsed_ms` (within [`WAIT_TOLERANCE_MS`]): its wait counts from when it
/// first waited. An absolute position may grow: a conversation that was being offered when the
/// gateway died goes back into the line ahead of later arrivals, as after any agent's
/// disconnect, since its agent is detached at the restart.
pub fn queue_held(
    before: &BTreeMap<String, Standing>,
    after: &BTreeMap<String, Option<Standing>>,
    elapsed_ms: u64,
) -> Check {
    let mut check = Check::default();
    let mut lines: BTreeMap<&str, Vec<(u32, &str, u32)>> = BTreeMap::new();
    for (id, was) in before {
        check.checked += 1;
        let Some(Some(now)) = after.get(id) else {
            check.fail(format!("conversation {id}: unknown after the restart"));
            continue;
        };
        if now.state != "waiting" || now.queue != was.queue {
            check.fail(format!(
                "conversation {id}: was waiting in {}, now {} in {}",
                was.queue, now.state, now.queue
            ));
            continue;
        }
        if let (Some(then), Some(position)) = (was.position, now.position) {
            lines
                .entry(&was.queue)
                .or_default()
                .push((then, id, position));
        }
        let expected_ms = was.waiting_secs * 1000 + elapsed_ms;
        if (now.waiting_secs * 1000).abs_diff(expected_ms) > WAIT_TOLERANCE_MS {
            check.fail(format!(
                "conversation {id}: waited {} s before, {} s after, {elapsed_ms} ms apart",
                was.waiting_secs, now.waiting_secs
            ));
        }
    }
    for (queue, mut line) in lines {
        line.sort_unstable();
        for pair in line.windows(2) {
            let ((then_a, a, now_a), (then_b, b, now_b)) = (pair[0], pair[1]);
            if now_a >= now_b {
                check.fail(format!(
                    "{queue}: conversation {a} was ahead of {b} ({then_a} < {then_b}), now behind ({now_a} >= {now_b})"
                ));
            }
        }
    }
    check
}

/// Every conversation assigned `before` the kill must be listed in the `resumed` message its
/// agent got after the restart, and the admin API must show it still with that agent (or no
/// longer open: the agent, back, may have closed it by the time of the read).
pub fn assignments_held(
    before: &BTreeMap<String, Standing>,
    resumed: &HashMap<String, Vec<String>>,
    after: &BTreeMap<String, Option<Standing>>,
) -> Check {
    let mut check = Check::default();
    for (id, was) in before {
        check.checked += 1;
        let agent = was.agent.as_deref().unwrap_or("?");
        let Some(listed) = resumed.get(agent) else {
            check.fail(format!("conversation {id}: {agent} got no `resumed`"));
            continue;
        };
        if !listed.contains(id) {
            check.fail(format!("conversation {id}: not in {agent}'s `resumed`"));
            continue;
        }
        if let Some(Some(now)) = after.get(id) {
            if now.agent != was.agent {
                check.fail(format!(
                    "conversation {id}: was {agent}'s, now {:?}'s ({})",
                    now.agent, now.state
                ));
            }
        }
    }
    check
}

/// One kill and restart.
#[derive(Debug, Clone, Serialize)]
pub struct Kill {
    /// When, seconds from the plan's start.
    pub at_secs: f64,
    /// From SIGKILL to `/readyz` answering 200 again, milliseconds.
    pub outage_ms: u64,
    /// The waiting customers checked.
    pub queue: Check,
    /// The assigned conversations checked.
    pub assigned: Check,
}

/// The figures of a `--kill9-at` run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CrashReport {
    /// Restarts that came back ready.
    pub restarts: u64,
    /// The longest outage, milliseconds.
    pub outage_ms: u64,
    /// Acked chat messages never delivered (the message accounting's `lost`).
    pub acked_lost: u64,
    /// Chat messages delivered twice to one recipient.
    pub duplicates: u64,
    /// Resumes that were not clean (`gap: true` or `resumed: false`).
    pub gaps: u64,
    /// Waiting customers not in the same place after a restart.
    pub queue_moved: u64,
    /// Assigned conversations not back with their agent.
    pub reassigned: u64,
    /// 1 unless the gateway, stopped with SIGTERM at the end, exited with status 0.
    pub bad_exit: u64,
    /// How the gateway ended.
    pub exit: String,
    /// Each kill.
    pub kills: Vec<Kill>,
}

impl CrashReport {
    /// A figure by its threshold name (those [`super::summary::Summary::figure`] takes from
    /// here).
    pub fn figure(&self, name: &str) -> f64 {
        match name {
            "queue_moved" => self.queue_moved as f64,
            "reassigned" => self.reassigned as f64,
            "restarts" => self.restarts as f64,
            "outage_ms" => self.outage_ms as f64,
            _ => self.bad_exit as f64,
        }
    }

    /// Its lines of the summary table.
    pub fn table(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = writeln!(
            out,
            "\nkill -9: {} restarts, longest outage {} ms; acked_lost {}, duplicates {}, gaps {}, \
             queue_moved {}, reassigned {}; stop: {}",
            self.restarts,
            self.outage_ms,
            self.acked_lost,
            self.duplicates,
            self.gaps,
            self.queue_moved,
            self.reassigned,
            self.exit
        );
        for k in &self.kills {
            let _ = writeln!(
                out,
                "  at {:.1} s: outage {} ms; waiting {}/{} in place; assigned {}/{} back",
                k.at_secs,
                k.outage_ms,
                k.queue.checked - k.queue.failed,
                k.queue.checked,
                k.assigned.checked - k.assigned.failed,
                k.assigned.checked
            );
            for sample in k.queue.samples.iter().chain(&k.assigned.samples) {
                let _ = writeln!(out, "    {sample}");
            }
        }
    }

    /// Adds a kill's figures.
    pub fn add(&mut self, kill: Kill) {
        self.restarts += 1;
        self.outage_ms = self.outage_ms.max(kill.outage_ms);
        self.queue_moved += kill.queue.failed;
        self.reassigned += kill.assigned.failed;
        self.kills.push(kill);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(author: Author, conversation: u32, n: u32) -> Tag {
        Tag {
            author,
            conversation,
            n,
            intended_ns: 1,
        }
    }

    #[test]
    fn the_ledger_tells_lost_from_undeliverable_and_counts_duplicates() {
        let mut ledger = Ledger::default();
        // Delivered live, twice to the same recipient: one duplicate.
        ledger.sent("m0-0-1", tag(Author::Customer, 0, 0), true, 10);
        ledger.answered("m0-0-1", true);
        ledger.live("m0-0-1", 7);
        ledger.live("m0-0-1", 7);
        // Sent while waiting, the customer left before any offer: nobody to deliver to.
        ledger.sent("m1-0-1", tag(Author::Customer, 1, 0), false, 10);
        ledger.answered("m1-0-1", true);
        // Sent while waiting, offered later, missing from the offer: lost.
        ledger.sent("m2-0-1", tag(Author::Customer, 2, 0), false, 10);
        ledger.answered("m2-0-1", true);
        ledger.offer(2, ["m2-9-9"].into_iter(), false, 20);
        // A reply acked but never received: lost.
        ledger.sent("a3-0-1", tag(Author::Agent, 3, 0), true, 10);
        ledger.answered("a3-0-1", true);
        // Refused and never answered: neither counts as lost.
        ledger.sent("b4-0-1", tag(Author::Bot, 4, 0), true, 10);
        ledger.answered("b4-0-1", false);
        ledger.sent("b4-1-1", tag(Author::Bot, 4, 1), true, 10);
        let mut lost = Vec::new();
        let a = ledger.account(&mut lost);
        assert_eq!(
            (
                a.delivered,
                a.duplicated,
                a.undeliverable,
                a.lost,
                a.refused,
                a.unacked
            ),
            (1, 1, 1, 2, 1, 1)
        );
        assert_eq!(lost.len(), 2);
    }

    #[test]
    fn a_crash_that_forgets_an_acked_message_or_delivers_one_twice_is_caught() {
        let mut ledger = Ledger::default();
        // Acked just before the kill, never delivered to the bot holding the conversation.
        ledger.sent("m0-1-5", tag(Author::Customer, 0, 1), true, 10);
        ledger.answered("m0-1-5", true);
        // Acked, delivered, then delivered again after the restart under a new seq.
        ledger.sent("b1-0-5", tag(Author::Bot, 1, 0), true, 10);
        ledger.answered("b1-0-5", true);
        ledger.live("b1-0-5", 3);
        ledger.live("b1-0-5", 3);
        // Sent before the kill, unacked, resent after it and answered `duplicate` (applied):
        // delivered once. Not a loss, not a duplicate.
        ledger.sent("m2-0-5", tag(Author::Customer, 2, 0), true, 10);
        ledger.answered("m2-0-5", true);
        ledger.live("m2-0-5", 4);
        let mut lost = Vec::new();
        let a = ledger.account(&mut lost);
        assert_eq!((a.lost, a.duplicated, a.delivered), (1, 1, 2));
        assert_eq!(lost, ["m0-1-5 (conversation c-0)"]);

        // Sent while waiting and acked; the customer left, and the gateway no longer knew the
        // conversation: lost, where a customer who left a known conversation makes it
        // undeliverable.
        ledger.sent("m5-0-5", tag(Author::Customer, 5, 0), false, 10);
        ledger.answered("m5-0-5", true);
        ledger.sent("m6-0-5", tag(Author::Customer, 6, 0), false, 10);
        ledger.answered("m6-0-5", true);
        ledger.forgotten(5);
        let a = ledger.account(&mut lost);
        assert_eq!((a.lost, a.undeliverable), (2, 1));
    }

    fn waiting(queue: &str, position: u32, waiting_secs: u64) -> Standing {
        Standing {
            state: "waiting".to_string(),
            queue: queue.to_string(),
            position: Some(position),
            agent: None,
            waiting_secs,
        }
    }

    fn assigned(agent: &str) -> Standing {
        Standing {
            state: "assigned".to_string(),
            queue: "general".to_string(),
            position: None,
            agent: Some(agent.to_string()),
            waiting_secs: 4,
        }
    }

    #[test]
    fn a_queue_that_held_passes_and_every_way_of_losing_a_place_is_counted() {
        let before: BTreeMap<String, Standing> = [
            ("1", waiting("general", 1, 10)),
            ("2", waiting("general", 2, 5)),
            ("3", waiting("vip", 1, 0)),
            ("4", waiting("general", 3, 2)),
            ("5", waiting("general", 4, 1)),
        ]
        .into_iter()
        .map(|(id, s)| (id.to_string(), s))
        .collect();
        let held: BTreeMap<String, Option<Standing>> = before
            .iter()
            .map(|(id, s)| {
                let grown = s.waiting_secs + 3;
                (
                    id.clone(),
                    Some(waiting(&s.queue, s.position.unwrap_or(0), grown)),
                )
            })
            .collect();
        assert_eq!(
            queue_held(&before, &held, 3_400),
            Check {
                checked: 5,
                ..Check::default()
            }
        );

        // A conversation put back ahead of all of them (an offer withdrawn at the restart)
        // moves everyone back one place: the line kept its order.
        let behind_one: BTreeMap<String, Option<Standing>> = held
            .iter()
            .map(|(id, s)| {
                let s = s
                    .clone()
                    .map(|s| waiting(&s.queue, s.position.unwrap_or(0) + 1, s.waiting_secs));
                (id.clone(), s)
            })
            .collect();
        assert_eq!(queue_held(&before, &behind_one, 3_400).failed, 0);

        let mut after = held.clone();
        after.insert("1".into(), None); // forgotten
        after.insert("3".into(), Some(waiting("general", 1, 3))); // another queue
        after.insert("4".into(), Some(waiting("general", 3, 0))); // its wait started over
        after.insert("5".into(), Some(waiting("general", 1, 4))); // jumped the line
        let check = queue_held(&before, &after, 3_400);
        assert_eq!((check.checked, check.failed), (5, 4));
        assert!(
            check.samples[0].contains("conversation 1: unknown"),
            "{:?}",
            check.samples
        );
        assert!(check.samples[2].contains("waited 2 s before, 0 s after"));
        assert!(
            check.samples[3].contains("conversation 4 was ahead of 5"),
            "{:?}",
            check.samples
        );
    }

    #[test]
    fn assignments_must_be_resumed_by_their_agent_and_still_held_by_them() {
        let before: BTreeMap<String, Standing> = [
            ("10", assigned("general-1")),
            ("11", assigned("general-1")),
            ("12", assigned("general-2")),
            ("13", assigned("vip-1")),
        ]
        .into_iter()
        .map(|(id, s)| (id.to_string(), s))
        .collect();
        let resumed: HashMap<String, Vec<String>> = [
            ("general-1", vec!["10", "11"]),
            ("general-2", vec![]), // the gateway forgot it
        ]
        .into_iter()
        .map(|(a, ids)| (a.to_string(), ids.into_iter().map(String::from).collect()))
        .collect();
        let after: BTreeMap<String, Option<Standing>> = [
            ("10", Some(assigned("general-1"))),
            ("11", None), // closed by its agent once back: fine
            ("12", Some(assigned("general-3"))),
            ("13", Some(assigned("vip-1"))),
        ]
        .into_iter()
        .map(|(id, s)| (id.to_string(), s))
        .collect();
        let check = assignments_held(&before, &resumed, &after);
        assert_eq!((check.checked, check.failed), (4, 2));
        assert!(check.samples[0].contains("not in general-2's `resumed`"));
        assert!(check.samples[1].contains("vip-1 got no `resumed`"));

        let mut moved = after;
        moved.insert("10".into(), Some(assigned("general-4")));
        let check = assignments_held(&before, &resumed, &moved);
        assert_eq!(check.failed, 3);
    }
}
