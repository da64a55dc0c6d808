//! The built-in phrase lists, `data/human_request_phrases.tsv` (its format is documented at its
//! top), parsed once at first use into the patterns and indices every matcher shares.

use std::sync::LazyLock;

use super::units::{Pattern, Unit};
use crate::data::{entries, LineError};

/// The lists as shipped, embedded at compile time.
const PHRASES_TSV: &str = include_str!("../../data/human_request_phrases.tsv");

/// The built-in lists, parsed on first use.
///
/// The data is part of the binary, not input: a line that does not parse is a programmer error,
/// which `built_in_lists_parse` catches in `cargo test` before it can ship. Crashing here rather
/// than matching with a partial list keeps a broken table from reaching customers.
pub(super) static BUILT_IN: LazyLock<Rules> = LazyLock::new(|| match Rules::parse(PHRASES_TSV) {
    Ok(rules) => rules,
    Err(e) => panic!("data/human_request_phrases.tsv: {e}"),
});

/// Everything the data file defines, ready for matching. Built once; every matcher borrows it.
#[derive(Debug, Default)]
pub(super) struct Rules {
    /// The built-in request phrases as written, for [`super::HumanRequestMatcher::with_defaults`].
    pub(super) requests: Vec<&'static str>,
    /// Longer nouns that contain a phrase but are not requests.
    pub(super) exclusions: Vec<Pattern>,
    /// Phrases that cancel a following request.
    pub(super) negators: Vec<Pattern>,
    /// Negator indices sorted by the hash of their last unit.
    pub(super) negator_index: Vec<(u64, u32)>,
    /// Single-unit fillers allowed between a negator and a hit, sorted by hash.
    pub(super) fillers: Vec<Unit>,
    /// Question words that turn a following negator into a demand.
    pub(super) questions: Vec<Pattern>,
}

impl Rules {
    /// Parses the data file. A line that is not a comment, blank or a well-formed entry is an
    /// error naming it, never skipped: an unknown list, a phrase that folds to nothing, a
    /// filler of more than one unit, or a phrase repeated within its list.
    fn parse(data: &'static str) -> Result<Rules, LineError> {
        let mut rules = Rules::default();
        for (line, text) in entries(data) {
            rules
                .add(text)
                .map_err(|reason| LineError { line, reason })?;
        }
        rules.negator_index = rules
            .negators
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((n.units.last()?.hash, i as u32)))
            .collect();
        rules.negator_index.sort_unstable();
        rules
            .fillers
            .sort_unstable_by(|a, b| a.hash.cmp(&b.hash).then_with(|| a.text.cmp(&b.text)));
        Ok(rules)
    }

    /// One entry line: `list<TAB>phrase`.
    fn add(&mut self, text: &'static str) -> Result<(), String> {
        let Some((list, phrase)) = text.split_once('\t') else {
            return Err("expected list<TAB>phrase".into());
        };
        let pattern = Pattern::parse(phrase)
            .ok_or_else(|| format!("phrase {phrase:?} has no letter, digit or symbol"))?;
        let patterns = match list {
            "request" => {
                // Kept as written: `HumanRequestMatcher::new` folds it like a tenant's phrase.
                if self
                    .requests
                    .iter()
                    .any(|p| Pattern::parse(p).as_ref() == Some(&pattern))
                {
                    return Err(format!("{list} {phrase:?} repeats an earlier one"));
                }
                self.requests.push(phrase);
                return Ok(());
            }
            "filler" => return self.add_filler(pattern, phrase),
            "exclusion" => &mut self.exclusions,
            "negator" => &mut self.negators,
            "question" => &mut self.questions,
            _ => return Err(format!("unknown list {list:?}")),
        };
        if patterns.contains(&pattern) {
            return Err(format!("{list} {phrase:?} repeats an earlier one"));
        }
        patterns.push(pattern);
        Ok(())
    }

    fn add_filler(&mut self, pattern: Pattern, phrase: &str) -> Result<(), String> {
        let [unit] = &*pattern.units else {
            return Err(format!("filler {phrase:?} is not exactly one unit"));
        };
        if self.fillers.contains(unit) {
            return Err(format!("filler {phrase:?} repeats an earlier one"));
        }
        self.fillers.push(unit.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(list: &str) -> usize {
        entries(PHRASES_TSV)
            .filter(|(_, l)| l.split_once('\t').is_some_and(|(k, _)| k == list))
            .count()
    }

    #[test]
    fn built_in_lists_parse() {
        let rules = Rules::parse(PHRASES_TSV).unwrap_or_else(|e| panic!("{e}"));
        let all = entries(PHRASES_TSV).count();
        assert_eq!(rules.requests.len(), count("request"));
        assert_eq!(rules.exclusions.len(), count("exclusion"));
        assert_eq!(rules.negators.len(), count("negator"));
        assert_eq!(rules.negator_index.len(), rules.negators.len());
        assert_eq!(rules.fillers.len(), count("filler"));
        assert_eq!(rules.questions.len(), count("question"));
        let sum = rules.requests.len()
            + rules.exclusions.len()
            + rules.negators.len()
            + rules.fillers.len()
            + rules.questions.len();
        assert_eq!(sum, all, "every entry line is in a list");
        assert!(rules.requests.contains(&"转人工"));
    }

    #[test]
    fn a_malformed_line_is_an_error_naming_it() {
        for (data, line, reason) in [
            ("request 转人工\n", 1, "expected list<TAB>phrase"),
            ("# c\nrequests\t转人工\n", 2, "unknown list \"requests\""),
            (
                "request\t！！\n",
                1,
                "phrase \"！！\" has no letter, digit or symbol",
            ),
            (
                "request\t\n",
                1,
                "phrase \"\" has no letter, digit or symbol",
            ),
            (
                "filler\t帮我\n",
                1,
                "filler \"帮我\" is not exactly one unit",
            ),
            (
                "filler\tme\nfiller\tME\n",
                2,
                "filler \"ME\" repeats an earlier one",
            ),
            (
                "negator\tdont\n\nnegator\tdon't\n",
                3,
                "negator \"don't\" repeats an earlier one",
            ),
            (
                "request\thuman\nrequest\tＨuman\n",
                2,
                "request \"Ｈuman\" repeats an earlier one",
            ),
        ] {
            let want = LineError {
                line,
                reason: reason.to_string(),
            };
            assert_eq!(Rules::parse(data).err(), Some(want), "{data:?}");
        }
    }
}
