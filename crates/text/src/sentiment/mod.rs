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
//! * Every character is folded on the fly by [`crate::fold::fold`]: full-width
//!   ASCII (U+FF01..U+FF5E) and the ideographic space become half-width,
//!   letters become lower case, curly apostrophes become `'`. Nothing is
//!   copied, so a call allocates nothing.
//! * Chinese has no spaces, so at every position the longest lexicon term that
//!   starts there wins (`不满意` beats `不满` beats `不`). Latin terms only
//!   start and end on word boundaries, so `bad` never fires inside `badge`; a
//!   space inside a term matches any run of whitespace. A term ending in `*`
//!   in the table matches any word with that prefix (`disappoint*`).
//! * The terms and their weights live in `data/sentiment_lexicon.tsv` (format
//!   at its top), embedded in the binary and parsed once. Terms carry a
//!   weight, roughly: mild ±0.5, clear ±1.5, abusive or
//!   escalating (`骗子`, `12315`, `scam`, `chargeback`) around -2.5..-3.
//! * A negator (`不`, `没`, `别`, `not`, `never`, `don't`, ...) changes the next
//!   sentiment term within three words or CJK characters, and never across a
//!   clause break ([`crate::fold::is_clause_break`]: `,` `.` `;` `:` `!` `?`
//!   `~`, a line break, and their CJK forms). Evaluative words
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

mod acc;
mod lexicon;

use std::sync::Arc;

use self::acc::Acc;
use self::lexicon::{Lexicon, BUILT_IN};
use crate::fold::{fold, is_clause_break, is_ignorable};

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
/// The lexicon (`data/sentiment_lexicon.tsv`) is parsed once, at the first
/// [`LexiconScorer::new`], and every scorer shares it behind an `Arc`, so
/// building or cloning a scorer is cheap. Scoring allocates nothing.
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
    /// A scorer with the built-in Chinese and English lexicon.
    pub fn new() -> Self {
        LexiconScorer {
            lexicon: Arc::clone(&BUILT_IN),
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
                acc.word(caps);
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
