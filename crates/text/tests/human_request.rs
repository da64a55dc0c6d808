//! Table-driven checks of the "customer asks for a human" matcher.

use proptest::prelude::*;
use switchboard_text::human_request::{normalise, HumanRequestMatcher};

/// (text, expected) for the default phrase list.
const DEFAULT_CASES: &[(&str, bool)] = &[
    // Plain Chinese requests.
    ("转人工", true),
    ("我要转人工", true),
    ("人工客服在哪里", true),
    ("帮我找人工", true),
    ("人工！！！", true),
    ("有没有真人客服", true),
    ("叫你们经理出来", true),
    ("我要找你们领导", true),
    ("有活人吗", true),
    ("客服经理电话多少", true),
    // Spacing, punctuation and full width never hide a request.
    ("转 人 工！", true),
    ("转，人，工", true),
    ("转\u{3000}人工", true),
    ("转\u{200B}人工", true),
    ("【人工】", true),
    // Plain English requests, any case or width.
    ("human", true),
    ("HUMAN PLEASE", true),
    ("ＨＵＭＡＮ", true),
    ("Can I talk to an agent?", true),
    ("I want to speak to a person", true),
    ("get me a real   person", true),
    ("Real-Person please", true),
    ("live agent", true),
    ("I'd like a representative.", true),
    ("operator!!", true),
    ("Let me talk to your manager", true),
    ("Is there a human being I can talk to", true),
    ("I need to talk to someone", true),
    // Mixed language.
    ("我要human", true),
    ("转agent", true),
    ("please转人工", true),
    // Rejecting the bot is still a request.
    ("不要机器人，要人工", true),
    ("不要机器人要人工", true),
    ("我不想等了转人工", true),
    ("I don't want a bot I want a human", true),
    ("I don't understand, human please", true),
    // Refusals by the shop and rhetorical questions are requests.
    ("你们为什么不转人工", true),
    ("怎么不能转人工", true),
    ("你们不给我转人工？", true),
    ("要不要转人工啊，我等半天了", true),
    ("why don't you get me a human", true),
    ("I can't reach a human", true),
    // Angry text that also asks.
    ("人工智能客服太垃圾了，转人工", true),
    // Not requests: nouns that contain a phrase.
    ("人工智能客服不好用", false),
    ("这是人工智能吗", false),
    ("人工费怎么算", false),
    ("安装要另收人工费吗", false),
    ("人工成本太高了", false),
    ("这个是人工合成的吗", false),
    ("有真人实拍图吗", false),
    ("这款假发是真人发吗", false),
    ("人工草坪多少钱一平", false),
    ("AI客服太差了", false),
    ("Your AI agent is useless", false),
    ("What user agent does your app need?", false),
    ("I booked it through a travel agent", false),
    ("Is this cleaning agent safe for wood?", false),
    ("Is the wig made of human hair?", false),
    ("That was a human error on my side", false),
    ("I work as a tour operator", false),
    // Not requests: whole-word rules.
    ("Humane treatment of animals", false),
    ("the reagent bottle leaked", false),
    ("our agents' fees", false),
    ("humanity", false),
    ("chatbot", false),
    // Not requests: negated.
    ("不要人工", false),
    ("不用转人工", false),
    ("不用帮我转人工了", false),
    ("不需要人工客服", false),
    ("别转人工，我自己看看", false),
    ("没必要找人工", false),
    ("no need for a human", false),
    ("I don't need an agent", false),
    ("I do not want to talk to a human", false),
    ("Don't transfer me to an agent, thanks", false),
    ("I never asked for an agent", false),
    // Not requests: ordinary chat.
    ("", false),
    ("   ", false),
    ("订单什么时候发货", false),
    ("Where is my order?", false),
    ("谢谢", false),
];

#[test]
fn default_phrases() {
    let m = HumanRequestMatcher::with_defaults();
    let failures: Vec<String> = DEFAULT_CASES
        .iter()
        .filter(|&&(text, want)| m.matches(text) != want)
        .map(|&(text, want)| format!("{text:?}: want {want}"))
        .collect();
    assert!(DEFAULT_CASES.len() >= 40);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn tenant_phrases_follow_the_same_rules() {
    let m = HumanRequestMatcher::new(["人工", "Ｔalk To  Staff", "真人小二", "!!!", ""]);
    let cases: &[(&str, bool)] = &[
        ("人 工", true),
        ("人工智能", false),
        ("不要人工", false),
        ("I want to talk to staff", true),
        ("TALK-TO-STAFF", true),
        ("talk to staffs", false),
        ("I don't want to talk to staff", false),
        ("找真人小二", true),
        ("转人工客服", true),
        // Punctuation-only and empty phrases are ignored, not match-all.
        ("!!!", false),
        ("hello", false),
        ("human", false),
    ];
    for &(text, want) in cases {
        assert_eq!(m.matches(text), want, "{text:?}");
    }
}

#[test]
fn empty_phrase_list_matches_nothing() {
    let m = HumanRequestMatcher::new(Vec::<String>::new());
    assert!(!m.matches("转人工"));
    assert!(!m.matches(""));
}

#[test]
fn long_messages_spill_to_the_heap_and_still_match() {
    let m = HumanRequestMatcher::with_defaults();
    let filler = "我的订单 order 还没有到，".repeat(40);
    assert!(m.matches(&format!("{filler}转人工")));
    assert!(!m.matches(&format!("{filler}人工智能")));
    assert!(m.matches(&format!("转人工{filler}")));
}

#[test]
fn normalise_folds_width_case_and_drops_punctuation() {
    let mut out = String::from("stale");
    for (input, want) in [
        ("ＨＵＭＡＮ", "human"),
        ("转 人 工！", "转人工"),
        ("Real Person?!", "realperson"),
        ("“人工”（客服）【转】…", "人工客服转"),
        ("你好，　请问：在吗；", "你好请问在吗"),
        ("Don't", "dont"),
        ("", ""),
    ] {
        normalise(input, &mut out);
        assert_eq!(out, want, "{input:?}");
    }
}

proptest! {
    #[test]
    fn normalise_is_idempotent(text in any::<String>()) {
        let (mut once, mut twice) = (String::new(), String::new());
        normalise(&text, &mut once);
        normalise(&once, &mut twice);
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn matcher_never_panics(text in any::<String>()) {
        let m = HumanRequestMatcher::with_defaults();
        let _ = m.matches(&text);
    }

    #[test]
    fn matcher_never_panics_on_phrase_soup(
        parts in prop::collection::vec(
            prop::sample::select(vec![
                "人工", "转", "不要", "不", "要", "智能", "human", "agent", "don't", " ", "，",
                "'", "’", "ＨＵＭＡＮ", "\u{200B}", "\u{FE0F}", "为什么", "a", "user", "İ", "🙂",
            ]),
            0..150,
        ),
        phrases in prop::collection::vec(any::<String>(), 0..4),
    ) {
        let text: String = parts.concat();
        let _ = HumanRequestMatcher::with_defaults().matches(&text);
        let _ = HumanRequestMatcher::new(&phrases).matches(&text);
    }

    /// Full-width forms and case never change the verdict.
    #[test]
    fn verdict_ignores_width_and_case(
        parts in prop::collection::vec(
            prop::sample::select(vec!["人工", "转", "不要", "human", "agent", "no need for a", " ", "user"]),
            0..12,
        ),
    ) {
        let text: String = parts.concat();
        let wide: String = text
            .chars()
            .map(|c| match c {
                '!'..='~' => char::from_u32(c.to_ascii_uppercase() as u32 + 0xFEE0).unwrap_or(c),
                ' ' => '\u{3000}',
                _ => c,
            })
            .collect();
        let m = HumanRequestMatcher::with_defaults();
        prop_assert_eq!(m.matches(&text), m.matches(&wide));
    }
}

#[test]
fn negation_stops_at_every_clause_break() {
    // The matcher and the sentiment scorer share one clause definition (`fold::is_clause_break`):
    // "不要" followed by a break no longer negates the request after it.
    let m = HumanRequestMatcher::with_defaults();
    assert!(!m.matches("不要转人工"));
    for text in [
        "不要，转人工",
        "不要。转人工",
        "不要!转人工",
        "不要～转人工",
        "不要~转人工",
        "不用﹐转人工",
        "不要\n转人工",
        "no need. human",
    ] {
        assert!(m.matches(text), "{text:?}");
    }
}
