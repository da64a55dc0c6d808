//! Where in the element an error happened, as a field path (`customer.tags[2]`), found by
//! scanning our own input up to the error's line and column.

use std::fmt::Write as _;

/// The byte offset of an error's line/column in `text` (serde_json counts columns in bytes).
pub(super) fn error_offset(text: &str, error: &serde_json::Error) -> usize {
    if error.line() == 0 {
        return text.len();
    }
    // Line n starts after the (n-1)th newline.
    let line_start = match error.line() - 1 {
        0 => 0,
        newlines => text
            .match_indices('\n')
            .nth(newlines - 1)
            .map_or(text.len(), |(i, _)| i + 1),
    };
    (line_start + error.column()).min(text.len())
}

/// One open container while scanning towards an error.
enum Open<'a> {
    Object {
        key: Option<&'a [u8]>,
        in_value: bool,
    },
    Array {
        index: usize,
    },
}

/// The field path (`customer.tags[2]`) at the end of `prefix`, a prefix of a JSON text that
/// parsed without syntax errors. Keys that do not look like field names are shown as `?`: a
/// client that puts data in keys must not see it echoed.
pub(super) fn path_at(prefix: &[u8]) -> String {
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut i = 0;
    while i < prefix.len() {
        match prefix[i] {
            b'"' => {
                let start = i + 1;
                let mut end = start;
                let mut escaped = false;
                while end < prefix.len() && (escaped || prefix[end] != b'"') {
                    escaped = !escaped && prefix[end] == b'\\';
                    end += 1;
                }
                if let Some(Open::Object {
                    key,
                    in_value: false,
                }) = stack.last_mut()
                {
                    *key = Some(&prefix[start..end]);
                }
                i = end;
            }
            b'{' => stack.push(Open::Object {
                key: None,
                in_value: false,
            }),
            b'[' => stack.push(Open::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(Open::Object { in_value, .. }) = stack.last_mut() {
                    *in_value = true;
                }
            }
            b',' => match stack.last_mut() {
                Some(Open::Object { key, in_value }) => {
                    *key = None;
                    *in_value = false;
                }
                Some(Open::Array { index }) => *index += 1,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for open in &stack {
        match open {
            Open::Object { key: Some(key), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(field_name(key));
            }
            Open::Object { key: None, .. } => {}
            Open::Array { index } => {
                // Writing to a String cannot fail.
                let _ = write!(path, "[{index}]");
            }
        }
    }
    path
}

fn field_name(key: &[u8]) -> &str {
    let looks_like_a_name = (1..=64).contains(&key.len())
        && (key[0].is_ascii_alphabetic() || key[0] == b'_')
        && key.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
    match std::str::from_utf8(key) {
        Ok(name) if looks_like_a_name => name,
        _ => "?",
    }
}
