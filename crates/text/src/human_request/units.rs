//! Text as the matcher reads it: a sequence of units (a CJK character, an emoji, or a word of a
//! space-separated script), each with the hash of its folded form and the clause it is in.
//! Phrases are split the same way, so matching compares unit sequences.

use crate::fold::{fold, is_clause_break, is_ignorable, is_separator};

/// One unit of a phrase: folded text and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unit {
    pub(super) hash: u64,
    pub(super) text: Box<str>,
}

/// A phrase, exclusion, negator or question word as a unit sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern {
    /// Never empty.
    pub(super) units: Box<[Unit]>,
}

impl Pattern {
    /// The phrase's units, or `None` if it folds to nothing (empty, punctuation only).
    pub(super) fn parse(phrase: &str) -> Option<Pattern> {
        let units: Vec<Unit> = Units::new(phrase)
            .map(|u| Unit {
                hash: u.hash,
                text: unit_chars(phrase, &u).collect::<String>().into_boxed_str(),
            })
            .collect();
        if units.is_empty() {
            None
        } else {
            Some(Pattern {
                units: units.into_boxed_slice(),
            })
        }
    }
}

/// One unit of the text being matched: a byte range of the original text,
/// the hash of its folded form, and the clause it is in.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TextUnit {
    pub(super) hash: u64,
    start: u32,
    end: u32,
    pub(super) clause: u32,
}

/// The text and its units, for comparisons against patterns.
pub(super) struct View<'a> {
    pub(super) text: &'a str,
    pub(super) units: &'a [TextUnit],
}

impl View<'_> {
    pub(super) fn matches_at(&self, i: usize, pattern: &[Unit]) -> bool {
        match self.units.get(i..i + pattern.len()) {
            Some(units) => units.iter().zip(pattern).all(|(u, p)| self.unit_is(u, p)),
            None => false,
        }
    }

    /// The hash is only a filter; the folded text is compared to be exact.
    pub(super) fn unit_is(&self, u: &TextUnit, p: &Unit) -> bool {
        u.hash == p.hash && unit_chars(self.text, u).eq(p.text.chars())
    }

    fn same_text(&self, a: &TextUnit, b: &TextUnit) -> bool {
        a.hash == b.hash && unit_chars(self.text, a).eq(unit_chars(self.text, b))
    }

    /// `要不要`, `用不用`, `需不需要`: the negator's first unit sits between
    /// two equal units, which makes a yes/no question, not a negation.
    pub(super) fn is_a_not_a(&self, start: usize) -> bool {
        start >= 1
            && start + 1 < self.units.len()
            && self.same_text(&self.units[start - 1], &self.units[start + 1])
    }
}

/// The folded characters of unit `u`, without apostrophes and invisible
/// characters: exactly the characters its hash was computed over.
fn unit_chars<'t>(text: &'t str, u: &TextUnit) -> impl Iterator<Item = char> + 't {
    text.get(u.start as usize..u.end as usize)
        .unwrap_or("")
        .chars()
        .map(fold)
        .filter(|&c| !is_apostrophe(c) && !is_ignorable(c))
}

/// Splits text into units (see the module docs), tracking clauses.
pub(super) struct Units<'a> {
    text: &'a str,
    pos: usize,
    clause: u32,
}

impl<'a> Units<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Units {
            text,
            pos: 0,
            clause: 0,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Dropped without separating anything.
    Invisible,
    /// Whitespace or punctuation; `true` if it also ends a clause.
    Separator(bool),
    /// Part of a space-separated word.
    Word,
    /// A unit on its own: CJK character, emoji, other symbol.
    Single,
}

fn classify(raw: char) -> Class {
    // Fast paths: the common CJK and ASCII letters need no table lookups.
    if ('\u{4E00}'..='\u{9FFF}').contains(&raw) {
        return Class::Single;
    }
    if raw.is_ascii_alphanumeric() {
        return Class::Word;
    }
    let c = fold(raw);
    if is_ignorable(c) {
        Class::Invisible
    } else if is_apostrophe(c) {
        // Inside a word it is dropped; elsewhere it only separates, and
        // `Units` decides which by looking at what follows.
        Class::Separator(false)
    } else if is_separator(c) {
        Class::Separator(is_clause_break(c))
    } else if c.is_alphanumeric() && !is_cjk(c) {
        Class::Word
    } else {
        Class::Single
    }
}

impl Iterator for Units<'_> {
    type Item = TextUnit;

    fn next(&mut self) -> Option<TextUnit> {
        loop {
            let rest = self.text.get(self.pos..)?;
            let raw = rest.chars().next()?;
            let start = self.pos;
            self.pos += raw.len_utf8();
            match classify(raw) {
                Class::Invisible => continue,
                Class::Separator(clause_break) => {
                    if clause_break {
                        self.clause = self.clause.saturating_add(1);
                    }
                    continue;
                }
                Class::Single => {
                    let hash = fold_hash(FNV_OFFSET, raw);
                    return Some(self.unit(start, hash));
                }
                Class::Word => {
                    let mut hash = fold_hash(FNV_OFFSET, raw);
                    let mut end = self.pos;
                    let rest = self.text.get(self.pos..).unwrap_or("");
                    for (j, c) in rest.char_indices() {
                        let class = classify(c);
                        if class == Class::Word {
                            hash = fold_hash(hash, c);
                        } else if !(class == Class::Invisible || is_apostrophe(fold(c))) {
                            break;
                        }
                        // Apostrophes and invisibles join the word; a trailing
                        // apostrophe ("agents'") is absorbed too.
                        end = self.pos + j + c.len_utf8();
                    }
                    self.pos = end;
                    return Some(self.unit(start, hash));
                }
            }
        }
    }
}

impl Units<'_> {
    fn unit(&self, start: usize, hash: u64) -> TextUnit {
        TextUnit {
            hash,
            // Text over 4 GiB is not a chat message; saturate rather than wrap.
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(self.pos).unwrap_or(u32::MAX),
            clause: self.clause,
        }
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Hashes the folded form of `raw` into `hash`.
fn fold_hash(hash: u64, raw: char) -> u64 {
    if raw.is_ascii() {
        fnv(hash, raw.to_ascii_lowercase())
    } else if ('\u{4E00}'..='\u{9FFF}').contains(&raw) {
        fnv(hash, raw)
    } else {
        fnv(hash, fold(raw))
    }
}

fn fnv(mut hash: u64, c: char) -> u64 {
    for b in (c as u32).to_le_bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// An apostrophe, after folding (which turns the curly ones into `'`).
fn is_apostrophe(c: char) -> bool {
    c == '\''
}

/// Scripts written without spaces between words: each character is a unit.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{2E80}'..='\u{2FFF}'
        | '\u{3005}'..='\u{3007}'
        | '\u{3040}'..='\u{30FF}'
        | '\u{3100}'..='\u{31FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FF66}'..='\u{FF9F}'
        | '\u{20000}'..='\u{3FFFF}')
}
