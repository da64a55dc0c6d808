//! Built-in sentiment scoring for customer messages in Chinese, English or a
//! mix of both.
//!
//! The bot hands a conversation to a human when the customer gets angry, so
//! the scorer is tuned to notice *unhappiness* in e-commerce service chats
//! (late parcels, refunds, fakes, rude service) rather than to be a general
//! purpose sentiment model. It is a lexicon scorer: cheap, deterministic and
//! explainable, at the price of missing anything the lexicon does not name.
//!
//! # How a message is read
//!
//! * Every character is folded on the fly: full-width ASCII (U+FF01..U+FF5E)
//!   and the ideographic space become half-width, letters become lower case,
//!   curly apostrophes become `'`. Nothing is copied, so a call allocates
//!   nothing.
//! * Chinese has no spaces, so at every position the longest lexicon term that
//!   starts there wins (`不满意` beats `不满` beats `不`). Latin terms only
//!   start and end on word boundaries, so `bad` never fires inside `badge`; a
//!   space inside a term matches any run of whitespace. A term ending in `*`
//!   in the table matches any word with that prefix (`disappoint*`).
//! * Terms carry a weight, roughly: mild ±0.5, clear ±1.5, abusive or
//!   escalating (`骗子`, `12315`, `scam`, `chargeback`) around -2.5..-3.
//! * A negator (`不`, `没`, `别`, `not`, `never`, `don't`, ...) changes the next
//!   sentiment term within three words or CJK characters, and never across a
//!   clause break (`,` `.` `;` `!` `?` and their CJK forms). Evaluative words
//!   flip and weaken (`not bad` is mildly positive, `not good` is negative);
//!   complaint words stay negative (`别骗人`, `不能退款` are still angry);
//!   "expectation" words that are neutral on their own turn negative when
//!   negated (`没收到`, `hasn't arrived`, `doesn't work`). A verb negator that
//!   meets no term at all (`耳机没有声音`, "it hasn't left the warehouse")
//!   counts as a mild complaint: in a service chat, "X did not happen" is
//!   rarely good news. `no`, `nobody` and `没人` carry no such penalty.
//! * An intensifier (`非常`, `太`, `very`, `so`, ...) multiplies the next term;
//!   diminishers (`有点`, `a bit`) are intensifiers below one. Intensifiers
//!   do not strengthen a negated term, since "not very good" is milder than
//!   "not good". `好的` ("OK") is neutral unless intensified (`挺好的`).
//! * A contrast word (`但是`, `不过`, `就是`, `but`, `however`) halves what
//!   came before it: the clause after "but" is what the customer means.
//! * Questions and hypotheticals: praise inside a question clause (ending in
//!   `?`, or containing `吗` or an A-not-A form such as `能不能`, `有没有`) is
//!   mostly hypothetical and keeps a fifth of its weight ("好用吗"); a
//!   complaint in a question keeps its weight ("为什么还不发货?"). The first
//!   term after `如果` / `万一` / "if" keeps 30% ("如果不合适可以换吗").
//! * Sarcasm: a sarcasm-prone positive word (`great`, `thanks`, `真是太好了`)
//!   followed by a clearly negative remainder counts as negative
//!   ("great, another delay"). Fixed sarcastic phrases (`呵呵`, `真行`,
//!   `thanks for nothing`, `oh great`, `love how`) are plain negative terms.
//! * Punctuation: every `!` amplifies the result (up to five); a run such as
//!   `??`, `？？？` or `?!` reads as impatience and pulls the score down, as
//!   does a message written mostly in capitals.
//! * The raw sum `s` is squashed into (-1, 1) with `s / sqrt(s² + 4)`, so one
//!   clear term scores about ±0.6 and the score saturates smoothly.
//!
//! # Provenance and limits
//!
//! Weights were tuned in two rounds on `tests/data/sentiment_labelled.tsv`
//! and measured on a final held-out section written after the last freeze
//! (see that file's header). A lexicon only knows the words it lists: a
//! complaint phrased entirely in unlisted words ("the strap snapped",
//! `压缩板`) reads as neutral, and sarcasm without a marker word reads
//! literally.

use std::sync::Arc;

/// Scores one customer message in [-1.0, 1.0]; below zero is unhappy/angry.
pub trait SentimentScorer: Send + Sync {
    /// Returns the message's sentiment in [-1.0, 1.0]; 0.0 means neutral or
    /// empty. Must not panic on any input.
    fn score(&self, text: &str) -> f32;
}

/// How a score reads: used by tests and docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polarity {
    /// Score below [`Polarity::NEGATIVE_BELOW`].
    Negative,
    /// Score in `[NEGATIVE_BELOW, POSITIVE_ABOVE]`, or not a number.
    Neutral,
    /// Score above [`Polarity::POSITIVE_ABOVE`].
    Positive,
}

impl Polarity {
    /// Scores strictly below this read as negative. One mild complaint word
    /// (about -0.4 raw, e.g. a bare "refund" question) stays neutral; one clear
    /// complaint (`没收到`, "never arrived") is well below it.
    pub const NEGATIVE_BELOW: f32 = -0.2;
    /// Scores strictly above this read as positive.
    pub const POSITIVE_ABOVE: f32 = 0.2;

    /// Classifies a score: `< -0.2` is negative, `> 0.2` is positive, anything
    /// else (including NaN) is neutral.
    pub fn of(score: f32) -> Polarity {
        if score < Self::NEGATIVE_BELOW {
            Polarity::Negative
        } else if score > Self::POSITIVE_ABOVE {
            Polarity::Positive
        } else {
            Polarity::Neutral
        }
    }
}

/// Lexicon-based scorer for Chinese and English.
///
/// The lexicon is built once in [`LexiconScorer::new`] and shared behind an
/// `Arc`, so cloning a scorer is cheap. Scoring allocates nothing.
#[derive(Debug, Clone)]
pub struct LexiconScorer {
    lexicon: Arc<Lexicon>,
}

impl Default for LexiconScorer {
    /// Same as [`LexiconScorer::new`]; a derived `Default` would give an empty
    /// lexicon that scores everything as neutral.
    fn default() -> Self {
        Self::new()
    }
}

impl LexiconScorer {
    /// Builds the built-in Chinese and English lexicon.
    pub fn new() -> Self {
        LexiconScorer {
            lexicon: Arc::new(Lexicon::build()),
        }
    }
}

impl SentimentScorer for LexiconScorer {
    fn score(&self, text: &str) -> f32 {
        let lex = &*self.lexicon;
        let mut acc = Acc::new();
        let mut i = 0;
        while let Some(raw) = text.get(i..).and_then(|rest| rest.chars().next()) {
            let c = fold(raw);
            if is_ignorable(c) {
                i += raw.len_utf8();
                continue;
            }
            let is_word = c.is_ascii_alphanumeric();
            // Latin words are handled whole so a term never starts mid-word
            // and capitals can be counted per word.
            let word_end = if is_word {
                let (end, caps) = scan_word(text, i);
                acc.words = acc.words.saturating_add(1);
                acc.caps_words = acc.caps_words.saturating_add(u32::from(caps));
                end
            } else {
                i + raw.len_utf8()
            };
            if let Some((kind, end)) = lex.longest_match(text, i) {
                if !matches!(c, '!' | '?') {
                    acc.close_run();
                }
                acc.apply(kind);
                // A multi-word term may end past this word; never go backwards.
                i = end.max(i + raw.len_utf8());
                continue;
            }
            if is_word {
                acc.close_run();
                acc.unit();
                i = word_end;
                continue;
            }
            match c {
                '!' => acc.bang(),
                '?' => acc.question(),
                _ => {
                    acc.close_run();
                    if is_clause_break(c) {
                        acc.boundary();
                    } else if !c.is_whitespace() && !is_punctuation(c) {
                        acc.unit();
                    }
                }
            }
            i += raw.len_utf8();
        }
        acc.finish()
    }
}

/// What a lexicon term does to the running score.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// A sentiment-bearing term. `negated` replaces `plain` when a negator is
    /// in scope; `sarcastic` marks praise that is often ironic.
    Term {
        plain: f32,
        negated: f32,
        sarcastic: bool,
    },
    /// Negates the next term; `factor` scales the negated weight (`不太`
    /// negates more softly than `不`). A verb negator that finds no term
    /// (`没有声音`, "hasn't left the warehouse") still counts as a mild
    /// complaint: in a service chat, "X did not happen" is rarely good news.
    Negator { factor: f32, verb: bool },
    /// Opens a hypothetical (`如果`, "if"): the next term is weakened.
    Hypothetical,
    /// Neutral unless an intensifier precedes it (`好的` is "OK", `挺好的`
    /// is praise).
    Mild(f32),
    /// Multiplies the next term.
    Intensifier(f32),
    /// "but": what follows matters more than what came before.
    Contrast,
    /// Known word with no sentiment; exists only so a longer neutral word
    /// (`快递`, `不好意思`, `good morning`) hides a shorter scored one.
    Neutral,
    /// Question particle (`吗`): the clause is asking, not judging.
    Question,
}

/// Compact lexicon table syntax; turned into [`Kind`] in [`Lexicon::build`].
#[derive(Debug, Clone, Copy)]
enum Def {
    /// Positive evaluative: negation flips it and dampens it.
    P(f32),
    /// Positive and sarcasm-prone.
    S(f32),
    /// Negative evaluative: negation flips it to mildly positive ("not bad").
    N(f32),
    /// Complaint or anger: stays negative under negation ("don't lie to me").
    A(f32),
    /// Expectation: (plain, negated), e.g. `received` / `never received`.
    E(f32, f32),
    /// Verb negator with its strength (dangling use is a mild complaint).
    Neg(f32),
    /// Negator that says nothing on its own (`no`, `没人`, `nobody`).
    Nn(f32),
    /// Hypothetical marker.
    H,
    /// Neutral unless intensified.
    M(f32),
    /// Intensifier (> 1) or diminisher (< 1).
    I(f32),
    /// Contrast.
    C,
    /// Neutral blocker.
    Z,
    /// Question particle.
    Q,
}

impl Def {
    fn kind(self) -> Kind {
        match self {
            Def::P(w) => term(w, -0.8 * w, false),
            Def::S(w) => term(w, -0.8 * w, true),
            Def::N(w) => term(w, -0.4 * w, false),
            Def::A(w) => term(w, 0.8 * w, false),
            Def::E(plain, negated) => term(plain, negated, false),
            Def::Neg(factor) => Kind::Negator { factor, verb: true },
            Def::Nn(factor) => Kind::Negator {
                factor,
                verb: false,
            },
            Def::H => Kind::Hypothetical,
            Def::M(w) => Kind::Mild(w),
            Def::I(m) => Kind::Intensifier(m),
            Def::C => Kind::Contrast,
            Def::Z => Kind::Neutral,
            Def::Q => Kind::Question,
        }
    }
}

fn term(plain: f32, negated: f32, sarcastic: bool) -> Kind {
    Kind::Term {
        plain,
        negated,
        sarcastic,
    }
}

#[derive(Debug)]
struct Entry {
    /// Normalised term without the trailing `*`.
    stem: &'static str,
    kind: Kind,
    /// Matches any word starting with `stem`.
    prefix: bool,
    /// Ends in a Latin letter or digit, so the text must not continue the word.
    ends_word: bool,
}

/// The lexicon as a byte trie over folded UTF-8, so finding the longest term
/// at a position costs one walk instead of a scan over candidate terms.
#[derive(Debug)]
struct Lexicon {
    entries: Vec<Entry>,
    nodes: Vec<Node>,
    /// Children of all nodes as (byte, node); each node's run is sorted.
    edges: Vec<(u8, u32)>,
    /// Children of the root indexed by byte; `NO_NODE` if absent.
    root: Vec<u32>,
}

#[derive(Debug, Default, Clone)]
struct Node {
    edges_lo: u32,
    edges_hi: u32,
    /// Term ending exactly here, and prefix term (`stem*`) ending here.
    exact: Option<u32>,
    prefix: Option<u32>,
}

const NO_NODE: u32 = u32::MAX;

impl Lexicon {
    fn build() -> Lexicon {
        let entries: Vec<Entry> = LEXICON
            .iter()
            .filter_map(|&(raw, def)| {
                let prefix = raw.ends_with('*');
                let stem = raw.strip_suffix('*').unwrap_or(raw);
                let last = stem.chars().next_back()?;
                Some(Entry {
                    stem,
                    kind: def.kind(),
                    prefix,
                    ends_word: last.is_ascii_alphanumeric(),
                })
            })
            .collect();
        // Build with ordered maps, then flatten into sorted edge runs.
        let mut tmp: Vec<(std::collections::BTreeMap<u8, u32>, Node)> = vec![Default::default()];
        for (ei, e) in entries.iter().enumerate() {
            let mut node = 0usize;
            for &b in e.stem.as_bytes() {
                let next = tmp.len() as u32;
                let child = *tmp[node].0.entry(b).or_insert(next);
                if child == next {
                    tmp.push(Default::default());
                }
                node = child as usize;
            }
            let slot = if e.prefix {
                &mut tmp[node].1.prefix
            } else {
                &mut tmp[node].1.exact
            };
            // Duplicates are rejected by a unit test; keep the first anyway.
            slot.get_or_insert(ei as u32);
        }
        let mut nodes = Vec::with_capacity(tmp.len());
        let mut edges = Vec::new();
        for (children, mut node) in tmp {
            node.edges_lo = edges.len() as u32;
            edges.extend(children);
            node.edges_hi = edges.len() as u32;
            nodes.push(node);
        }
        let mut root = vec![NO_NODE; 256];
        if let Some(n) = nodes.first() {
            for &(b, child) in &edges[n.edges_lo as usize..n.edges_hi as usize] {
                root[b as usize] = child;
            }
        }
        Lexicon {
            entries,
            nodes,
            edges,
            root,
        }
    }

    fn child(&self, node: u32, byte: u8) -> Option<u32> {
        if node == 0 {
            return self
                .root
                .get(byte as usize)
                .copied()
                .filter(|&n| n != NO_NODE);
        }
        let n = self.nodes.get(node as usize)?;
        let run = self.edges.get(n.edges_lo as usize..n.edges_hi as usize)?;
        run.binary_search_by_key(&byte, |&(b, _)| b)
            .ok()
            .map(|k| run[k].1)
    }

    /// Longest term starting at byte `start`, with the byte offset just past
    /// it. A space in a term matches a run of whitespace; invisible characters
    /// are skipped.
    fn longest_match(&self, text: &str, start: usize) -> Option<(Kind, usize)> {
        let rest = text.get(start..)?;
        let mut node = 0u32;
        let mut best = None;
        let mut it = rest.char_indices().peekable();
        while let Some((j, raw)) = it.next() {
            let c = if is_space(raw) {
                if j == 0 {
                    return None;
                }
                while it.peek().is_some_and(|&(_, n)| is_space(n)) {
                    it.next();
                }
                ' '
            } else {
                let c = fold(raw);
                if is_ignorable(c) {
                    continue;
                }
                c
            };
            let mut buf = [0u8; 4];
            for &b in c.encode_utf8(&mut buf).as_bytes() {
                match self.child(node, b) {
                    Some(next) => node = next,
                    None => return best,
                }
            }
            let end = it.peek().map_or(rest.len(), |&(k, _)| k);
            if let Some((kind, len)) = self.accept(node, rest, end) {
                best = Some((kind, start + len));
            }
        }
        best
    }

    /// Whether a term ends at trie `node` with the text consumed up to `end`
    /// (relative to `rest`), honouring word boundaries; returns the match end.
    fn accept(&self, node: u32, rest: &str, end: usize) -> Option<(Kind, usize)> {
        let n = self.nodes.get(node as usize)?;
        if n.exact.is_none() && n.prefix.is_none() {
            return None;
        }
        let word_len: usize = rest
            .get(end..)
            .unwrap_or("")
            .chars()
            .take_while(|&c| is_word_char(fold(c)))
            .map(char::len_utf8)
            .sum();
        if let Some(e) = n.exact.and_then(|i| self.entries.get(i as usize)) {
            if !e.ends_word || word_len == 0 {
                return Some((e.kind, end));
            }
        }
        n.prefix
            .and_then(|i| self.entries.get(i as usize))
            .map(|e| (e.kind, end + word_len))
    }
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{3000}'
}

/// Running state while scanning one message.
struct Acc {
    total: f32,
    /// A negator is waiting for its term.
    negated: bool,
    neg_factor: f32,
    neg_verb: bool,
    neg_gap: u8,
    /// A hypothetical marker is waiting for its term.
    hypothetical: bool,
    hypo_gap: u8,
    /// Pending intensifier product, and the one in force when a negator came.
    boost: f32,
    boost_gap: u8,
    pre_neg_boost: f32,
    /// Sum of sarcasm-prone praise, and of everything scored after it.
    sarcasm: f32,
    after_sarcasm: f32,
    /// Praise in the current clause, discounted if the clause is a question.
    clause_praise: f32,
    clause_is_question: bool,
    bangs: u32,
    impatient: u32,
    run_q: u32,
    run_b: u32,
    words: u32,
    caps_words: u32,
}

/// Words or CJK characters a negator reaches across.
const NEG_WINDOW: u8 = 3;
/// Words or CJK characters an intensifier reaches across.
const BOOST_WINDOW: u8 = 2;
/// Cap on stacked intensifiers ("非常非常非常").
const MAX_BOOST: f32 = 2.5;
/// Raw penalty for a `??` / `?!` run and for shouting in capitals.
const IMPATIENCE: f32 = 0.6;
const SHOUTING: f32 = 0.8;
/// Extra strength per `!`, counted up to `MAX_BANGS`.
const BANG_GAIN: f32 = 0.1;
const MAX_BANGS: u32 = 5;
/// Raw weight of a verb negator that met no term.
const DANGLING_NEGATION: f32 = -0.5;
/// Weight kept by the first term after `如果` / "if".
const HYPOTHETICAL_WEIGHT: f32 = 0.3;
/// How negative the text after sarcasm-prone praise must be to flip it.
const SARCASM_TRIGGER: f32 = 0.5;
/// Share of a question clause's praise that is discounted.
const QUESTION_DISCOUNT: f32 = 0.8;
/// Squashing constant: raw sum `s` maps to `s / sqrt(s² + SQUASH)`.
const SQUASH: f32 = 4.0;

impl Acc {
    fn new() -> Acc {
        Acc {
            total: 0.0,
            negated: false,
            neg_factor: 1.0,
            neg_verb: false,
            neg_gap: 0,
            hypothetical: false,
            hypo_gap: 0,
            boost: 1.0,
            boost_gap: 0,
            pre_neg_boost: 1.0,
            sarcasm: 0.0,
            after_sarcasm: 0.0,
            clause_praise: 0.0,
            clause_is_question: false,
            bangs: 0,
            impatient: 0,
            run_q: 0,
            run_b: 0,
            words: 0,
            caps_words: 0,
        }
    }

    fn apply(&mut self, kind: Kind) {
        match kind {
            Kind::Term {
                plain,
                negated,
                sarcastic,
            } => self.term(plain, negated, sarcastic),
            Kind::Negator { factor, verb } => {
                self.pre_neg_boost = self.boost;
                self.boost = 1.0;
                self.negated = true;
                self.neg_factor = factor;
                self.neg_verb = verb;
                self.neg_gap = 0;
            }
            Kind::Hypothetical => {
                self.hypothetical = true;
                self.hypo_gap = 0;
            }
            Kind::Mild(w) => {
                if self.boost > 1.0 && !self.negated {
                    self.term(w, -0.8 * w, false);
                } else {
                    self.unit();
                }
            }
            Kind::Intensifier(m) => {
                // Under negation an intensifier softens rather than boosts.
                if !self.negated {
                    self.boost = (self.boost * m).min(MAX_BOOST);
                    self.boost_gap = 0;
                }
            }
            Kind::Contrast => {
                self.total *= 0.5;
                self.sarcasm *= 0.5;
                self.after_sarcasm *= 0.5;
                self.clause_praise *= 0.5;
                self.reset_modifiers();
            }
            Kind::Neutral => self.unit(),
            Kind::Question => self.clause_is_question = true,
        }
    }

    fn term(&mut self, plain: f32, negated: f32, sarcastic: bool) {
        let mut v = if self.negated {
            negated * self.neg_factor * self.pre_neg_boost.max(1.0)
        } else {
            plain * self.boost
        };
        if self.hypothetical {
            v *= HYPOTHETICAL_WEIGHT;
            self.hypothetical = false;
        }
        if sarcastic && !self.negated && v > 0.0 {
            self.sarcasm += v;
        } else if self.sarcasm > 0.0 {
            self.after_sarcasm += v;
        }
        if v > 0.0 {
            self.clause_praise += v;
        }
        self.total += v;
        self.reset_modifiers();
    }

    /// A word or character that is not in the lexicon: scopes run out.
    fn unit(&mut self) {
        if self.negated {
            self.neg_gap += 1;
            if self.neg_gap > NEG_WINDOW {
                self.drop_negator();
            }
        }
        if self.hypothetical {
            self.hypo_gap += 1;
            if self.hypo_gap > NEG_WINDOW {
                self.hypothetical = false;
            }
        }
        if self.boost != 1.0 {
            self.boost_gap += 1;
            if self.boost_gap > BOOST_WINDOW {
                self.boost = 1.0;
            }
        }
    }

    /// Clause break: modifiers and the praise of the clause are settled.
    fn boundary(&mut self) {
        if self.negated {
            self.drop_negator();
        }
        if self.clause_is_question {
            self.discount_question();
        }
        self.hypothetical = false;
        self.clause_praise = 0.0;
        self.clause_is_question = false;
        self.reset_modifiers();
    }

    /// A negator ran out of scope without meeting a term.
    fn drop_negator(&mut self) {
        if self.neg_verb {
            let v = DANGLING_NEGATION * self.neg_factor;
            self.total += if self.hypothetical {
                v * HYPOTHETICAL_WEIGHT
            } else {
                v
            };
            if self.sarcasm > 0.0 {
                self.after_sarcasm += v;
            }
        }
        self.negated = false;
        self.pre_neg_boost = 1.0;
    }

    /// The clause was a question: praise in it is mostly hypothetical
    /// ("好用吗", "is it any good?"), so keep only a fifth of it. Complaints in
    /// questions ("为什么还不发货?") are real and keep their weight.
    fn discount_question(&mut self) {
        let discount = QUESTION_DISCOUNT * self.clause_praise;
        self.total -= discount;
        if self.sarcasm > 0.0 {
            self.sarcasm = (self.sarcasm - discount).max(0.0);
        }
        self.clause_praise = 0.0;
    }

    /// A term consumed the pending negator and intensifier.
    fn reset_modifiers(&mut self) {
        self.negated = false;
        self.neg_factor = 1.0;
        self.pre_neg_boost = 1.0;
        self.boost = 1.0;
    }

    fn bang(&mut self) {
        self.run_b = self.run_b.saturating_add(1);
        self.bangs = self.bangs.saturating_add(1);
        self.boundary();
    }

    fn question(&mut self) {
        self.run_q = self.run_q.saturating_add(1);
        self.clause_is_question = true;
        self.boundary();
    }

    /// Ends a run of `!`/`?`; `??` and `?!` read as impatience, a lone `?` as
    /// an ordinary question.
    fn close_run(&mut self) {
        if self.run_q >= 2 || (self.run_q >= 1 && self.run_b >= 1) {
            self.impatient = self.impatient.saturating_add(1);
        }
        self.run_q = 0;
        self.run_b = 0;
    }

    fn finish(mut self) -> f32 {
        self.close_run();
        self.boundary();
        let mut s = self.total;
        if self.sarcasm > 0.0 && self.after_sarcasm <= -SARCASM_TRIGGER {
            s -= 2.0 * self.sarcasm;
        }
        if self.impatient > 0 && s < 1.0 {
            s -= IMPATIENCE * self.impatient.min(3) as f32;
        }
        if self.caps_words >= 2 && self.caps_words.saturating_mul(2) >= self.words && s < 1.0 {
            s -= SHOUTING;
        }
        if s != 0.0 {
            s *= 1.0 + BANG_GAIN * self.bangs.min(MAX_BANGS) as f32;
        }
        if !s.is_finite() {
            return 0.0;
        }
        // Beyond this the squash is ±1 anyway and s² could overflow.
        let s = s.clamp(-1.0e6, 1.0e6);
        (s / (s * s + SQUASH).sqrt()).clamp(-1.0, 1.0)
    }
}

/// Folds one character: full-width ASCII and the ideographic space to
/// half-width, curly apostrophes to `'`, CJK full stop and enumeration comma to
/// ASCII, letters to lower case (first char of the mapping only: the lexicon is
/// ASCII and CJK, so the rare multi-char lower-casings never need to match).
fn fold(c: char) -> char {
    if ('\u{4E00}'..='\u{9FFF}').contains(&c) {
        // Common CJK ideographs have no case and no width variant.
        return c;
    }
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        '\u{2018}' | '\u{2019}' => '\'',
        '\u{3002}' | '\u{FF61}' => '.',
        '\u{3001}' => ',',
        _ => c,
    };
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else if c.is_uppercase() {
        c.to_lowercase().next().unwrap_or(c)
    } else {
        c
    }
}

/// Emoji presentation selectors, joiners and skin tones carry no meaning here.
fn is_ignorable(c: char) -> bool {
    matches!(c, '\u{FE0E}' | '\u{FE0F}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{1F3FB}'..='\u{1F3FF}')
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// End of the Latin word at `start` (letters, digits and inner apostrophes),
/// and whether it is shouted: at least three letters, all upper case.
fn scan_word(text: &str, start: usize) -> (usize, bool) {
    let rest = text.get(start..).unwrap_or("");
    let mut end = 0;
    let mut letters = 0u32;
    let mut upper = 0u32;
    let mut chars = rest.char_indices().peekable();
    while let Some((j, raw)) = chars.next() {
        let c = fold(raw);
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_alphabetic() {
                letters = letters.saturating_add(1);
                if raw.is_uppercase() {
                    upper = upper.saturating_add(1);
                }
            }
            end = j + raw.len_utf8();
        } else if c == '\''
            && chars
                .peek()
                .is_some_and(|&(_, n)| fold(n).is_ascii_alphanumeric())
        {
            end = j + raw.len_utf8();
        } else {
            break;
        }
    }
    (start + end, letters >= 3 && upper == letters)
}

fn is_clause_break(c: char) -> bool {
    matches!(
        c,
        ',' | '.' | ';' | ':' | '~' | '\n' | '\u{2026}' | '\u{FF64}' | '\u{FE50}'..='\u{FE57}'
    )
}

/// Punctuation and symbols that are neither words nor CJK characters.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c,
            '\u{00A1}'..='\u{00BF}'
            | '\u{2000}'..='\u{206F}'
            | '\u{3000}'..='\u{303F}'
            | '\u{FE10}'..='\u{FE1F}'
            | '\u{FE30}'..='\u{FE6F}'
            | '\u{FF5F}'..='\u{FF65}')
}

use Def::{Neg, Nn, A, C, E, H, I, M, N, P, Q, S, Z};

/// The lexicon, already in folded form (lower case, half-width).
static LEXICON: &[(&str, Def)] = &[
    // ---- Chinese: negators ----
    ("不", Neg(1.0)),
    ("没", Neg(1.0)),
    ("没有", Neg(1.0)),
    ("没人", Nn(1.0)),
    ("别", Neg(1.0)),
    ("未", Neg(1.0)),
    ("不是", Neg(1.0)),
    ("并不", Neg(1.0)),
    ("并没有", Neg(1.0)),
    ("并非", Neg(1.0)),
    ("从不", Neg(1.0)),
    ("从没", Neg(1.0)),
    ("从来不", Neg(1.0)),
    ("从来没", Neg(1.0)),
    ("从来没有", Neg(1.0)),
    ("还没", Neg(1.1)),
    ("还没有", Neg(1.1)),
    ("还未", Neg(1.1)),
    ("尚未", Neg(1.0)),
    ("不要", Neg(1.0)),
    ("不能", Neg(1.0)),
    ("不会", Neg(1.0)),
    ("无法", Neg(1.0)),
    ("不太", Neg(0.6)),
    ("不怎么", Neg(0.7)),
    ("不是很", Neg(0.8)),
    ("不是特别", Neg(0.7)),
    ("一点都不", Neg(1.3)),
    ("一点也不", Neg(1.3)),
    ("根本不", Neg(1.4)),
    ("根本没", Neg(1.4)),
    ("根本没有", Neg(1.4)),
    // ---- Chinese: intensifiers and diminishers ----
    ("非常", I(1.8)),
    ("太", I(1.6)),
    ("很", I(1.3)),
    ("超", I(1.5)),
    ("超级", I(1.7)),
    ("特别", I(1.6)),
    ("真", I(1.4)),
    ("真的", I(1.4)),
    ("真是", I(1.4)),
    ("实在", I(1.5)),
    ("实在是", I(1.5)),
    ("极其", I(1.8)),
    ("极度", I(1.8)),
    ("十分", I(1.6)),
    ("相当", I(1.4)),
    ("挺", I(1.15)),
    ("蛮", I(1.15)),
    ("巨", I(1.6)),
    ("贼", I(1.5)),
    ("最", I(1.5)),
    ("更", I(1.2)),
    ("更加", I(1.3)),
    ("越来越", I(1.3)),
    ("完全", I(1.4)),
    ("根本", I(1.5)),
    ("一直", I(1.2)),
    ("总是", I(1.3)),
    ("老是", I(1.3)),
    ("竟然", I(1.3)),
    ("居然", I(1.3)),
    ("简直", I(1.6)),
    ("有点", I(0.6)),
    ("有点儿", I(0.6)),
    ("有一点", I(0.6)),
    ("有些", I(0.7)),
    ("稍微", I(0.6)),
    ("略", I(0.7)),
    ("一点点", I(0.5)),
    // Demanding: "我要退货", "我要refund".
    ("我要", I(1.5)),
    ("吗", Q),
    // ---- Chinese: contrast ----
    ("但是", C),
    ("但", C),
    ("可是", C),
    ("不过", C),
    ("然而", C),
    ("只是", C),
    ("就是", C),
    // ---- Chinese: neutral words hiding scored substrings ----
    ("你好", Z),
    ("您好", Z),
    ("好的", M(0.8)),
    ("好像", Z),
    ("好吗", Q),
    ("好不好", Q),
    // A-not-A questions ask; they do not negate.
    ("能不能", Q),
    ("是不是", Q),
    ("要不要", Q),
    ("可不可以", Q),
    ("有没有", Q),
    ("会不会", Q),
    ("行不行", Q),
    ("对不对", Q),
    ("如果", H),
    ("万一", H),
    ("要是", H),
    ("不得不", Z),
    ("不用", Z),
    ("不少", Z),
    ("不断", Z),
    ("不仅", Z),
    ("不但", Z),
    ("不然", Z),
    ("不如", Z),
    ("不必", Z),
    ("不一定", Z),
    ("不久", Z),
    ("未来", Z),
    ("未必", Z),
    ("没什么", Z),
    ("没空", Z),
    ("别客气", Z),
    ("拍错", Z),
    ("买错", Z),
    ("选错", Z),
    ("填错", Z),
    ("写错", Z),
    ("下错", Z),
    ("快递", Z),
    ("快递员", Z),
    ("快递单", Z),
    ("不知道", Z),
    ("不用了", Z),
    ("不好意思", Z),
    ("差不多", Z),
    ("差价", Z),
    ("出差", Z),
    ("别人", Z),
    ("别的", Z),
    ("区别", Z),
    ("性别", Z),
    ("分别", Z),
    ("真人", Z),
    ("真正", Z),
    ("超过", Z),
    ("超市", Z),
    ("太太", Z),
    ("放假", Z),
    ("假期", Z),
    ("请假", Z),
    ("假日", Z),
    ("假如", H),
    ("暑假", Z),
    ("寒假", Z),
    ("滚动", Z),
    ("滚筒", Z),
    ("麻烦", Z),
    ("多久", Z),
    ("等等", Z),
    ("价值", Z),
    ("值班", Z),
    ("数值", Z),
    ("性价比", Z),
    ("可以吗", Z),
    ("没想到", Z),
    ("不到", Z),
    ("不了解", Z),
    ("少不了", Z),
    ("免不了", Z),
    ("发票", Z),
    ("开发", Z),
    ("不管怎样", Z),
    ("积极", Z),
    ("问题是", Z),
    ("一般来说", Z),
    ("一般多久", Z),
    ("一般几天", Z),
    ("一般什么时候", Z),
    ("宝贝", Z),
    ("亲", Z),
    ("没关系", P(0.5)),
    ("没事", P(0.5)),
    ("没错", P(0.5)),
    ("没什么问题", P(1.0)),
    ("没啥问题", P(1.0)),
    ("不客气", P(0.5)),
    // ---- Chinese: complaints and anger (stay negative when negated) ----
    ("退款", A(-0.4)),
    ("我要退款", A(-1.2)),
    ("退钱", A(-2.0)),
    ("退货", A(-0.4)),
    ("投诉", A(-2.0)),
    ("差评", A(-2.0)),
    ("骗子", A(-3.0)),
    ("骗人", A(-2.5)),
    ("骗", A(-2.0)),
    ("被骗", A(-2.5)),
    ("欺骗", A(-2.5)),
    ("诈骗", A(-3.0)),
    ("忽悠", A(-2.0)),
    ("垃圾", A(-2.5)),
    ("假货", A(-2.5)),
    ("假的", A(-1.5)),
    ("假", A(-1.0)),
    ("太慢", A(-1.8)),
    ("好慢", A(-1.8)),
    ("慢死了", A(-2.5)),
    ("坑", A(-1.5)),
    ("坑人", A(-2.5)),
    ("坑爹", A(-2.5)),
    ("举报", A(-2.0)),
    ("315", A(-2.0)),
    ("12315", A(-2.5)),
    ("消协", A(-2.0)),
    ("消费者协会", A(-2.0)),
    ("工商", A(-1.5)),
    ("曝光", A(-2.0)),
    ("黑店", A(-3.0)),
    ("维权", A(-2.0)),
    ("律师", A(-1.5)),
    ("起诉", A(-2.5)),
    ("赔偿", A(-1.5)),
    ("拉黑", A(-2.5)),
    ("再也不", A(-2.5)),
    ("后悔", A(-2.0)),
    ("上当", A(-2.5)),
    ("亏了", A(-1.5)),
    ("无语", A(-1.8)),
    ("服了", A(-1.5)),
    ("我服了", A(-2.0)),
    ("呵呵", A(-1.5)),
    ("真行", A(-1.5)),
    ("气死", A(-2.5)),
    ("气人", A(-2.0)),
    ("生气", A(-2.0)),
    ("愤怒", A(-2.5)),
    ("火大", A(-2.0)),
    ("恶心", A(-2.5)),
    ("离谱", A(-2.0)),
    ("过分", A(-2.0)),
    ("搞什么", A(-2.0)),
    ("什么鬼", A(-2.0)),
    ("什么玩意", A(-2.5)),
    ("有病", A(-2.5)),
    ("妈的", A(-2.5)),
    ("他妈", A(-2.5)),
    ("tmd", A(-2.5)),
    ("nmd", A(-2.5)),
    ("sb", A(-2.5)),
    ("傻逼", A(-3.0)),
    ("滚", A(-2.5)),
    ("烦", A(-1.5)),
    ("好烦", A(-1.8)),
    ("烦死了", A(-2.5)),
    ("麻烦死了", A(-2.0)),
    ("不耐烦", A(-1.5)),
    ("讨厌", A(-2.0)),
    ("失望", A(-2.0)),
    ("绝望", A(-2.5)),
    ("崩溃", A(-2.0)),
    ("着急", A(-1.2)),
    ("急死", A(-2.0)),
    ("急用", A(-0.8)),
    ("催", A(-0.8)),
    ("催了", A(-1.0)),
    ("到底", A(-0.8)),
    ("究竟", A(-0.6)),
    ("怎么回事", A(-1.2)),
    ("人呢", A(-1.5)),
    ("有人吗", A(-0.8)),
    ("不理人", A(-1.8)),
    ("不理", A(-1.5)),
    ("爱理不理", A(-2.0)),
    ("态度差", A(-2.0)),
    ("恶劣", A(-2.5)),
    ("敷衍", A(-2.0)),
    ("推卸", A(-2.0)),
    ("踢皮球", A(-2.0)),
    ("乱收费", A(-2.0)),
    ("说好的", A(-0.8)),
    ("又", A(-0.5)),
    ("又是", A(-0.6)),
    ("第几次", A(-1.5)),
    ("多少次", A(-1.2)),
    ("遍了", A(-0.8)),
    ("都说了", A(-0.8)),
    ("等了", A(-0.6)),
    ("好久", A(-0.8)),
    ("半天", A(-0.5)),
    ("到现在", A(-0.6)),
    ("至今", A(-0.6)),
    ("天了", A(-0.6)),
    ("周了", A(-0.8)),
    ("个月了", A(-1.0)),
    ("好几天", A(-0.6)),
    ("延迟", A(-1.2)),
    ("延误", A(-1.2)),
    ("迟到", A(-1.0)),
    ("超时", A(-1.2)),
    ("不满", A(-1.8)),
    ("不满意", A(-2.0)),
    ("不能用", A(-1.5)),
    ("不了", A(-1.0)),
    ("受不了", A(-2.0)),
    ("不了了之", A(-1.5)),
    ("不进", A(-1.0)),
    ("不上", A(-0.8)),
    ("不开", A(-1.0)),
    ("收不到", A(-1.5)),
    ("查不到", A(-1.2)),
    ("找不到", A(-1.0)),
    ("等不到", A(-1.5)),
    ("联系不上", A(-1.5)),
    ("联系不到", A(-1.5)),
    ("必须", A(-0.5)),
    ("二手", A(-1.5)),
    ("使用痕迹", A(-1.5)),
    ("漏发", A(-1.5)),
    ("少发", A(-1.5)),
    ("发错", A(-1.5)),
    ("质量问题", A(-1.5)),
    ("报错", A(-1.2)),
    ("闪退", A(-1.5)),
    ("崩了", A(-1.5)),
    ("卡住", A(-1.0)),
    ("卡顿", A(-1.2)),
    ("卡死", A(-1.5)),
    ("故障", A(-1.5)),
    ("降价", A(-0.8)),
    ("扔", A(-0.8)),
    ("碎了", A(-1.5)),
    ("碎", A(-1.2)),
    ("尽快", A(-0.6)),
    ("立刻", A(-0.6)),
    ("立即", A(-0.5)),
    ("第三次", A(-1.0)),
    ("郁闷", A(-1.5)),
    ("心塞", A(-1.5)),
    ("伤心", A(-1.5)),
    ("难受", A(-1.2)),
    ("头疼", A(-1.0)),
    ("醉了", A(-1.5)),
    ("吐槽", A(-1.0)),
    ("委屈", A(-1.2)),
    ("欺负", A(-2.0)),
    ("霸王条款", A(-2.0)),
    ("套路", A(-1.5)),
    ("虚假宣传", A(-2.5)),
    ("虚假", A(-2.0)),
    ("误导", A(-1.5)),
    ("夸大", A(-1.2)),
    ("货不对板", A(-2.0)),
    ("以次充好", A(-2.5)),
    ("缺斤少两", A(-2.0)),
    ("翻新", A(-1.5)),
    ("过期", A(-2.0)),
    ("变质", A(-2.0)),
    ("发霉", A(-2.0)),
    ("漏水", A(-1.5)),
    ("不符", A(-1.5)),
    ("不给", A(-1.0)),
    ("没货", A(-0.8)),
    ("没办法", A(-0.8)),
    ("不懂", A(-1.0)),
    ("听不懂", A(-1.2)),
    ("看不懂", A(-1.0)),
    ("机器人", A(-0.6)),
    ("复制粘贴", A(-1.5)),
    ("套话", A(-1.2)),
    ("只到了", A(-1.0)),
    ("只收到", A(-1.0)),
    ("只发了", A(-1.0)),
    ("有味", A(-1.0)),
    ("味道大", A(-1.2)),
    ("味道很大", A(-1.5)),
    ("开胶", A(-1.5)),
    ("脱胶", A(-1.5)),
    ("开裂", A(-1.5)),
    ("断了", A(-1.5)),
    ("掉漆", A(-1.2)),
    ("生锈", A(-1.2)),
    ("变形", A(-1.2)),
    ("缩水", A(-1.2)),
    ("褪色", A(-1.2)),
    ("洞", N(-1.0)),
    // ---- Chinese: evaluative negatives (flip under negation) ----
    ("差", N(-1.5)),
    ("好差", N(-2.0)),
    ("慢", N(-1.0)),
    ("贵", N(-0.8)),
    ("难用", N(-1.8)),
    ("难看", N(-1.5)),
    ("难吃", N(-1.5)),
    ("不好", N(-1.2)),
    ("不行", N(-1.3)),
    ("不对", N(-1.0)),
    ("不舒服", N(-1.2)),
    ("不合适", N(-1.0)),
    ("不靠谱", N(-1.8)),
    ("不专业", N(-1.5)),
    ("不值", N(-1.2)),
    ("不值得", N(-1.2)),
    ("不爽", N(-1.8)),
    ("不开心", N(-1.5)),
    ("不高兴", N(-1.5)),
    ("坏", N(-1.2)),
    ("坏了", N(-1.5)),
    ("损坏", N(-1.5)),
    ("破损", N(-1.5)),
    ("破了", N(-1.2)),
    ("破", N(-0.8)),
    ("烂", N(-1.8)),
    ("划痕", N(-1.2)),
    ("瑕疵", N(-1.2)),
    ("色差", N(-1.0)),
    ("掉色", N(-1.2)),
    ("起球", N(-1.2)),
    ("开线", N(-1.2)),
    ("异味", N(-1.2)),
    ("臭", N(-1.2)),
    ("脏", N(-1.2)),
    ("偏小", N(-0.6)),
    ("偏大", N(-0.6)),
    ("漏", N(-1.0)),
    ("少了", N(-1.0)),
    ("错了", N(-1.0)),
    ("错", N(-0.8)),
    ("问题", N(-0.6)),
    ("有问题", N(-1.0)),
    ("毛病", N(-1.0)),
    ("失败", N(-1.0)),
    ("久", N(-0.6)),
    ("一般", N(-0.5)),
    ("一般般", N(-0.8)),
    ("线头", N(-1.0)),
    ("差劲", N(-2.0)),
    ("糟糕", N(-2.0)),
    ("糟透了", N(-2.5)),
    ("不灵", N(-1.0)),
    ("不准", N(-1.0)),
    // ---- Chinese: expectations (neutral, negative when negated) ----
    ("收到", E(0.2, -1.5)),
    ("收到了", E(0.4, -1.5)),
    ("收货", E(0.0, -1.2)),
    ("签收", E(0.0, -1.0)),
    ("到", E(0.0, -1.3)),
    ("到了", E(0.3, -1.3)),
    ("到账", E(0.3, -1.5)),
    ("到货", E(0.3, -1.5)),
    ("发货", E(0.0, -1.5)),
    ("发", E(0.0, -1.2)),
    ("退", E(0.0, -1.2)),
    ("回复", E(0.0, -1.5)),
    ("回", E(0.0, -1.2)),
    ("理", E(0.0, -1.2)),
    ("管", E(0.0, -1.5)),
    ("处理", E(0.0, -1.5)),
    ("解决", E(0.5, -1.5)),
    ("联系", E(0.0, -1.0)),
    ("通知", E(0.0, -1.2)),
    ("告诉", E(0.0, -1.2)),
    ("更新", E(0.0, -1.2)),
    ("动", E(0.0, -1.2)),
    ("反应", E(0.0, -1.2)),
    ("能用", E(0.3, -1.5)),
    ("一样", E(0.3, -1.2)),
    ("一致", E(0.8, -1.5)),
    // ---- Chinese: positives ----
    ("好", P(0.8)),
    ("不错", P(1.2)),
    ("还不错", P(1.0)),
    ("还行", P(0.5)),
    ("还可以", P(0.8)),
    ("可以", P(0.3)),
    ("满意", P(1.5)),
    ("喜欢", P(1.5)),
    ("爱了", P(2.0)),
    ("好评", P(2.0)),
    ("五星", P(1.5)),
    ("推荐", P(1.2)),
    ("回购", P(1.5)),
    ("还会来", P(1.5)),
    ("还会再来", P(1.5)),
    ("给力", P(1.8)),
    ("靠谱", P(1.2)),
    ("专业", P(1.0)),
    ("耐心", P(1.2)),
    ("贴心", P(1.5)),
    ("用心", P(1.2)),
    ("细心", P(1.2)),
    ("热情", P(1.2)),
    ("周到", P(1.2)),
    ("认真", P(0.8)),
    ("及时", P(1.0)),
    ("很快", P(1.2)),
    ("快", P(0.6)),
    ("神速", P(2.0)),
    ("迅速", P(1.2)),
    ("超值", P(1.5)),
    ("划算", P(1.2)),
    ("实惠", P(1.2)),
    ("值得", P(1.2)),
    ("值", P(0.8)),
    ("物超所值", P(2.0)),
    ("性价比高", P(1.5)),
    ("开心", P(1.5)),
    ("高兴", P(1.5)),
    ("感动", P(1.5)),
    ("放心", P(1.0)),
    ("舒服", P(1.2)),
    ("合身", P(1.2)),
    ("合适", P(0.8)),
    ("好看", P(1.3)),
    ("漂亮", P(1.3)),
    ("好用", P(1.5)),
    ("好吃", P(1.2)),
    ("正品", P(0.5)),
    ("辛苦了", P(1.2)),
    ("辛苦", P(0.6)),
    ("帮了大忙", P(1.5)),
    ("解决了", P(1.5)),
    ("没问题", P(1.0)),
    ("哈哈", P(0.8)),
    ("么么哒", P(1.5)),
    ("赞", P(1.5)),
    ("点赞", P(1.5)),
    ("棒", P(1.5)),
    ("优秀", P(1.5)),
    ("惊喜", P(1.5)),
    ("满分", P(1.5)),
    ("物美价廉", P(2.0)),
    ("完好", P(1.0)),
    ("没毛病", P(1.2)),
    ("没得说", P(1.5)),
    ("安心", P(1.0)),
    ("顺利", P(1.0)),
    ("方便", P(0.8)),
    ("准时", P(1.0)),
    ("良心", P(1.5)),
    ("负责", P(1.2)),
    ("超出预期", P(1.8)),
    ("超预期", P(1.8)),
    ("谢谢", S(1.0)),
    ("谢了", S(0.8)),
    ("感谢", S(1.2)),
    ("多谢", S(1.0)),
    ("完美", S(2.0)),
    ("太好了", S(2.0)),
    ("真好", S(1.5)),
    ("好棒", S(2.0)),
    ("真棒", S(1.8)),
    ("厉害", S(1.2)),
    ("好极了", S(2.0)),
    // ---- Emoji and emoticons ----
    ("😡", A(-2.5)),
    ("😠", A(-2.0)),
    ("🤬", A(-3.0)),
    ("😤", A(-1.5)),
    ("💢", A(-2.0)),
    ("👎", A(-2.0)),
    ("🙄", A(-1.5)),
    ("😒", A(-1.5)),
    ("😞", A(-1.5)),
    ("😭", A(-1.5)),
    ("😢", A(-1.2)),
    ("😔", A(-1.0)),
    ("😓", A(-0.8)),
    ("💔", A(-1.5)),
    ("😊", P(1.0)),
    ("😀", P(1.0)),
    ("😄", P(1.0)),
    ("😁", P(1.0)),
    ("🥰", P(2.0)),
    ("😍", P(2.0)),
    ("👍", P(1.5)),
    ("👌", P(1.0)),
    ("💯", P(1.5)),
    ("❤", P(1.5)),
    ("🙏", P(0.5)),
    (":)", P(1.0)),
    (":-)", P(1.0)),
    (":(", A(-1.5)),
    (":-(", A(-1.5)),
    // ---- English: negators ----
    ("not", Neg(1.0)),
    ("no", Nn(1.0)),
    ("never", Neg(1.0)),
    ("don't", Neg(1.0)),
    ("dont", Neg(1.0)),
    ("doesn't", Neg(1.0)),
    ("doesnt", Neg(1.0)),
    ("didn't", Neg(1.0)),
    ("didnt", Neg(1.0)),
    ("isn't", Neg(1.0)),
    ("isnt", Neg(1.0)),
    ("wasn't", Neg(1.0)),
    ("wasnt", Neg(1.0)),
    ("aren't", Neg(1.0)),
    ("arent", Neg(1.0)),
    ("weren't", Neg(1.0)),
    ("won't", Neg(1.0)),
    ("wont", Neg(1.0)),
    ("can't", Neg(1.0)),
    ("cant", Neg(1.0)),
    ("cannot", Neg(1.0)),
    ("couldn't", Neg(1.0)),
    ("couldnt", Neg(1.0)),
    ("shouldn't", Neg(1.0)),
    ("wouldn't", Neg(1.0)),
    ("haven't", Neg(1.0)),
    ("havent", Neg(1.0)),
    ("hasn't", Neg(1.0)),
    ("hasnt", Neg(1.0)),
    ("hadn't", Neg(1.0)),
    ("without", Nn(1.0)),
    ("nobody", Nn(1.0)),
    ("no one", Nn(1.0)),
    ("nothing", Nn(1.0)),
    ("neither", Nn(1.0)),
    ("nor", Nn(1.0)),
    ("no longer", Neg(1.0)),
    ("hardly", Neg(0.7)),
    ("barely", Neg(0.7)),
    ("not really", Neg(0.7)),
    ("not that", Neg(0.6)),
    ("not so", Neg(0.7)),
    ("not very", Neg(0.7)),
    ("not too", Neg(0.6)),
    ("not sure", Z),
    ("don't know", Z),
    ("do not know", Z),
    ("not at all", Z),
    ("doesn't matter", Z),
    ("never mind", Z),
    ("don't worry", P(0.5)),
    ("if", H),
    ("in case", H),
    // ---- English: intensifiers and diminishers ----
    ("very", I(1.5)),
    ("so", I(1.4)),
    ("extremely", I(1.8)),
    ("really", I(1.3)),
    ("super", I(1.5)),
    ("totally", I(1.5)),
    ("absolutely", I(1.6)),
    ("completely", I(1.5)),
    ("incredibly", I(1.7)),
    ("too", I(1.3)),
    ("highly", I(1.4)),
    ("truly", I(1.3)),
    ("damn", I(1.5)),
    ("bloody", I(1.5)),
    ("freaking", I(1.6)),
    ("such", I(1.3)),
    ("quite", I(1.1)),
    ("pretty", I(1.15)),
    ("way", I(1.3)),
    ("still", I(1.2)),
    ("most", I(1.3)),
    ("utterly", I(1.7)),
    ("seriously", I(1.3)),
    ("definitely", I(1.3)),
    ("a bit", I(0.6)),
    ("a little", I(0.6)),
    ("a little bit", I(0.5)),
    ("slightly", I(0.6)),
    ("somewhat", I(0.7)),
    ("kind of", I(0.7)),
    ("kinda", I(0.7)),
    ("sort of", I(0.7)),
    // ---- English: contrast ----
    ("but", C),
    ("however", C),
    ("though", C),
    ("although", C),
    // ---- English: neutral blockers ----
    ("good morning", Z),
    ("good afternoon", Z),
    ("good evening", Z),
    ("good night", Z),
    ("good day", Z),
    ("best regards", Z),
    ("no thanks", Z),
    ("no thank you", Z),
    ("not only", Z),
    ("no idea", Z),
    ("no way", Z),
    ("of course", Z),
    ("sorry", Z),
    ("wait", Z),
    ("no worries", P(1.0)),
    ("no rush", P(0.5)),
    ("no problem", P(1.0)),
    ("no problems", P(1.0)),
    ("not a problem", P(1.0)),
    // ---- English: complaints and anger ----
    ("refund", A(-0.4)),
    ("refunds", A(-0.4)),
    ("want a refund", A(-1.2)),
    ("full refund", A(-1.0)),
    ("money back", A(-1.2)),
    ("my money back", A(-1.5)),
    ("scam*", A(-3.0)),
    ("fraud*", A(-3.0)),
    ("fake", A(-2.0)),
    ("fakes", A(-2.0)),
    ("counterfeit", A(-2.5)),
    ("knockoff", A(-2.0)),
    ("rip off", A(-2.5)),
    ("rip-off", A(-2.5)),
    ("ripoff", A(-2.5)),
    ("ripped off", A(-2.5)),
    ("ripped me off", A(-2.5)),
    ("cheat*", A(-2.5)),
    ("lie", A(-2.0)),
    ("lied", A(-2.0)),
    ("lies", A(-2.0)),
    ("lying", A(-2.0)),
    ("liar", A(-2.5)),
    ("liars", A(-2.5)),
    ("worst", A(-2.5)),
    ("never again", A(-2.5)),
    ("thanks for nothing", A(-2.5)),
    ("waste of money", A(-2.5)),
    ("waste of time", A(-2.0)),
    ("waste", A(-1.5)),
    ("wasted", A(-1.5)),
    ("useless", A(-2.0)),
    ("garbage", A(-2.5)),
    ("trash", A(-2.5)),
    ("junk", A(-2.0)),
    ("rubbish", A(-2.5)),
    ("crap", A(-2.0)),
    ("crappy", A(-2.0)),
    ("shit*", A(-2.5)),
    ("bullshit", A(-3.0)),
    ("fuck*", A(-2.5)),
    ("wtf", A(-2.5)),
    ("what the hell", A(-2.0)),
    ("the hell", A(-1.5)),
    ("ridiculous", A(-2.0)),
    ("unacceptable", A(-2.5)),
    ("outrageous", A(-2.5)),
    ("pathetic", A(-2.5)),
    ("a joke", A(-1.5)),
    ("nonsense", A(-2.0)),
    ("incompetent", A(-2.5)),
    ("unprofessional", A(-2.0)),
    ("rude", A(-2.0)),
    ("ignored", A(-1.5)),
    ("ignoring", A(-1.5)),
    ("complain*", A(-1.5)),
    ("report", A(-0.8)),
    ("chargeback", A(-2.5)),
    ("dispute", A(-1.5)),
    ("lawyer", A(-2.0)),
    ("sue", A(-2.0)),
    ("legal action", A(-2.5)),
    ("consumer protection", A(-2.0)),
    ("angry", A(-2.0)),
    ("furious", A(-2.5)),
    ("mad", A(-1.5)),
    ("pissed", A(-2.5)),
    ("upset", A(-1.5)),
    ("annoy*", A(-1.5)),
    ("frustrat*", A(-1.8)),
    ("disappoint*", A(-1.8)),
    ("unhappy", A(-2.0)),
    ("dissatisfied", A(-2.0)),
    ("fed up", A(-2.0)),
    ("sick of", A(-2.0)),
    ("had enough", A(-2.0)),
    ("hate", A(-2.0)),
    ("regret", A(-1.8)),
    ("another", A(-0.5)),
    ("again", A(-0.3)),
    ("yet again", A(-1.0)),
    ("still waiting", A(-1.5)),
    ("waiting", A(-0.6)),
    ("been waiting", A(-1.2)),
    ("waited", A(-0.8)),
    ("forever", A(-1.2)),
    ("delay*", A(-1.2)),
    ("lost", A(-1.2)),
    ("losing", A(-1.2)),
    ("stuck", A(-1.2)),
    ("missing", A(-1.2)),
    ("stolen", A(-1.5)),
    ("charged twice", A(-2.0)),
    ("double charged", A(-2.0)),
    ("overcharged", A(-2.0)),
    ("fell apart", A(-2.0)),
    ("came apart", A(-1.8)),
    ("falling apart", A(-2.0)),
    ("stopped working", A(-1.8)),
    ("crash*", A(-1.5)),
    ("not what i ordered", A(-1.5)),
    ("nothing like", A(-1.2)),
    ("what's going on", A(-1.0)),
    ("what is going on", A(-1.0)),
    ("anyone there", A(-0.8)),
    ("oh great", A(-1.5)),
    ("just great", A(-1.5)),
    ("yeah right", A(-1.5)),
    ("so much for", A(-1.5)),
    ("times", A(-0.3)),
    ("days", A(-0.2)),
    ("week", A(-0.3)),
    ("weeks", A(-0.5)),
    ("months", A(-0.5)),
    ("still nothing", A(-1.5)),
    ("suck*", A(-2.0)),
    ("disgusting", A(-2.5)),
    ("can't believe", A(-1.0)),
    ("cannot believe", A(-1.0)),
    ("immediately", A(-0.8)),
    ("asap", A(-0.6)),
    ("right now", A(-0.8)),
    ("urgent", A(-0.6)),
    ("hurry up", A(-1.0)),
    ("refund me", A(-1.0)),
    ("second time", A(-0.8)),
    ("third time", A(-1.2)),
    ("meh", A(-0.8)),
    ("misleading", A(-1.5)),
    ("false advertising", A(-2.5)),
    ("expired", A(-2.0)),
    ("moldy", A(-2.0)),
    ("sad", A(-1.0)),
    ("worried", A(-0.8)),
    ("concerned", A(-0.6)),
    ("love how", A(-1.5)),
    ("marked delivered", A(-0.5)),
    ("marked as delivered", A(-0.5)),
    ("says delivered", A(-0.5)),
    ("shows delivered", A(-0.5)),
    ("promised", A(-0.8)),
    ("promising", A(-0.5)),
    ("broke", A(-1.5)),
    ("crushed", A(-1.5)),
    ("dented", A(-1.2)),
    ("instead of", A(-1.0)),
    ("different", A(-0.8)),
    ("different from", A(-1.2)),
    ("fail*", A(-1.2)),
    ("done with", A(-1.5)),
    ("i'm done", A(-1.5)),
    ("stop", A(-0.8)),
    ("automated", A(-0.8)),
    ("same answer", A(-1.0)),
    ("copy paste", A(-1.5)),
    ("copy and paste", A(-1.5)),
    ("bot", A(-0.6)),
    ("robot", A(-0.6)),
    ("charged me", A(-0.8)),
    ("one star", A(-2.0)),
    ("1 star", A(-2.0)),
    ("一星", A(-2.0)),
    // ---- English: evaluative negatives ----
    ("bad", N(-1.5)),
    ("poor", N(-1.5)),
    ("terribl*", N(-2.0)),
    ("horribl*", N(-2.0)),
    ("awful", N(-2.0)),
    ("worse", N(-1.5)),
    ("slow", N(-1.2)),
    ("late", N(-1.0)),
    ("expensive", N(-0.8)),
    ("overpriced", N(-1.5)),
    ("broken", N(-1.5)),
    ("damaged", N(-1.5)),
    ("cracked", N(-1.5)),
    ("defective", N(-1.8)),
    ("faulty", N(-1.8)),
    ("dirty", N(-1.2)),
    ("stain*", N(-1.0)),
    ("scratch*", N(-1.0)),
    ("torn", N(-1.2)),
    ("ripped", N(-1.2)),
    ("wrong", N(-1.0)),
    ("incorrect", N(-1.0)),
    ("error", N(-1.0)),
    ("bug", N(-1.0)),
    ("glitch", N(-1.0)),
    ("problem", N(-0.7)),
    ("problems", N(-0.7)),
    ("issue", N(-0.6)),
    ("issues", N(-0.6)),
    ("too small", N(-0.8)),
    ("too big", N(-0.8)),
    ("too tight", N(-0.8)),
    ("mediocre", N(-1.0)),
    ("so-so", N(-0.5)),
    ("soaked", N(-1.2)),
    ("wet", N(-0.8)),
    ("leak*", N(-1.2)),
    ("invalid", N(-1.2)),
    ("smell*", N(-0.8)),
    ("burnt", N(-1.0)),
    // ---- English: expectations ----
    ("received", E(0.2, -1.5)),
    ("receive", E(0.0, -1.5)),
    ("got", E(0.2, -1.2)),
    ("get", E(0.0, -1.2)),
    ("arrived", E(0.3, -1.5)),
    ("arrive", E(0.0, -1.5)),
    ("shipped", E(0.0, -1.5)),
    ("ship", E(0.0, -1.2)),
    ("delivered", E(0.2, -1.5)),
    ("deliver", E(0.0, -1.2)),
    ("sent", E(0.0, -1.2)),
    ("work", E(0.2, -1.5)),
    ("works", E(0.3, -1.5)),
    ("working", E(0.3, -1.5)),
    ("worked", E(0.5, -1.5)),
    ("fixed", E(1.0, -1.5)),
    ("solved", E(1.2, -1.5)),
    ("resolved", E(1.2, -1.5)),
    ("sorted", E(1.0, -1.2)),
    ("answer", E(0.0, -1.5)),
    ("answering", E(0.0, -1.5)),
    ("answered", E(0.3, -1.5)),
    ("reply", E(0.0, -1.5)),
    ("replied", E(0.3, -1.5)),
    ("respond", E(0.0, -1.5)),
    ("responded", E(0.3, -1.5)),
    ("response", E(0.0, -1.2)),
    ("help", E(0.2, -1.5)),
    ("helped", E(0.8, -1.5)),
    ("updated", E(0.0, -1.2)),
    ("moved", E(0.0, -1.2)),
    ("refunded", E(0.6, -1.5)),
    ("fit", E(0.5, -1.2)),
    ("fits", E(0.8, -1.2)),
    ("match", E(0.0, -1.0)),
    ("care", E(0.0, -1.5)),
    ("cares", E(0.0, -1.5)),
    ("told", E(0.0, -1.0)),
    ("telling", E(0.0, -1.0)),
    ("notified", E(0.0, -1.0)),
    ("went through", E(0.3, -1.5)),
    ("applied", E(0.0, -1.2)),
    ("as described", E(0.8, -1.5)),
    // ---- English: positives ----
    ("good", P(1.0)),
    ("appreciate", P(1.5)),
    ("appreciated", P(1.5)),
    ("excellent", P(2.0)),
    ("perfectly", P(1.5)),
    ("love", P(1.5)),
    ("loved", P(1.5)),
    ("love it", P(2.0)),
    ("happy", P(1.5)),
    ("glad", P(1.2)),
    ("pleased", P(1.5)),
    ("satisfied", P(1.5)),
    ("helpful", P(1.5)),
    ("fast", P(1.0)),
    ("quick", P(1.0)),
    ("quickly", P(0.8)),
    ("speedy", P(1.0)),
    ("prompt", P(1.0)),
    ("recommend*", P(1.5)),
    ("beautiful", P(1.5)),
    ("comfortable", P(1.2)),
    ("worth", P(1.0)),
    ("worth it", P(1.5)),
    ("better", P(0.8)),
    ("better than expected", P(1.5)),
    ("better than i expected", P(1.5)),
    ("best", P(1.8)),
    ("impressed", P(1.2)),
    ("smooth", P(1.0)),
    ("easy", P(0.8)),
    ("cute", P(1.0)),
    ("lovely", P(1.5)),
    ("kind", P(1.0)),
    ("patient", P(1.0)),
    ("patience", P(0.8)),
    ("friendly", P(1.2)),
    ("professional", P(1.0)),
    ("reliable", P(1.2)),
    ("cool", P(0.8)),
    ("fine", P(0.3)),
    ("grateful", P(1.5)),
    ("pleasant", P(1.2)),
    ("sweet", P(1.0)),
    ("good job", P(1.5)),
    ("well packed", P(1.0)),
    ("well packaged", P(1.0)),
    ("high quality", P(1.2)),
    ("top notch", P(1.5)),
    ("solid", P(0.8)),
    ("legit", P(1.0)),
    ("five stars", P(1.5)),
    ("5 stars", P(1.5)),
    ("would buy", P(1.0)),
    ("cheers", P(0.8)),
    ("exactly what i needed", P(1.5)),
    ("exactly what i wanted", P(1.5)),
    ("buy again", P(1.5)),
    ("can't wait", P(1.5)),
    ("cannot wait", P(1.5)),
    ("thanks", S(1.0)),
    ("thank you", S(1.0)),
    ("thx", S(1.0)),
    ("thanks a lot", S(1.0)),
    ("many thanks", S(1.0)),
    ("great", S(1.5)),
    ("nice", S(1.0)),
    ("perfect", S(2.0)),
    ("awesome", S(2.0)),
    ("amazing", S(2.0)),
    ("wonderful", S(2.0)),
    ("fantastic", S(2.0)),
    ("brilliant", S(1.8)),
    ("well done", S(1.5)),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicon_terms_are_folded_and_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for &(raw, _) in LEXICON {
            assert!(!raw.is_empty(), "empty term");
            let folded: String = raw.chars().map(fold).collect();
            assert_eq!(folded, raw, "term not in folded form: {raw}");
            assert!(seen.insert(raw), "duplicate term: {raw}");
        }
    }
}
