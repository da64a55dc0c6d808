//! Detects a customer asking to be handed from the bot to a human agent.
//!
//! # Matching rules
//!
//! These rules apply in the same way to the built-in phrases
//! ([`HumanRequestMatcher::default_phrases`]) and to a tenant's own list passed
//! to [`HumanRequestMatcher::new`]. The built-in phrases, exclusions, negators,
//! fillers and question words are in `data/human_request_phrases.tsv` (format
//! at its top), embedded in the binary and parsed once.
//!
//! 1. **Folding.** Text and phrases are read through [`crate::fold::fold`], as
//!    [`normalise`] reads them: full-width forms (U+FF01..U+FF5E) and the
//!    ideographic space become half-width, letters become lower case. Whitespace, ASCII and CJK
//!    punctuation, and invisible characters (zero-width space, emoji variation
//!    selectors) only separate; they never have to match.
//! 2. **Units.** Folded text is read as a sequence of units: every CJK
//!    character (and every emoji or other symbol) is one unit, and every run of
//!    letters and digits from a space-separated script (Latin, Cyrillic,
//!    Greek, Hangul...) is one word unit. Apostrophes inside or at the end of a
//!    word are dropped, so `don't` is `dont` and `agent's` is `agents`.
//! 3. **A phrase matches** where its units occur consecutively in the text.
//!    For Chinese this means spacing and punctuation are ignored
//!    (`转 人 工！` and full-width `ＨＵＭＡＮ` match). For English it
//!    means whole words only: `human` does not match `humane` or `humans`,
//!    `agent` does not match `reagent`, `agents` or `agents'`. Words in a
//!    multi-word phrase may be separated by any whitespace or punctuation
//!    (`real-person` matches `real person`).
//! 4. **Exclusions.** A hit that lies inside a longer known noun does not
//!    count: `人工智能`, `人工费`, `人工成本`, `真人秀`, `真人实拍`,
//!    `user agent`, `travel agent`, `AI agent`, `cleaning agent`,
//!    `agent orange`, `human hair`, `human error`, `tour operator`, ... (the
//!    `exclusion` list in the data file). An exclusion applies to every phrase it
//!    contains, so a tenant phrase `人工` is protected from `人工智能` too.
//! 5. **Negation.** A hit does not count when, in the same clause, it follows
//!    a negator (`不要`, `不用`, `不需要`, `不想`, `别`, `无需`, `没必要`,
//!    `don't`, `do not`, `no need`, `not`, `never`, ...) with nothing but filler
//!    in between (`我`, `帮`, `给`, `转`, `接`, "a", "to", "talk", "need",
//!    ...): `不用帮我转人工`, "I don't need to talk to an agent". Anything
//!    else in between ends the negation, so `不想等了转人工` and
//!    "I don't want a bot I want a human" are requests. Refusals by the shop
//!    (`不给转人工`, `不能转人工`, "can't reach a human") are not negators:
//!    they are requests. A negator inside an A-not-A question (`要不要`,
//!    `用不用`) or after a question word in the same clause (`为什么`,
//!    `怎么`, "why", "how come") does not negate either.
//! 6. A clause ends where [`crate::fold::is_clause_break`] says, as it does for
//!    the sentiment scorer: `,` `.` `!` `?` `;` `:` `~` (and their CJK forms
//!    `，。！？；：～、…`) or a line break.
//!
//! The matcher is deliberately conservative about *meaning*: it does not try
//! to tell whether "the agent was rude" is a request. A false positive hands
//! a chat to a human early; a false negative keeps an angry customer with the
//! bot, which is worse.

mod phrases;
mod units;

pub use crate::fold::normalise;

use self::phrases::BUILT_IN;
use self::units::{Pattern, TextUnit, Unit, Units, View};

/// Detects a customer asking for a human agent.
///
/// Build it once (construction folds and indexes the phrases; the built-in
/// rules are parsed once per process and shared) and share it;
/// [`HumanRequestMatcher::matches`] does not allocate for messages of up to 64
/// units.
#[derive(Debug, Clone)]
pub struct HumanRequestMatcher {
    phrases: Vec<Pattern>,
    /// Phrase indices sorted by the hash of their first unit.
    phrase_index: Vec<(u64, u32)>,
    /// Bit set over first-unit hashes: most units start no phrase, and this
    /// rejects them without a search.
    first_units: [u64; FILTER_WORDS],
    /// For each phrase: exclusions containing it, with the offset of the
    /// phrase inside the exclusion.
    phrase_exclusions: Vec<Vec<(u32, u32)>>,
    // The built-in rules, parsed once and shared by every matcher.
    exclusions: &'static [Pattern],
    negators: &'static [Pattern],
    /// Negator indices sorted by the hash of their last unit.
    negator_index: &'static [(u64, u32)],
    /// Single-unit fillers allowed between a negator and a hit, sorted by hash.
    fillers: &'static [Unit],
    questions: &'static [Pattern],
}

impl HumanRequestMatcher {
    /// Builds a matcher for `phrases`, folded and split into units the same
    /// way as the text (see the module docs). Phrases that fold to nothing
    /// (empty, punctuation only) are ignored rather than matching everything;
    /// duplicates are merged. The built-in exclusions and negation rules
    /// apply to every phrase.
    pub fn new<I, S>(phrases: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list: Vec<Pattern> = Vec::new();
        for p in phrases {
            if let Some(pattern) = Pattern::parse(p.as_ref()) {
                if !list.contains(&pattern) {
                    list.push(pattern);
                }
            }
        }
        let rules = &*BUILT_IN;
        let phrase_exclusions = list
            .iter()
            .map(|p| exclusions_containing(p, &rules.exclusions))
            .collect();
        let mut phrase_index: Vec<(u64, u32)> = list
            .iter()
            .enumerate()
            .map(|(i, p)| (p.units[0].hash, i as u32))
            .collect();
        phrase_index.sort_unstable();
        let mut first_units = [0u64; FILTER_WORDS];
        for &(h, _) in &phrase_index {
            let (word, bit) = filter_slot(h);
            first_units[word] |= bit;
        }
        HumanRequestMatcher {
            phrases: list,
            phrase_index,
            first_units,
            phrase_exclusions,
            exclusions: &rules.exclusions,
            negators: &rules.negators,
            negator_index: &rules.negator_index,
            fillers: &rules.fillers,
            questions: &rules.questions,
        }
    }

    /// The built-in phrases for "let me talk to a human", Chinese and English,
    /// as written in the data file.
    pub fn default_phrases() -> &'static [&'static str] {
        &BUILT_IN.requests
    }

    /// Matcher for [`HumanRequestMatcher::default_phrases`].
    pub fn with_defaults() -> Self {
        Self::new(Self::default_phrases())
    }

    /// Whether `text` asks for a human, by the rules in the module docs.
    pub fn matches(&self, text: &str) -> bool {
        if self.phrases.is_empty() {
            return false;
        }
        let mut stack = [TextUnit::default(); STACK_UNITS];
        let mut heap = Vec::new();
        let mut n = 0;
        for u in Units::new(text) {
            if n < STACK_UNITS {
                stack[n] = u;
                n += 1;
            } else {
                // Long message: spill once and keep going on the heap.
                if heap.is_empty() {
                    heap.extend_from_slice(&stack);
                }
                heap.push(u);
            }
        }
        let units: &[TextUnit] = if heap.is_empty() { &stack[..n] } else { &heap };
        let view = View { text, units };
        (0..units.len()).any(|i| self.hit_at(&view, i))
    }

    /// Whether some phrase starts at unit `i` and survives exclusions and
    /// negation.
    fn hit_at(&self, v: &View<'_>, i: usize) -> bool {
        let hash = v.units[i].hash;
        let (word, bit) = filter_slot(hash);
        if self.first_units[word] & bit == 0 {
            return false;
        }
        let lo = self.phrase_index.partition_point(|&(h, _)| h < hash);
        self.phrase_index[lo..]
            .iter()
            .take_while(|&&(h, _)| h == hash)
            .any(|&(_, pi)| {
                let pi = pi as usize;
                v.matches_at(i, &self.phrases[pi].units)
                    && !self.excluded(v, i, pi)
                    && !self.negated(v, i)
            })
    }

    fn excluded(&self, v: &View<'_>, i: usize, phrase: usize) -> bool {
        self.phrase_exclusions[phrase].iter().any(|&(ei, off)| {
            let off = off as usize;
            off <= i && v.matches_at(i - off, &self.exclusions[ei as usize].units)
        })
    }

    /// A negator ends right before unit `i`, or before a run of fillers
    /// leading to it, within the same clause.
    fn negated(&self, v: &View<'_>, i: usize) -> bool {
        let clause = v.units[i].clause;
        for gap in 0..=MAX_FILLERS.min(i) {
            let end = i - gap;
            if gap > 0 {
                let u = &v.units[end];
                if u.clause != clause || !self.is_filler(v, u) {
                    return false;
                }
            }
            if end == 0 {
                return false;
            }
            let hash = v.units[end - 1].hash;
            let lo = self.negator_index.partition_point(|&(h, _)| h < hash);
            let found = self.negator_index[lo..]
                .iter()
                .take_while(|&&(h, _)| h == hash)
                .any(|&(_, ni)| {
                    let neg = &self.negators[ni as usize].units;
                    let Some(start) = end.checked_sub(neg.len()) else {
                        return false;
                    };
                    v.units[start].clause == clause
                        && v.matches_at(start, neg)
                        && !v.is_a_not_a(start)
                        && !self.question_before(v, start, clause)
                });
            if found {
                return true;
            }
        }
        false
    }

    fn is_filler(&self, v: &View<'_>, u: &TextUnit) -> bool {
        let lo = self.fillers.partition_point(|f| f.hash < u.hash);
        self.fillers[lo..]
            .iter()
            .take_while(|f| f.hash == u.hash)
            .any(|f| v.unit_is(u, f))
    }

    /// "为什么不转人工" / "why don't you get me a human" is a demand.
    fn question_before(&self, v: &View<'_>, start: usize, clause: u32) -> bool {
        let first = (0..start)
            .rev()
            .take_while(|&j| v.units[j].clause == clause)
            .last()
            .unwrap_or(start);
        (first..start).any(|j| {
            self.questions
                .iter()
                .any(|q| j + q.units.len() <= start && v.matches_at(j, &q.units))
        })
    }
}

/// Exclusions containing `phrase`, with the offset of the phrase inside each.
fn exclusions_containing(phrase: &Pattern, exclusions: &[Pattern]) -> Vec<(u32, u32)> {
    let len = phrase.units.len();
    let mut found = Vec::new();
    for (ei, e) in exclusions.iter().enumerate() {
        for off in 0..=e.units.len().saturating_sub(len) {
            if e.units.get(off..off + len) == Some(&phrase.units[..]) {
                found.push((ei as u32, off as u32));
            }
        }
    }
    found
}

/// Size of the first-unit filter in 64-bit words (1024 bits).
const FILTER_WORDS: usize = 16;

fn filter_slot(hash: u64) -> (usize, u64) {
    // FNV's high bits are the best mixed.
    let bit = (hash >> 54) as usize;
    ((bit / 64) % FILTER_WORDS, 1u64 << (bit % 64))
}

/// Units kept on the stack before `matches` spills to the heap.
const STACK_UNITS: usize = 64;
/// Most filler units between a negator and a hit.
const MAX_FILLERS: usize = 8;
