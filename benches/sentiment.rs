//! Per-message cost of the sentiment scorer and the human-request matcher.
//!
//! `cargo bench --bench sentiment`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use switchboard_text::human_request::HumanRequestMatcher;
use switchboard_text::sentiment::{LexiconScorer, SentimentScorer};

const MESSAGES: &[(&str, &str)] = &[
    ("short_zh", "物流太慢了，还没收到！！"),
    (
        "polite_zh",
        "您好，我买的东西到现在还没发货，麻烦看一下，谢谢",
    ),
    (
        "long_en",
        "Hi, I ordered a pair of running shoes two weeks ago for the Singles' Day sale and the \
         tracking hasn't updated in five days. I've contacted you three times already and \
         nobody has replied. Honestly this is really disappointing, please help.",
    ),
    (
        "mixed",
        "这个refund到底什么时候到？？ I've been waiting forever",
    ),
    (
        "neutral_en",
        "Can I change the delivery address for order 48213377?",
    ),
];

fn bench(c: &mut Criterion) {
    let scorer = LexiconScorer::new();
    let matcher = HumanRequestMatcher::with_defaults();
    let mut g = c.benchmark_group("score");
    for &(name, text) in MESSAGES {
        g.bench_function(name, |b| b.iter(|| scorer.score(black_box(text))));
    }
    g.finish();
    let mut g = c.benchmark_group("matches");
    for &(name, text) in MESSAGES {
        g.bench_function(name, |b| b.iter(|| matcher.matches(black_box(text))));
    }
    g.bench_function("request_zh", |b| {
        b.iter(|| matcher.matches(black_box("人工智能客服太差了，不用它，转人工")))
    });
    g.finish();
    c.bench_function("build/lexicon_scorer", |b| b.iter(LexiconScorer::new));
    c.bench_function("build/matcher_defaults", |b| {
        b.iter(HumanRequestMatcher::with_defaults)
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
