//! The whole journey over real WebSockets: a connector's customer meets the bot, asks for a
//! human, an agent gets the transcript, accepts, replies, closes.

mod common;

use common::gateway::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_bot_handoff_agent_reply_close() {
    let server = Server::start(test_config()).await;
    let (mut connector, welcome) = Client::connector(&server.addr).await;
    assert_eq!(welcome["role"], "connector");
    assert_eq!(welcome["tenant"], "default");
    let bot_token = server.token("default", "bot-1", "bot", &[], 100);
    let (mut bot, welcome) = Client::agent(&server.addr, &bot_token).await;
    assert_eq!(welcome["role"], "bot");
    let agent_token = server.token("default", "alice", "agent", &[("general", 7)], 3);
    let (mut agent, _) = Client::agent(&server.addr, &agent_token).await;

    let customer = json!({"id": "buyer-42", "tier": "standard", "name": "Wang"});
    let seq = connector
        .send(json!({
            "type": "customer_message", "conversation": "conv-1", "message_id": "m1",
            "text": "你好，我的订单 2023111112345678 什么时候发货？",
            "customer": customer, "channel": "app"
        }))
        .await;
    assert_eq!(connector.expect_ack(seq).await["seq"], seq);

    // The bot gets the conversation with the opening message.
    let offer = bot.expect("offer").await;
    assert_eq!(offer["auto_accepted"], true);
    let conversation = offer["conversation"].as_str().expect("id").to_string();
    assert_eq!(offer["context"]["transcript"][0]["message_id"], "m1");
    bot.send(json!({
        "type": "message", "conversation": conversation, "message_id": "b1",
        "text": "您好，订单已在处理中，预计明天发货"
    }))
    .await;
    let reply = connector.expect("reply").await;
    assert_eq!(reply["conversation"], "conv-1");
    assert_eq!(reply["from"]["role"], "bot");
    assert_eq!(reply["message_id"], "b1");

    // The customer asks for a human.
    connector
        .send(json!({
            "type": "customer_message", "conversation": "conv-1", "message_id": "m2",
            "text": "转人工", "customer": customer, "channel": "app"
        }))
        .await;
    let handoff = connector.expect("handoff").await;
    assert_eq!(handoff["reason"], "customer_request");
    let withdrawn = bot.expect("offer_withdrawn").await;
    assert_eq!(withdrawn["reason"], "handed_off");

    // The agent is offered it with the whole context.
    let offer = agent.expect("offer").await;
    assert_eq!(offer["conversation"], conversation.as_str());
    assert_eq!(offer["auto_accepted"], false);
    let context = &offer["context"];
    assert_eq!(context["handoff"]["reason"], "customer_request");
    assert_eq!(context["customer"]["name"], "Wang");
    assert_eq!(context["order_numbers"], json!(["2023111112345678"]));
    let transcript: Vec<(&str, &str)> = context["transcript"]
        .as_array()
        .expect("transcript")
        .iter()
        .map(|l| {
            (
                l["from"].as_str().unwrap_or(""),
                l["message_id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        transcript,
        vec![("customer", "m1"), ("bot", "b1"), ("customer", "m2")]
    );

    agent
        .send(json!({"type": "accept", "conversation": conversation}))
        .await;
    let joined = connector.expect("agent_joined").await;
    assert_eq!(joined["agent"]["id"], "alice");
    agent
        .send(json!({
            "type": "message", "conversation": conversation, "message_id": "a1",
            "text": "您好，我是客服小李，马上为您查询"
        }))
        .await;
    let reply = connector.expect("reply").await;
    assert_eq!(reply["from"]["role"], "agent");
    assert_eq!(reply["from"]["id"], "alice");

    // The customer's next message reaches the agent, not the bot.
    connector
        .send(json!({
            "type": "customer_message", "conversation": "conv-1", "message_id": "m3",
            "text": "好的谢谢", "customer": customer, "channel": "app"
        }))
        .await;
    let forwarded = agent.expect("customer_message").await;
    assert_eq!(forwarded["message_id"], "m3");

    agent
        .send(json!({"type": "close", "conversation": conversation}))
        .await;
    let closed = connector.expect("closed").await;
    assert_eq!(closed["conversation"], "conv-1");
    assert_eq!(closed["reason"], "agent");
    assert_eq!(closed["abandoned"], false);
    assert_eq!(
        agent.expect("closed").await["conversation"],
        conversation.as_str()
    );
    server.stop(switchboard::gateway::Stop::Fast).await;
}
