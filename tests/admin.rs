//! The admin listener: metrics, the admin API and the event stream, against a running gateway.

mod common;

use common::gateway::*;
use serde_json::{json, Value};
use switchboard::gateway::Stop;

/// A connector with two conversations and agent alice (capacity 2): alice serves the first and
/// rejected the second, which waits (held back from her for the refusal cooldown). Returns the
/// two clients and both gateway ids, served then waiting.
async fn busy_floor(server: &Server) -> (Client, Client, String, String) {
    let (mut connector, _) = Client::connector(&server.addr).await;
    let token = server.token("default", "alice", "agent", &[("general", 5)], 2);
    let (mut agent, _) = Client::agent(&server.addr, &token).await;
    let customer = json!({"id": "c1", "tier": "standard"});
    let mut ids = Vec::new();
    for (conversation, text) in [("conv-1", "你好"), ("conv-2", "在吗")] {
        connector
            .send(
                json!({"type": "customer_message", "conversation": conversation, "message_id": "m1",
                         "text": text, "customer": customer, "channel": "app"}),
            )
            .await;
        let offer = agent.expect("offer").await;
        ids.push(offer["conversation"].as_str().unwrap_or("").to_string());
    }
    agent
        .send(json!({"type": "accept", "conversation": ids[0]}))
        .await;
    connector.expect("agent_joined").await;
    agent
        .send(json!({"type": "reject", "conversation": ids[1]}))
        .await;
    connector.expect("queue").await;
    let waiting = ids.pop().unwrap_or_default();
    let served = ids.pop().unwrap_or_default();
    (connector, agent, served, waiting)
}

/// Polls the stats until `check` holds (the shards publish once a second).
async fn stats_until(server: &Server, check: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let (status, body) = server.api("GET", "/api/v1/stats", "").await;
        assert_eq!(status, 200, "{body}");
        last = serde_json::from_str(&body).expect("stats JSON");
        if check(&last) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("stats never matched: {last:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_the_floor_with_bounded_labels() {
    let server = Server::start(test_config()).await;
    let (_connector, _agent, _, _) = busy_floor(&server).await;
    stats_until(&server, |s| {
        s["tenants"][0]["queues"][0]["waiting"]["standard"] == 1.0
    })
    .await;
    let (status, text) = server.admin_get("/metrics").await;
    assert_eq!(status, 200);
    for needle in [
        "switchboard_build_info{version=",
        "switchboard_connections{role=\"connector\"} 1",
        "switchboard_connections{role=\"agent\"} 1",
        "switchboard_waiting_conversations{lane=\"standard\",queue=\"general\",tenant=\"default\"} 1",
        "switchboard_offers_total{outcome=\"accepted\",tenant=\"default\"} 1",
        "switchboard_sla_total{class=\"standard\",outcome=\"met\",tenant=\"default\"} 1",
        "switchboard_agents{role=\"agent\",status=\"available\",tenant=\"default\"} 1",
        "switchboard_router_commands_total{shard=\"0\"}",
        "switchboard_messages_received_total{role=\"connector\"} 2",
    ] {
        assert!(text.contains(needle), "missing {needle}\n{text}");
    }
    for personal in ["c1", "conv-1", "alice", "你好"] {
        assert!(
            !text.contains(&format!("\"{personal}\"")),
            "a label carries {personal}"
        );
    }
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_needs_its_token() {
    let server = Server::start(test_config()).await;
    let (status, _) = server.admin_request("GET", "/api/v1/stats", None, "").await;
    assert_eq!(status, 401);
    let (status, _) = server
        .admin_request(
            "GET",
            "/api/v1/stats",
            Some("wrong-token-wrong-token!!"),
            "",
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = server
        .admin_request(
            "GET",
            "/api/v1/stats?token=dev-admin-token-change-me",
            None,
            "",
        )
        .await;
    assert_eq!(status, 200, "the dashboard passes the token in the query");
    assert_eq!(
        server.admin_get("/").await.0,
        200,
        "the page itself is public"
    );
    server.stop(Stop::Fast).await;

    let mut config = test_config();
    config.gateway.admin_token = String::new();
    let server = Server::start(config).await;
    assert_eq!(server.api("GET", "/api/v1/stats", "").await.0, 403);
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_agents_and_conversations_describe_the_floor_without_personal_data() {
    let server = Server::start(test_config()).await;
    let (_connector, _agent, id, waiting_id) = busy_floor(&server).await;
    let stats = stats_until(&server, |s| {
        s["tenants"][0]["queues"][0]["waiting"]["standard"] == 1.0
    })
    .await;
    let tenant = &stats["tenants"][0];
    assert_eq!(tenant["id"], "default");
    let names: Vec<&str> = tenant["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .filter_map(|q| q["name"].as_str())
        .collect();
    assert_eq!(names, vec!["general", "after_sales", "vip"]);
    assert_eq!(tenant["queues"][0]["sla_target_secs"]["vip"], 60.0);
    assert_eq!(tenant["agents"]["available"], 1);
    assert_eq!(stats["gateway"]["connections"]["connector"], 1);

    let (status, body) = server.api("GET", "/api/v1/agents", "").await;
    assert_eq!(status, 200);
    let agents: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(agents[0]["id"], "alice");
    assert_eq!(agents[0]["load"], 1);

    let (status, body) = server
        .api("GET", &format!("/api/v1/conversations/{id}"), "")
        .await;
    assert_eq!(status, 200, "{body}");
    let conversation: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(conversation["state"], "assigned");
    assert_eq!(conversation["agent"], "alice");
    assert!(!body.contains("你好") && !body.contains("c1"), "{body}");
    let (status, body) = server
        .api("GET", &format!("/api/v1/conversations/{waiting_id}"), "")
        .await;
    assert_eq!(status, 200, "{body}");
    let waiting: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(waiting["state"], "waiting");
    assert_eq!(waiting["position"], 1);
    assert_eq!(
        server.api("GET", "/api/v1/conversations/999", "").await.0,
        404
    );
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sets_an_agent_away_and_the_agent_is_told() {
    let server = Server::start(test_config()).await;
    let (_connector, mut agent, _, _) = busy_floor(&server).await;
    let (status, body) = server
        .api(
            "POST",
            "/api/v1/agents/alice/status",
            r#"{"status":"away"}"#,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let status_frame = loop {
        let frame = agent.expect("status").await;
        if frame["status"] == "away" {
            break frame;
        }
    };
    assert_eq!(status_frame["reason"], "supervisor");
    let (status, _) = server
        .api(
            "POST",
            "/api/v1/agents/nobody/status",
            r#"{"status":"away"}"#,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .api(
            "POST",
            "/api/v1/agents/alice/status",
            r#"{"status":"asleep"}"#,
        )
        .await;
    assert_eq!(status, 400);
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_turns_readiness_off_and_refuses_new_connections() {
    let server = Server::start(test_config()).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    assert_eq!(server.api("POST", "/api/v1/drain", "").await.0, 202);
    assert_eq!(server.admin_get("/readyz").await.0, 503);
    assert_eq!(
        connect(&server.addr, "/v1/connector", CONNECTOR_KEY)
            .await
            .err(),
        Some(503)
    );
    connector.send(json!({"type": "ping"})).await;
    connector.expect("pong").await;
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_without_a_file_is_refused_and_changes_nothing() {
    let server = Server::start(test_config()).await;
    let (status, body) = server.api("POST", "/api/v1/reload", "").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("no file"));
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_sends_stats_every_second() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let server = Server::start(test_config()).await;
    let mut stream = tokio::net::TcpStream::connect(&server.admin)
        .await
        .expect("admin");
    let request = format!(
        "GET /api/v1/events?token={ADMIN_TOKEN} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut lines = BufReader::new(stream).lines();
    let mut events = 0;
    let mut content_type = false;
    while events < 2 {
        let line = tokio::time::timeout(std::time::Duration::from_secs(15), lines.next_line())
            .await
            .expect("the stream keeps flowing")
            .expect("read")
            .expect("open");
        content_type |= line
            .to_ascii_lowercase()
            .starts_with("content-type: text/event-stream");
        if let Some(data) = line.strip_prefix("data: ") {
            let stats: Value = serde_json::from_str(data).expect("each event is JSON");
            assert!(stats["tenants"].is_array());
            events += 1;
        }
    }
    assert!(content_type);
    server.stop(Stop::Fast).await;
}

/// Staffing from live traffic: once a conversation has been handled, the queue has an arrival
/// rate and a handle time, and the gateway recommends agents for it, in the stats and in
/// `switchboard_recommended_agents`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_recommends_agents_from_live_traffic() {
    let mut config = test_config();
    config.tenants[0].timing.wrap_up_secs = 0;
    config.tenants[0].handoff.bot_first = false;
    let server = Server::start(config).await;
    let (mut connector, mut agent, id, _) = busy_floor(&server).await;
    let before = stats_until(&server, |s| {
        s["tenants"][0]["queues"][0]["arrivals_per_min"].as_f64() > Some(0.0)
    })
    .await;
    assert!(
        before["tenants"][0]["queues"][0]["recommended_agents"].is_null(),
        "no recommendation while no handle time is known: {before:#}"
    );
    agent
        .send(json!({"type": "close", "conversation": id}))
        .await;
    connector.expect("closed").await;
    let stats = stats_until(&server, |s| {
        s["tenants"][0]["queues"][0]["recommended_agents"].is_u64()
    })
    .await;
    let general = &stats["tenants"][0]["queues"][0];
    assert_eq!(general["name"], "general");
    assert!(
        general["mean_handle_secs"].as_f64() >= Some(1.0),
        "{general:#}"
    );
    let recommended = general["recommended_agents"].as_u64().unwrap_or(0);
    assert!(recommended >= 1, "{general:#}");
    let (_, text) = server.admin_get("/metrics").await;
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("switchboard_recommended_agents{queue=\"general\",tenant=\"default\"}")
        })
        .unwrap_or_default()
        .to_string();
    let exported: f64 = line
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    assert_eq!(exported, recommended as f64, "{line}");
    // A queue nobody reached needs nobody.
    assert_eq!(stats["tenants"][0]["queues"][1]["recommended_agents"], 0);
    server.stop(Stop::Fast).await;
}
