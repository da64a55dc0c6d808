//! An agent's task: it reads its socket, accepts every offer and measures every customer message.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::SinkExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::shared::{lock, next_text, AgentShared, ConnShared};
use crate::client::{self, Stamp, Ws};
use crate::clock::now_ns;

/// Reads an agent's socket until it closes: accepts offers, measures customer messages.
pub(super) async fn agent_loop(mut ws: Ws, me: Arc<AgentShared>, conns: Arc<Vec<Arc<ConnShared>>>) {
    let mut seq = 1u64; // hello was 1
    let why = loop {
        let text = match next_text(&mut ws, &me.going_away).await {
            Ok(text) => text,
            Err(why) => break why,
        };
        let now = now_ns();
        // Hot path: one customer_message per frame, `type` first (both servers do this).
        if text.starts_with(r#"{"type":"customer_message""#) {
            if let Some(stamp) = client::find_stamp(&text) {
                received(&me, &conns, now, stamp);
            }
            continue;
        }
        for message in client::messages(&text) {
            match message.get("type").and_then(|t| t.as_str()) {
                Some("customer_message") => {
                    let stamp = message
                        .get("message_id")
                        .and_then(|m| m.as_str())
                        .and_then(client::stamp_of_id);
                    if let Some(stamp) = stamp {
                        received(&me, &conns, now, stamp);
                    }
                }
                Some("offer") => {
                    if let Err(why) = on_offer(&mut ws, &me, &message, &mut seq).await {
                        // The socket cannot be written: stop, with the failed send as the reason.
                        *lock(&me.closed) = Some(why);
                        return;
                    }
                }
                Some("error") => {
                    me.errors.fetch_add(1, Ordering::Relaxed);
                    lock(&me.first_error).get_or_insert_with(|| message.to_string());
                }
                _ => {}
            }
        }
    };
    *lock(&me.closed) = Some(why);
}

/// Records a customer message received at `now` and counts it against the connector that sent
/// it, which may be waiting for room in its window.
fn received(me: &AgentShared, conns: &[Arc<ConnShared>], now: u64, stamp: Stamp) {
    lock(&me.stats).record(now, stamp);
    if let Some(c) = conns.get(stamp.connector) {
        c.delivered_one();
    }
}

/// Counts an offer and accepts it unless the target already auto-accepted it.
async fn on_offer(
    ws: &mut Ws,
    me: &AgentShared,
    offer: &Value,
    seq: &mut u64,
) -> Result<(), String> {
    me.offers.fetch_add(1, Ordering::Relaxed);
    let auto = offer.get("auto_accepted").and_then(|a| a.as_bool());
    let conversation = offer.get("conversation").and_then(|c| c.as_str());
    if let (Some(false) | None, Some(conversation)) = (auto, conversation) {
        *seq += 1;
        let accept = serde_json::json!({
            "type": "accept", "seq": *seq, "conversation": conversation
        });
        if let Err(e) = ws.send(Message::text(accept.to_string())).await {
            return Err(format!("sending accept failed: {e}"));
        }
    }
    Ok(())
}
