//! What customers say. Every text is checked by a test against the router's scorer and
//! human-request detector, so the scenario's angry and ask-human shares mean what they say.

/// Ordinary questions: neutral, no request for a human.
pub const NEUTRAL: &[&str] = &[
    "请问我的订单什么时候发货？",
    "这件衣服有黑色的吗",
    "优惠券怎么用",
    "能开发票吗",
    "Where is my parcel?",
    "今晚的满减活动几点开始",
];
/// Strongly negative messages (an angry customer sends only these).
pub const ANGRY: &[&str] = &[
    "你们这是什么垃圾质量，用了一天就坏了，气死我了！",
    "骗子！说好的包邮结果又收运费，太差劲了",
    "呵呵，这就是你们的服务态度，垃圾，我要投诉",
];
/// Asking for a human.
pub const ASK_HUMAN: &str = "转人工";

/// One message's text: the request for a human where the plan puts it, else a random angry or
/// neutral line. (The lists are never empty; the fallback only keeps this total.)
pub(super) fn pick(ask_human: bool, angry: bool, rng: &mut super::Rng) -> &'static str {
    if ask_human {
        ASK_HUMAN
    } else if angry {
        rng.pick(ANGRY).copied().unwrap_or(ASK_HUMAN)
    } else {
        rng.pick(NEUTRAL).copied().unwrap_or(ASK_HUMAN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_text::human_request::HumanRequestMatcher;
    use switchboard_text::sentiment::{LexiconScorer, SentimentScorer};

    #[test]
    fn the_texts_mean_what_the_scenario_says() {
        let scorer = LexiconScorer::new();
        let detector = HumanRequestMatcher::with_defaults();
        for text in ANGRY {
            assert!(
                scorer.score(text) <= -0.5,
                "{text} scores {}",
                scorer.score(text)
            );
            assert!(!detector.matches(text), "{text} asks for a human");
        }
        for text in NEUTRAL {
            assert!(
                scorer.score(text) > -0.2,
                "{text} scores {}",
                scorer.score(text)
            );
            assert!(!detector.matches(text), "{text} asks for a human");
        }
        assert!(detector.matches(ASK_HUMAN));
    }
}
