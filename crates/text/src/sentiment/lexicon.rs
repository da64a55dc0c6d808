//! The sentiment lexicon: `data/sentiment_lexicon.tsv` (its format is documented at its top),
//! parsed once at first use into a byte trie over folded UTF-8.
//!
//! Every scorer shares the one parsed lexicon behind an `Arc`, so building a scorer costs a
//! reference count and scoring walks the same trie the table-in-source version walked.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use crate::data::{entries, LineError};
use crate::fold::{fold, is_ignorable};

/// The lexicon as shipped, embedded at compile time.
const LEXICON_TSV: &str = include_str!("../../data/sentiment_lexicon.tsv");

/// The built-in lexicon, parsed on first use.
///
/// The data is part of the binary, not input: a line that does not parse is a programmer error,
/// which `built_in_lexicon_parses` catches in `cargo test` before it can ship. Crashing here
/// rather than scoring with a partial lexicon keeps a broken table from reaching customers.
pub(super) static BUILT_IN: LazyLock<Arc<Lexicon>> =
    LazyLock::new(|| match Lexicon::parse(LEXICON_TSV) {
        Ok(lexicon) => Arc::new(lexicon),
        Err(e) => panic!("data/sentiment_lexicon.tsv: {e}"),
    });

/// What a lexicon term does to the running score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
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

impl Kind {
    /// The kind named in the data file's second column, with its weights.
    fn parse(name: &str, weights: &[f32]) -> Result<Kind, String> {
        let kind = match (name, weights) {
            ("praise", &[w]) => term(w, -0.8 * w, false),
            ("sarcastic", &[w]) => term(w, -0.8 * w, true),
            ("negative", &[w]) => term(w, -0.4 * w, false),
            ("complaint", &[w]) => term(w, 0.8 * w, false),
            ("expect", &[plain, negated]) => term(plain, negated, false),
            ("negator", &[factor]) => Kind::Negator { factor, verb: true },
            ("negator-silent", &[factor]) => Kind::Negator {
                factor,
                verb: false,
            },
            ("if", &[]) => Kind::Hypothetical,
            ("mild", &[w]) => Kind::Mild(w),
            ("intensifier", &[m]) => Kind::Intensifier(m),
            ("contrast", &[]) => Kind::Contrast,
            ("neutral", &[]) => Kind::Neutral,
            ("question", &[]) => Kind::Question,
            _ => {
                return Err(format!(
                    "unknown kind {name:?} with {} weights",
                    weights.len()
                ))
            }
        };
        Ok(kind)
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

impl Entry {
    /// One data line: `term<TAB>kind[<TAB>weight...]`, the term in folded form.
    fn parse(line: &'static str) -> Result<Entry, String> {
        let mut fields = line.split('\t');
        let raw = fields.next().unwrap_or("");
        let name = fields.next().ok_or("expected term<TAB>kind")?;
        let weights = fields
            .map(|w| match w.parse::<f32>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(format!("weight {w:?} is not a finite number")),
            })
            .collect::<Result<Vec<f32>, String>>()?;
        let kind = Kind::parse(name, &weights)?;
        let prefix = raw.ends_with('*');
        let stem = raw.strip_suffix('*').unwrap_or(raw);
        let last = stem.chars().next_back().ok_or("empty term")?;
        if !stem.chars().map(fold).eq(stem.chars()) {
            return Err(format!("term {raw:?} is not in folded form"));
        }
        Ok(Entry {
            stem,
            kind,
            prefix,
            ends_word: last.is_ascii_alphanumeric(),
        })
    }
}

/// The lexicon as a byte trie over folded UTF-8, so finding the longest term
/// at a position costs one walk instead of a scan over candidate terms.
#[derive(Debug)]
pub(super) struct Lexicon {
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
    /// Parses the data file (format at its top). A line that is not a comment, blank or a
    /// well-formed entry is an error naming it, never skipped. A term may appear once.
    fn parse(data: &'static str) -> Result<Lexicon, LineError> {
        let mut parsed = Vec::new();
        let mut seen = BTreeMap::new();
        for (line, text) in entries(data) {
            let error = |reason: String| LineError { line, reason };
            let entry = Entry::parse(text).map_err(error)?;
            if let Some(first) = seen.insert((entry.stem, entry.prefix), line) {
                return Err(error(format!("duplicate of line {first}")));
            }
            parsed.push(entry);
        }
        Ok(Lexicon::build(parsed))
    }

    fn build(entries: Vec<Entry>) -> Lexicon {
        // Build with ordered maps, then flatten into sorted edge runs.
        let mut tmp: Vec<(BTreeMap<u8, u32>, Node)> = vec![Default::default()];
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
            // `parse` rejects duplicates, so every slot is filled once.
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
    pub(super) fn longest_match(&self, text: &str, start: usize) -> Option<(Kind, usize)> {
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
            .take_while(|&c| fold(c).is_ascii_alphanumeric())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_lexicon_parses() {
        let lexicon = Lexicon::parse(LEXICON_TSV).unwrap_or_else(|e| panic!("{e}"));
        let lines = LEXICON_TSV
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count();
        assert_eq!(lexicon.entries.len(), lines, "every entry line is a term");
        assert!(lexicon.entries.len() > 900);
    }

    #[test]
    fn each_kind_reads_its_weights() {
        let lexicon = Lexicon::parse("# c\n\ngood\tpraise\t1.5\nnot\tnegator\t1.0\n").unwrap();
        assert_eq!(lexicon.entries.len(), 2);
        assert_eq!(lexicon.entries[0].kind, term(1.5, -0.8 * 1.5, false));
        assert!(lexicon.entries[0].ends_word);
        let got = Lexicon::parse("disappoint*\texpect\t0.0\t-1.5\n").unwrap();
        assert!(got.entries[0].prefix);
        assert_eq!(got.entries[0].stem, "disappoint");
        assert_eq!(got.entries[0].kind, term(0.0, -1.5, false));
    }

    #[test]
    fn a_malformed_line_is_an_error_naming_it() {
        for (data, line, reason) in [
            ("good\n", 1, "expected term<TAB>kind"),
            (
                "# c\ngood\tpraise\n",
                2,
                "unknown kind \"praise\" with 0 weights",
            ),
            (
                "good\tpraise\t1.0\t2.0\n",
                1,
                "unknown kind \"praise\" with 2 weights",
            ),
            (
                "good\tpraised\t1.0\n",
                1,
                "unknown kind \"praised\" with 1 weights",
            ),
            (
                "good\tpraise\tx\n",
                1,
                "weight \"x\" is not a finite number",
            ),
            (
                "good\tpraise\tNaN\n",
                1,
                "weight \"NaN\" is not a finite number",
            ),
            ("\tneutral\n", 1, "empty term"),
            ("*\tneutral\n", 1, "empty term"),
            (
                "Good\tpraise\t1.0\n",
                1,
                "term \"Good\" is not in folded form",
            ),
            ("好\tpraise\t1\n\n好\tneutral\n", 3, "duplicate of line 1"),
        ] {
            let want = LineError {
                line,
                reason: reason.to_string(),
            };
            assert_eq!(Lexicon::parse(data).err(), Some(want), "{data:?}");
        }
    }
}
