//! Accuracy of the built-in scorer on a labelled set, plus behaviour scenarios.
//!
//! Run with `cargo test --test sentiment -- --nocapture` to see the figures
//! and every misclassified message.

use proptest::prelude::*;
use switchboard_text::sentiment::{LexiconScorer, Polarity, SentimentScorer};

const DATA: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/sentiment_labelled.tsv"
));

/// Marks the start of the section written after the lexicon was frozen.
const HELD_OUT_MARKER: &str = "# held-out";

struct Sample {
    label: Polarity,
    text: &'static str,
    held_out: bool,
}

fn samples() -> Vec<Sample> {
    let mut held_out = false;
    let mut out = Vec::new();
    for (n, line) in DATA.lines().enumerate() {
        if line.trim() == HELD_OUT_MARKER {
            held_out = true;
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (label, text) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("line {}: no tab", n + 1));
        let label = match label {
            "neg" => Polarity::Negative,
            "neu" => Polarity::Neutral,
            "pos" => Polarity::Positive,
            other => panic!("line {}: bad label {other:?}", n + 1),
        };
        out.push(Sample {
            label,
            text,
            held_out,
        });
    }
    out
}

#[derive(Default)]
struct Tally {
    n: usize,
    binary_ok: usize,
    three_ok: usize,
}

impl Tally {
    fn add(&mut self, label: Polarity, got: Polarity) {
        self.n += 1;
        let is_neg = |p| p == Polarity::Negative;
        self.binary_ok += usize::from(is_neg(label) == is_neg(got));
        self.three_ok += usize::from(label == got);
    }

    fn binary(&self) -> f64 {
        self.binary_ok as f64 / self.n.max(1) as f64
    }

    fn three(&self) -> f64 {
        self.three_ok as f64 / self.n.max(1) as f64
    }
}

#[test]
fn accuracy_on_labelled_set() {
    let scorer = LexiconScorer::new();
    let samples = samples();
    let (mut tuning, mut held, mut all) = (Tally::default(), Tally::default(), Tally::default());
    for s in &samples {
        let score = scorer.score(s.text);
        let got = Polarity::of(score);
        if got != s.label {
            let part = if s.held_out { "held-out" } else { "tuning" };
            println!(
                "miss [{part}] want {:?} got {got:?} ({score:+.2}): {}",
                s.label, s.text
            );
        }
        if s.held_out { &mut held } else { &mut tuning }.add(s.label, got);
        all.add(s.label, got);
    }
    for (name, t) in [("tuning", &tuning), ("held-out", &held), ("all", &all)] {
        println!(
            "{name:>8}: n={:3}  binary (neg vs not) {:.3}  three-class {:.3}",
            t.n,
            t.binary(),
            t.three()
        );
    }
    assert!(
        samples.len() >= 240,
        "labelled set too small: {}",
        samples.len()
    );
    assert!(held.n >= 80, "held-out section too small: {}", held.n);
    assert!(
        all.binary() >= 0.85,
        "binary accuracy {:.3} < 0.85",
        all.binary()
    );
    assert!(
        held.binary() >= 0.80,
        "held-out binary accuracy {:.3} < 0.80",
        held.binary()
    );
}

fn polarity(text: &str) -> Polarity {
    Polarity::of(LexiconScorer::new().score(text))
}

fn score(text: &str) -> f32 {
    LexiconScorer::new().score(text)
}

#[test]
fn empty_and_neutral_text_scores_zero() {
    for text in [
        "",
        "   ",
        "\u{3000}",
        "请问这件有L码吗",
        "Do you ship to Canada?",
        "12345",
        "。。。",
    ] {
        assert_eq!(score(text), 0.0, "{text:?}");
    }
}

#[test]
fn polarity_cut_offs() {
    assert_eq!(Polarity::of(-0.21), Polarity::Negative);
    assert_eq!(Polarity::of(-0.2), Polarity::Neutral);
    assert_eq!(Polarity::of(0.0), Polarity::Neutral);
    assert_eq!(Polarity::of(0.2), Polarity::Neutral);
    assert_eq!(Polarity::of(0.21), Polarity::Positive);
    assert_eq!(Polarity::of(f32::NAN), Polarity::Neutral);
}

#[test]
fn negation_flips_or_keeps_the_next_term() {
    // Evaluative words flip.
    assert_eq!(polarity("满意"), Polarity::Positive);
    assert_eq!(polarity("不是很满意"), Polarity::Negative);
    assert_eq!(polarity("不太满意"), Polarity::Negative);
    assert_eq!(polarity("good"), Polarity::Positive);
    assert_eq!(polarity("not good"), Polarity::Negative);
    assert_eq!(polarity("not bad at all"), Polarity::Positive);
    assert_eq!(polarity("没问题"), Polarity::Positive);
    assert_eq!(polarity("no problem"), Polarity::Positive);
    // Expectations turn negative only when negated.
    assert_ne!(polarity("收到了"), Polarity::Negative);
    assert_eq!(polarity("还没收到"), Polarity::Negative);
    assert_eq!(polarity("It hasn't arrived"), Polarity::Negative);
    assert_eq!(polarity("it doesn't work"), Polarity::Negative);
    // Complaints stay negative.
    assert_eq!(polarity("别骗人了"), Polarity::Negative);
    assert_eq!(polarity("don't lie to me"), Polarity::Negative);
    // The window is short and stops at a clause break.
    assert_eq!(polarity("不，很满意"), Polarity::Positive);
    assert_eq!(polarity("no, I'm happy with it"), Polarity::Positive);
}

#[test]
fn intensifiers_and_diminishers_scale() {
    assert!(score("非常满意") > score("满意"));
    assert!(score("太差了") < score("差"));
    assert!(score("very disappointed") < score("disappointed"));
    assert!(score("extremely slow") < score("slow"));
    assert!(score("有点慢") > score("慢"));
    assert!(score("a bit slow") > score("slow"));
    // "not very good" is milder than "not good".
    assert!(score("not very good") > score("not good"));
}

#[test]
fn punctuation_amplifies() {
    assert!(score("太慢了！！！") < score("太慢了"));
    assert!(score("thanks!!!") > score("thanks"));
    assert!(score("差评！！") < score("差评"));
    // Full-width and half-width read the same.
    assert_eq!(score("差评！！"), score("差评!!"));
    // A run of question marks reads as impatience, a single one as a question.
    assert_eq!(polarity("where is my order?"), Polarity::Neutral);
    assert_eq!(polarity("where is my order???"), Polarity::Negative);
    assert_eq!(polarity("在吗？？？"), Polarity::Negative);
    assert_eq!(polarity("在吗？"), Polarity::Neutral);
    assert_eq!(polarity("seriously?!"), Polarity::Negative);
    assert_eq!(polarity("WHERE IS MY PACKAGE"), Polarity::Negative);
}

#[test]
fn e_commerce_anger_and_praise() {
    for text in [
        "骗子",
        "我要投诉",
        "给你们差评",
        "这是假货",
        "再不处理我就打12315",
        "我要去消协告你们",
        "this is a scam",
        "worst shop ever",
        "I got ripped off",
        "never again",
        "useless",
        "我要refund",
    ] {
        assert_eq!(polarity(text), Polarity::Negative, "{text}");
    }
    for text in [
        "谢谢",
        "好评",
        "很满意",
        "物流很快",
        "thanks",
        "great service",
        "perfect",
    ] {
        assert_eq!(polarity(text), Polarity::Positive, "{text}");
    }
}

#[test]
fn polite_complaints_and_sarcasm_read_negative() {
    for text in [
        "您好，我买的东西到现在还没发货，麻烦看一下",
        "I've been waiting 2 weeks, please help",
        "呵呵",
        "真是太好了，又延迟了",
        "great, another delay",
        "thanks for nothing",
        "Oh great, it's broken",
    ] {
        assert_eq!(polarity(text), Polarity::Negative, "{text}");
    }
    assert_eq!(polarity("真是太好了！"), Polarity::Positive);
}

#[test]
fn questions_hypotheticals_and_dangling_negation() {
    // Praise in a question is hypothetical; complaints in questions are real.
    assert_eq!(polarity("好用"), Polarity::Positive);
    assert_eq!(polarity("好用吗"), Polarity::Neutral);
    assert_eq!(polarity("is it any good?"), Polarity::Neutral);
    assert_eq!(polarity("能不能便宜点"), Polarity::Neutral);
    assert_eq!(polarity("为什么还不发货?"), Polarity::Negative);
    // A hypothetical complaint is not a complaint.
    assert_eq!(polarity("如果不合适可以换吗"), Polarity::Neutral);
    assert_eq!(
        polarity("if it doesn't fit can I return it?"),
        Polarity::Neutral
    );
    // "X did not happen" is a mild complaint; "no" and "nobody home" are not.
    assert_eq!(polarity("耳机左边没有声音"), Polarity::Negative);
    assert_eq!(polarity("it hasn't left the warehouse"), Polarity::Negative);
    assert_eq!(polarity("周末没人"), Polarity::Neutral);
    assert_eq!(polarity("No, that's all"), Polarity::Neutral);
    // "好的" is "OK" unless intensified.
    assert_eq!(polarity("好的"), Polarity::Neutral);
    assert_eq!(polarity("挺好的"), Polarity::Positive);
}

#[test]
fn mixed_language_and_word_boundaries() {
    assert_eq!(polarity("这个refund到底什么时候到"), Polarity::Negative);
    assert_eq!(polarity("物流super fast，好评"), Polarity::Positive);
    assert_eq!(polarity("ＴＨＡＮＫＳ"), Polarity::Positive);
    // Terms never fire inside longer words.
    assert_eq!(score("badge"), 0.0);
    assert_eq!(score("order 3152"), 0.0);
    // A question with no sentiment word reads neutral, whatever words surround it.
    assert_eq!(polarity("快递到了吗"), Polarity::Neutral);
    assert_eq!(polarity("请问快递是哪家"), Polarity::Neutral);
    assert_eq!(polarity("不好意思，请问怎么改地址"), Polarity::Neutral);
}

#[test]
fn the_default_scorer_behind_a_trait_object_has_the_full_lexicon() {
    // A derived `Default` would give an empty lexicon that scores everything 0: the scorer the
    // gateway shares between shards must read anger and praise like `new()` documents.
    let scorer: std::sync::Arc<dyn SentimentScorer> = std::sync::Arc::new(LexiconScorer::default());
    assert_eq!(Polarity::of(scorer.score("垃圾")), Polarity::Negative);
    assert_eq!(Polarity::of(scorer.score("thanks")), Polarity::Positive);
    assert_eq!(scorer.score("请问这件有L码吗"), 0.0);
}

#[test]
fn negating_an_evaluative_word_moves_it_to_the_other_side() {
    // Evaluative words flip and weaken: "not X" lies on the other side of zero from "X", and
    // nearer to zero.
    for (word, negated) in [
        ("good", "not good"),
        ("happy", "not happy"),
        // `不满意` is a lexicon term of its own (the longest match wins), not a negation.
        ("满意", "不太满意"),
        ("好用", "不好用"),
        ("bad", "not bad"),
    ] {
        let (plain, flipped) = (score(word), score(negated));
        assert!(plain != 0.0, "{word} is in the lexicon");
        assert!(
            plain * flipped < 0.0,
            "{word} {plain:+.2} vs {negated} {flipped:+.2}"
        );
        assert!(
            flipped.abs() <= plain.abs(),
            "{negated} {flipped:+.2} is weaker than {word} {plain:+.2}"
        );
    }
}

/// Full-width forms of printable ASCII, as a phone keyboard in Chinese mode types them.
fn full_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' ' => '\u{3000}',
            '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
            other => other,
        })
        .collect()
}

/// Lower-case English words, sentiment-bearing and not, and the punctuation the scorer reads.
fn english_phrase() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "not", "very", "a bit", "good", "bad", "slow", "thanks", "great", "scam", "refund",
            "where", "is", "my", "order", "but", "never", "again", "happy", "useless", ",", ".",
            "!", "?", "don't", "it", "works",
        ]),
        0..12,
    )
    .prop_map(|words| words.join(" "))
}

proptest! {
    #[test]
    fn score_never_panics_and_stays_in_range(text in any::<String>()) {
        let s = LexiconScorer::new().score(&text);
        prop_assert!((-1.0..=1.0).contains(&s), "{s}");
    }

    #[test]
    fn score_stays_in_range_on_lexicon_heavy_text(
        parts in prop::collection::vec(
            prop::sample::select(vec![
                "不", "没", "非常", "太", "差评", "满意", "!", "？", "?", "呵呵", "great", " ",
                "not", "very", "scam", "thanks", "，", "但是", "but", "ＨＩ", "👍", "😡", "\u{FE0F}",
                "no one", "don't", "a", "好", "12315", "'", "’",
            ]),
            0..200,
        )
    ) {
        let text: String = parts.concat();
        let s = LexiconScorer::new().score(&text);
        prop_assert!((-1.0..=1.0).contains(&s), "{s}");
    }

    #[test]
    fn full_width_text_scores_as_its_half_width_form(text in english_phrase()) {
        // What the customer typed on a Chinese keyboard means the same.
        prop_assert_eq!(score(&full_width(&text)), score(&text), "{:?}", text);
    }

    #[test]
    fn a_complaint_clause_never_makes_a_message_happier(text in english_phrase()) {
        // Adding "I want to complain" (a clause of its own) can only move the score down.
        let plain = score(&text);
        let complained = score(&format!("{text}. 我要投诉"));
        prop_assert!(complained < plain || (plain <= -0.99 && complained <= plain + 1e-6),
            "{:?}: {} then {}", text, plain, complained);
    }

    #[test]
    fn an_exclamation_mark_never_weakens_a_clear_message(text in english_phrase()) {
        // "!" amplifies: a message that reads negative or positive keeps its side, at least as strong.
        let plain = score(&text);
        prop_assume!(Polarity::of(plain) != Polarity::Neutral && !text.ends_with('?'));
        let loud = score(&format!("{text}!"));
        prop_assert!(loud * plain > 0.0 && loud.abs() >= plain.abs(), "{:?}: {} then {}", text, plain, loud);
    }
}
