//! Detects a customer asking to be handed from the bot to a human agent.
//!
//! # Matching rules
//!
//! These rules apply in the same way to [`HumanRequestMatcher::DEFAULT_PHRASES`]
//! and to a tenant's own list passed to [`HumanRequestMatcher::new`].
//!
//! 1. **Folding.** Text and phrases are folded the way [`normalise`] folds
//!    them: full-width forms (U+FF01..U+FF5E) and the ideographic space become
//!    half-width, letters become lower case. Whitespace, ASCII and CJK
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
//!    `agent orange`, `human hair`, `human error`, `tour operator`, ... (see
//!    `EXCLUSIONS` in the source). An exclusion applies to every phrase it
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
//! 6. A clause ends at `,` `.` `!` `?` `;` `:` (and their CJK forms `，。！？；：、…`)
//!    or a line break.
//!
//! The matcher is deliberately conservative about *meaning*: it does not try
//! to tell whether "the agent was rude" is a request. A false positive hands
//! a chat to a human early; a false negative keeps an angry customer with the
//! bot, which is worse.

/// Normalises text for phrase matching: full-width→half-width (incl.
/// full-width space U+3000 and ASCII range U+FF01..U+FF5E), lower-case, drop
/// whitespace and punctuation (ASCII and CJK punctuation like
/// ，。！？、：；“”（）【】…).
///
/// `out` is cleared first, so one buffer can be reused across calls.
/// Invisible characters (zero-width space and joiners, emoji variation
/// selectors) are dropped as well. The result is idempotent:
/// `normalise(normalise(x)) == normalise(x)`.
///
/// The output joins words (`"Real Person"` → `"realperson"`), so it suits
/// CJK comparison and logging; [`HumanRequestMatcher`] keeps word boundaries
/// and does not match on this string directly.
pub fn normalise(text: &str, out: &mut String) {
    out.clear();
    out.reserve(text.len());
    out.extend(
        text.chars()
            .flat_map(fold)
            .filter(|&c| !is_separator(c) && !is_ignorable(c)),
    );
}

/// Detects a customer asking for a human agent.
///
/// Build it once (construction does all the folding and indexing) and share
/// it; [`HumanRequestMatcher::matches`] does not allocate for messages of up
/// to 64 units.
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
    exclusions: Vec<Pattern>,
    negators: Vec<Pattern>,
    /// Negator indices sorted by the hash of their last unit.
    negator_index: Vec<(u64, u32)>,
    /// Single-unit fillers allowed between a negator and a hit, sorted by hash.
    fillers: Vec<Unit>,
    questions: Vec<Pattern>,
}

impl HumanRequestMatcher {
    /// Built-in phrases for "let me talk to a human", Chinese and English.
    pub const DEFAULT_PHRASES: &'static [&'static str] = &[
        "转人工",
        "人工客服",
        "找人工",
        "人工服务",
        "转接人工",
        "人工",
        "真人",
        "真人客服",
        "活人",
        "客服经理",
        "你们经理",
        "找经理",
        "叫经理",
        "你们领导",
        "找领导",
        "你们负责人",
        "你们主管",
        "找主管",
        "值班经理",
        "换个人",
        "human",
        "human being",
        "agent",
        "live agent",
        "representative",
        "real person",
        "live person",
        "actual person",
        "speak to a person",
        "talk to a person",
        "speak to someone",
        "talk to someone",
        "speak with someone",
        "talk with someone",
        "operator",
        "manager",
        "supervisor",
    ];

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
        let exclusions: Vec<Pattern> = EXCLUSIONS
            .iter()
            .filter_map(|e| Pattern::parse(e))
            .collect();
        let phrase_exclusions = list
            .iter()
            .map(|p| {
                let mut found = Vec::new();
                for (ei, e) in exclusions.iter().enumerate() {
                    for off in 0..=e.units.len().saturating_sub(p.units.len()) {
                        if e.units.get(off..off + p.units.len()) == Some(&p.units[..]) {
                            found.push((ei as u32, off as u32));
                        }
                    }
                }
                found
            })
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
        let negators: Vec<Pattern> = NEGATORS.iter().filter_map(|n| Pattern::parse(n)).collect();
        let mut negator_index: Vec<(u64, u32)> = negators
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((n.units.last()?.hash, i as u32)))
            .collect();
        negator_index.sort_unstable();
        let mut fillers: Vec<Unit> = FILLERS
            .iter()
            .filter_map(|f| Pattern::parse(f))
            .filter_map(|p| p.units.into_vec().pop())
            .collect();
        fillers.sort_unstable_by(|a, b| a.hash.cmp(&b.hash).then_with(|| a.text.cmp(&b.text)));
        fillers.dedup();
        let questions = QUESTION_WORDS
            .iter()
            .filter_map(|q| Pattern::parse(q))
            .collect();
        HumanRequestMatcher {
            phrases: list,
            phrase_index,
            first_units,
            phrase_exclusions,
            exclusions,
            negators,
            negator_index,
            fillers,
            questions,
        }
    }

    /// Matcher for [`HumanRequestMatcher::DEFAULT_PHRASES`].
    pub fn with_defaults() -> Self {
        Self::new(Self::DEFAULT_PHRASES)
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

/// Exclusions: longer nouns that contain a phrase but are not requests.
const EXCLUSIONS: &[&str] = &[
    "人工智能",
    "人工费",
    "人工成本",
    "人工合成",
    "人工草",
    "人工湖",
    "人工皮",
    "人工革",
    "人工钻",
    "人工宝石",
    "人工养殖",
    "人工种植",
    "人工繁殖",
    "人工降雨",
    "人工授精",
    "人工晶体",
    "人工呼吸",
    "人工耳蜗",
    "人工关节",
    "人工心脏",
    "人工材料",
    "人工挑选",
    "人工筛选",
    "人工分拣",
    "人工检测",
    "人工质检",
    "人工打磨",
    "人工缝制",
    "人工采摘",
    "非人工",
    "真人秀",
    "真人版",
    "真人发",
    "真人头发",
    "真人模特",
    "真人实拍",
    "真人试穿",
    "真人图",
    "真人照",
    "真人拍摄",
    "真人cs",
    "真人娃娃",
    "真人大小",
    "真人比例",
    "主管部门",
    "user agent",
    "travel agent",
    "real estate agent",
    "estate agent",
    "agent orange",
    "secret agent",
    "double agent",
    "free agent",
    "cleaning agent",
    "bleaching agent",
    "foaming agent",
    "chemical agent",
    "ai agent",
    "shipping agent",
    "customs agent",
    "insurance agent",
    "booking agent",
    "talent agent",
    "sports agent",
    "human hair",
    "human resources",
    "human rights",
    "human error",
    "human body",
    "human nature",
    "human race",
    "tour operator",
    "network operator",
    "mobile operator",
    "machine operator",
    "smooth operator",
    "camera operator",
    "forklift operator",
    "operator error",
    "legal representative",
    "password manager",
    "file manager",
    "download manager",
    "task manager",
    "package manager",
];

/// Negators that cancel a following request. Bare `不`/`没` and "can't" are
/// left out on purpose: `不给转人工`, `没有人工吗`, "I can't reach a human"
/// complain that the request is refused.
const NEGATORS: &[&str] = &[
    "不要",
    "不用",
    "不需要",
    "不需",
    "不想",
    "不找",
    "不转",
    "不必",
    "别",
    "甭",
    "无需",
    "无须",
    "没必要",
    "没有必要",
    "用不着",
    "dont",
    "do not",
    "doesnt",
    "does not",
    "didnt",
    "did not",
    "no need",
    "not",
    "never",
];

/// Words that may sit between a negator and a hit without ending the
/// negation: pronouns, "help me", "transfer", "talk to", articles.
const FILLERS: &[&str] = &[
    "我",
    "你",
    "您",
    "们",
    "帮",
    "给",
    "再",
    "去",
    "要",
    "需",
    "想",
    "用",
    "找",
    "转",
    "接",
    "让",
    "叫",
    "请",
    "个",
    "一",
    "下",
    "跟",
    "和",
    "联",
    "系",
    "i",
    "im",
    "me",
    "my",
    "to",
    "a",
    "an",
    "the",
    "any",
    "your",
    "you",
    "us",
    "we",
    "talk",
    "speak",
    "chat",
    "need",
    "needed",
    "want",
    "wanna",
    "be",
    "get",
    "have",
    "with",
    "for",
    "one",
    "some",
    "transfer",
    "transferred",
    "connect",
    "connected",
    "put",
    "through",
    "see",
    "ask",
    "asked",
    "asking",
    "really",
    "even",
    "ever",
    "it",
    "this",
];

/// Question words that turn a following negator into a demand.
const QUESTION_WORDS: &[&str] = &[
    "为什么",
    "为啥",
    "怎么",
    "咋",
    "凭什么",
    "干嘛",
    "干吗",
    "难道",
    "why",
    "how come",
];

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

/// One unit of a phrase: folded text and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Unit {
    hash: u64,
    text: Box<str>,
}

/// A phrase, exclusion, negator or question word as a unit sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    /// Never empty.
    units: Box<[Unit]>,
}

impl Pattern {
    fn parse(phrase: &str) -> Option<Pattern> {
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
struct TextUnit {
    hash: u64,
    start: u32,
    end: u32,
    clause: u32,
}

/// The text and its units, for comparisons against patterns.
struct View<'a> {
    text: &'a str,
    units: &'a [TextUnit],
}

impl View<'_> {
    fn matches_at(&self, i: usize, pattern: &[Unit]) -> bool {
        match self.units.get(i..i + pattern.len()) {
            Some(units) => units.iter().zip(pattern).all(|(u, p)| self.unit_is(u, p)),
            None => false,
        }
    }

    /// The hash is only a filter; the folded text is compared to be exact.
    fn unit_is(&self, u: &TextUnit, p: &Unit) -> bool {
        u.hash == p.hash && unit_chars(self.text, u).eq(p.text.chars())
    }

    fn same_text(&self, a: &TextUnit, b: &TextUnit) -> bool {
        a.hash == b.hash && unit_chars(self.text, a).eq(unit_chars(self.text, b))
    }

    /// `要不要`, `用不用`, `需不需要`: the negator's first unit sits between
    /// two equal units, which makes a yes/no question, not a negation.
    fn is_a_not_a(&self, start: usize) -> bool {
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
        .flat_map(fold)
        .filter(|&c| !is_apostrophe(c) && !is_ignorable(c))
}

/// Splits text into units (see the module docs), tracking clauses.
struct Units<'a> {
    text: &'a str,
    pos: usize,
    clause: u32,
}

impl<'a> Units<'a> {
    fn new(text: &'a str) -> Self {
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
    let c = fold(raw).next().unwrap_or(raw);
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
                        } else if !(class == Class::Invisible
                            || fold(c).next().is_some_and(is_apostrophe))
                        {
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
        fold(raw).fold(hash, fnv)
    }
}

fn fnv(mut hash: u64, c: char) -> u64 {
    for b in (c as u32).to_le_bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Full-width to half-width, then full Unicode lower-casing (which may yield
/// more than one char, e.g. `İ` → `i̇`).
fn fold(raw: char) -> std::char::ToLowercase {
    let c = match raw {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(raw as u32 - 0xFEE0).unwrap_or(raw),
        '\u{3000}' => ' ',
        _ => raw,
    };
    c.to_lowercase()
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}')
}

/// Characters with no visible form: zero-width space, joiners and marks,
/// word joiner, BOM, emoji variation selectors, skin tones and tags.
fn is_ignorable(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'
        | '\u{2060}'..='\u{2064}'
        | '\u{FEFF}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{1F3FB}'..='\u{1F3FF}'
        | '\u{E0020}'..='\u{E007F}')
}

/// Whitespace and punctuation, ASCII, general and CJK.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || c.is_ascii_punctuation()
        || matches!(c,
            '\u{00A1}' | '\u{00A7}' | '\u{00AB}' | '\u{00B6}' | '\u{00B7}' | '\u{00BB}' | '\u{00BF}'
            | '\u{2010}'..='\u{2027}'
            | '\u{2030}'..='\u{205E}'
            | '\u{3001}'..='\u{3003}'
            | '\u{3008}'..='\u{3011}'
            | '\u{3014}'..='\u{301F}'
            | '\u{3030}'
            | '\u{303D}'
            | '\u{30FB}'
            | '\u{FE10}'..='\u{FE19}'
            | '\u{FE30}'..='\u{FE4F}'
            | '\u{FE50}'..='\u{FE6B}'
            | '\u{FF5F}'..='\u{FF65}')
}

fn is_clause_break(c: char) -> bool {
    matches!(
        c,
        ',' | '.'
            | '!'
            | '?'
            | ';'
            | ':'
            | '\n'
            | '\u{3001}'
            | '\u{3002}'
            | '\u{2026}'
            | '\u{FF61}'
            | '\u{FF64}'
    )
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
