//! The one normalisation every text classifier in this crate reads through, and the one
//! definition of where a clause ends.
//!
//! Sentiment scoring, human-request matching and number extraction all look at text one folded
//! character at a time, so a customer typing on a phone keyboard in Chinese mode (full-width
//! `ＨＵＭＡＮ`, `！！`, the ideographic space) is read exactly like one typing half-width ASCII.
//! Folding is per character and never copies the text: callers walk the original `&str` and keep
//! byte offsets into it.
//!
//! [`fold`] is idempotent (`fold(fold(c)) == fold(c)`), which is what lets a word list written in
//! folded form be matched against folded text, and what makes [`normalise`] idempotent.

/// Folds one character:
/// - full-width ASCII (U+FF01..U+FF5E) to its half-width form, the ideographic space to `' '`;
/// - curly apostrophes (U+2018, U+2019) to `'`, so `don’t` reads as `don't`;
/// - the CJK full stop (`。`, `｡`) to `.` and the enumeration comma (`、`) to `,`;
/// - letters to lower case. Only the first character of a lower-casing is kept: the one
///   character with a longer lower case (`İ`, U+0130, whose lower case adds a combining dot)
///   folds to `i`, which is what a customer typing it means.
///
/// Common CJK ideographs come back unchanged without a table lookup: they are most of the text.
pub fn fold(c: char) -> char {
    if ('\u{4E00}'..='\u{9FFF}').contains(&c) {
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
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

/// Characters with no visible form, which every classifier skips as if absent: zero-width space,
/// joiners and direction marks, word joiner and invisible operators, BOM, variation selectors
/// (emoji presentation), skin-tone modifiers and tag characters (flag sequences).
pub fn is_ignorable(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'
        | '\u{2060}'..='\u{2064}'
        | '\u{FEFF}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{1F3FB}'..='\u{1F3FF}'
        | '\u{E0020}'..='\u{E007F}')
}

/// Whether folded character `c` ends a clause: `,` `.` `!` `?` `;` `:` `~`, a line break, `…`,
/// and the CJK forms [`fold`] leaves as they are (half-width `､`, the small form variants
/// U+FE50..U+FE57). Full-width `，。！？；：～` and `、` fold to ASCII first.
///
/// A negation never reaches across a clause break, in the sentiment scorer and in the
/// human-request matcher alike. `~` is included because Chinese chat ends sentences with it
/// (`好的~`, `谢谢～`).
pub fn is_clause_break(c: char) -> bool {
    matches!(c, ',' | '.' | '!' | '?' | ';' | ':' | '~' | '\n')
        || matches!(c, '\u{2026}' | '\u{FF64}' | '\u{FE50}'..='\u{FE57}')
}

/// Whitespace and punctuation, ASCII, general and CJK: what separates units of text without
/// being one. Takes a folded character.
pub fn is_separator(c: char) -> bool {
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

/// Normalises text for comparison and logging: every character folded by [`fold`], whitespace,
/// punctuation ([`is_separator`]) and invisible characters ([`is_ignorable`]) dropped.
///
/// `out` is cleared first, so one buffer can be reused across calls. The result is idempotent:
/// `normalise(normalise(x)) == normalise(x)`. It joins words (`"Real Person"` →
/// `"realperson"`), so it suits CJK comparison; the human-request matcher keeps word boundaries
/// and does not match on this string.
pub fn normalise(text: &str, out: &mut String) {
    out.clear();
    out.reserve(text.len());
    out.extend(
        text.chars()
            .map(fold)
            .filter(|&c| !is_separator(c) && !is_ignorable(c)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_width_case_apostrophes_and_cjk_stops() {
        for (raw, want) in [
            ('Ａ', 'a'),
            ('！', '!'),
            ('～', '~'),
            ('\u{3000}', ' '),
            ('’', '\''),
            ('。', '.'),
            ('｡', '.'),
            ('、', ','),
            ('İ', 'i'),
            ('Ж', 'ж'),
            ('ǅ', 'ǆ'),
            ('人', '人'),
            ('7', '7'),
        ] {
            assert_eq!(fold(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn fold_is_idempotent_on_every_char() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let once = fold(c);
            assert_eq!(fold(once), once, "{c:?}");
        }
    }

    #[test]
    fn clause_breaks_in_both_widths() {
        for c in ",.!?;:~\n…，。！？；：～、､﹐﹒".chars() {
            assert!(is_clause_break(fold(c)), "{c:?}");
        }
        for c in " 'a人-()“”".chars() {
            assert!(!is_clause_break(fold(c)), "{c:?}");
        }
    }

    #[test]
    fn normalise_drops_separators_and_invisibles() {
        let mut out = String::from("stale");
        normalise("转\u{200B} 人，工！ＨＵＭＡＮ\u{FE0F}", &mut out);
        assert_eq!(out, "转人工human");
    }
}
