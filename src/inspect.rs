//! `switchboard journal verify` and `switchboard journal dump`: what an operator reads of a
//! journal directory. `verify` only reads; `dump` reads as the next start would, so it cuts a torn
//! tail (what it held was never acknowledged).
//!
//! The dump never prints what a customer wrote or who they are: every string of a client message
//! other than its vocabulary (type, channel, tier, intent, language, status and the like) is
//! printed as its length, conversation ids and customer ids included.

use std::io::Write;
use std::path::Path;

use serde_json::Value;
use switchboard_journal::{Key, Recovery, Store};
use switchboard_tenant::{Identity, Input};

use crate::engine::records::{self, Record};

/// String fields of client messages that are vocabulary, not customer data.
const VOCABULARY: &[&str] = &[
    "type", "channel", "tier", "intent", "language", "status", "reason", "to_queue", "lane",
    "protocol", "client",
];

/// Checks every segment and snapshot; the report (with the tenants the current generation
/// holds), and whether all is well.
pub fn verify(dir: &Path, key: Option<&Key>) -> Result<(String, bool), String> {
    let report = switchboard_journal::verify(dir, key).map_err(|e| e.to_string())?;
    let mut text = report.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if let Some(tenants) = tenants(dir) {
        text.push_str(&format!(
            "tenants: {} ({})\n",
            tenants.len(),
            tenants.join(", ")
        ));
    }
    Ok((text, report.is_healthy()))
}

/// The tenant ids the current generation's recipe names.
fn tenants(dir: &Path) -> Option<Vec<String>> {
    let generation = Store::open(dir).ok()?.current().ok()??;
    let recipe: Value = serde_json::from_str(&generation.config_text().ok()?).ok()?;
    let ids = recipe.get("tenants")?.as_array()?.iter();
    Some(
        ids.filter_map(|t| Some(t.get("id")?.as_str()?.to_string()))
            .collect(),
    )
}

/// Prints every record of the current generation, masked.
pub fn dump(dir: &Path, key: Option<&Key>, out: &mut impl Write) -> Result<(), String> {
    let store = Store::open(dir).map_err(|e| e.to_string())?;
    let Some(generation) = store.current().map_err(|e| e.to_string())? else {
        return Err(format!("{}: no journal here", dir.display()));
    };
    let io = |e: std::io::Error| e.to_string();
    writeln!(out, "generation {}", generation.number()).map_err(io)?;
    for shard in generation.shards().map_err(|e| e.to_string())? {
        if let Some((covers, _)) = generation
            .latest_snapshot(shard, key)
            .map_err(|e| e.to_string())?
        {
            writeln!(out, "shard {shard}: snapshot covers frames <= {covers}").map_err(io)?;
        }
        let mut lines = Vec::new();
        generation
            .read_frames(shard, 0, key, Recovery::Strict, |frame| {
                lines.push(format!(
                    "shard {shard} frame {} at {} ms",
                    frame.seq, frame.time_ms
                ));
                for record in records::decode(frame.payload) {
                    lines.push(format!("  {}", describe_record(record)));
                }
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        for line in lines {
            writeln!(out, "{line}").map_err(io)?;
        }
    }
    Ok(())
}

fn describe_record(record: Result<Record, records::RecordsError>) -> String {
    match record {
        Ok(Record::Input { tenant, now, input }) => {
            format!("tenant #{tenant} at {now}: {}", describe(&input))
        }
        Ok(Record::Hash { tenant, hash }) => format!("tenant #{tenant} state hash {hash:016x}"),
        Err(error) => format!("undecodable: {error}"),
    }
}

/// One input, with customer data masked.
pub fn describe(input: &Input) -> String {
    match input {
        Input::Attach {
            conn,
            identity,
            hello,
        } => {
            let who = match identity {
                Identity::Connector { name, .. } => format!("connector {name}"),
                Identity::Agent(claims) => format!("{} {}", claims.role.as_str(), claims.sub),
            };
            let resume = if hello.resume.is_some() {
                " (resume)"
            } else {
                ""
            };
            format!("attach conn {conn}: {who}{resume}")
        }
        Input::Client {
            conn,
            messages,
            through,
        } => {
            let shown: Vec<String> = messages
                .iter()
                .map(|m| serde_json::to_value(m).map_or_else(|e| e.to_string(), |v| mask(&v, "")))
                .collect();
            format!(
                "client conn {conn} through {through}: [{}]",
                shown.join(", ")
            )
        }
        other => format!("{other:?}"),
    }
}

/// A JSON value with every string outside [`VOCABULARY`] replaced by its length.
fn mask(value: &Value, key: &str) -> String {
    match value {
        Value::String(s) if VOCABULARY.contains(&key) => format!("{s:?}"),
        Value::String(s) => format!("<{} chars>", s.chars().count()),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| mask(v, key)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{k}: {}", mask(v, k)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_message_is_described_without_its_text_or_ids() {
        let frame = serde_json::json!({
            "type": "customer_message", "seq": 3, "conversation": "wechat:o6_bm-4411",
            "message_id": "m1", "text": "我的手机号是13812345678", "channel": "wechat",
            "customer": {"id": "buyer-13812345678", "tier": "vip"}
        })
        .to_string();
        let decoded = switchboard_protocol::decode_client(
            &frame,
            switchboard_protocol::ClientRole::Connector,
        )
        .unwrap();
        let message = decoded.into_iter().next().unwrap().unwrap();
        let shown = describe(&Input::Client {
            conn: 4,
            messages: vec![message],
            through: 3,
        });
        assert!(shown.contains("customer_message"), "{shown}");
        assert!(
            shown.contains("\"wechat\"") && shown.contains("\"vip\""),
            "{shown}"
        );
        for secret in ["13812345678", "o6_bm", "buyer"] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
    }
}
