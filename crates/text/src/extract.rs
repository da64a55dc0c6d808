//! Order and logistics tracking numbers found in a transcript, for the agent's context package.
//!
//! Numbers are runs of ASCII letters and digits, read through [`crate::fold::fold`] (so
//! full-width `ＳＦ１２３` is `sf123`). A run counts as:
//! - a **tracking number** when it is 2–4 letters then 9–15 digits (`SF1234567890123`,
//!   `YT…`, `JT…`), or 10–15 digits right after a logistics word (快递, 运单, 物流, tracking,
//!   waybill, express);
//! - an **order number** when it is 10–20 digits right after an order word (订单, 单号, order), or
//!   15–20 digits anywhere (marketplace order numbers are long).
//!
//! An 11-digit run starting with 1 is a mainland mobile number and never counts: phone numbers are
//! personal data, not order data. Each list keeps the first [`MAX_NUMBERS`], in order of appearance,
//! without repeats.

use crate::fold::fold;

/// Most numbers of each kind reported.
pub const MAX_NUMBERS: usize = 10;

/// How many characters before a run are searched for a keyword.
const CONTEXT_CHARS: usize = 12;

const TRACKING_WORDS: [&str; 7] = [
    "快递", "运单", "物流", "tracking", "waybill", "express", "shipment",
];
const ORDER_WORDS: [&str; 3] = ["订单", "单号", "order"];

/// Numbers found, in order of appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Numbers {
    /// Order numbers.
    pub orders: Vec<String>,
    /// Logistics tracking numbers.
    pub tracking: Vec<String>,
}

/// Finds order and tracking numbers in these texts.
pub fn numbers<'a>(texts: impl IntoIterator<Item = &'a str>) -> Numbers {
    let mut found = Numbers::default();
    for text in texts {
        scan(text, &mut found);
    }
    found
}

fn scan(text: &str, found: &mut Numbers) {
    let chars: Vec<char> = text.chars().map(fold).collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let run: String = chars[start..i].iter().collect();
        // Already lower case: `fold` lowers letters.
        let before: String = chars[start.saturating_sub(CONTEXT_CHARS)..start]
            .iter()
            .collect();
        classify(&run, &before, found);
    }
}

fn classify(run: &str, before: &str, found: &mut Numbers) {
    let letters = run.chars().take_while(char::is_ascii_alphabetic).count();
    let digits = &run[letters..];
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return;
    }
    let n = digits.len();
    let phone = letters == 0 && n == 11 && digits.starts_with('1');
    let near = |words: &[&str]| words.iter().any(|w| before.contains(w));
    if (2..=4).contains(&letters) && (9..=15).contains(&n) {
        push(&mut found.tracking, run.to_ascii_uppercase());
    } else if letters == 0 && !phone && (10..=15).contains(&n) && near(&TRACKING_WORDS) {
        push(&mut found.tracking, run.to_string());
    } else if letters == 0
        && !phone
        && ((10..=20).contains(&n) && near(&ORDER_WORDS) || (15..=20).contains(&n))
    {
        push(&mut found.orders, run.to_string());
    }
}

fn push(list: &mut Vec<String>, number: String) {
    if list.len() < MAX_NUMBERS && !list.contains(&number) {
        list.push(number);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_orders_and_tracking_in_chinese_and_english() {
        let found = numbers([
            "我的订单号是 2023111112345678 到现在没发货",
            "快递单号SF1234567890123，物流 773012345678901 也查不到",
            "order 98765432101 please, tracking: YT9876543210",
            "call me on 13812345678",
            "订单２０２３１１１１１２３４５６７８", // full-width digits, repeated order
        ]);
        assert_eq!(found.orders, vec!["2023111112345678", "98765432101"]);
        assert_eq!(
            found.tracking,
            vec!["SF1234567890123", "773012345678901", "YT9876543210"]
        );
    }

    #[test]
    fn phone_numbers_and_short_numbers_are_not_orders() {
        let found = numbers(["订单 13812345678", "尺码 42，价格 199 元", "单号 123"]);
        assert_eq!(found, Numbers::default());
    }
}
