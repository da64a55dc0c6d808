//! The admin listener: metrics, the admin API and the event stream, against a running gateway.

mod common;

use common::gateway::*;
use common::tls::Scratch;
use serde_json::{json, Value};
use switchboard::gateway::Stop;
use switchboard_config::{Config, EMBEDDED_TOML};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// The embedded configuration as a file, with the failed-authentication throttle out of the
/// way (these tests fail authentication on purpose, many times), edited by `edit`.
fn config_file(scratch: &Scratch, edit: impl Fn(String) -> String) -> std::path::PathBuf {
    let text = EMBEDDED_TOML.replace(
        "auth_failures_per_minute = 60",
        "auth_failures_per_minute = 1000000",
    );
    scratch.write("switchboard.toml", &edit(text))
}

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

/// Every admin endpoint and method of docs/openapi.yaml, against every credential a client
/// may hold. There is one role on the admin API, the holder of `gateway.admin_token`: a
/// connector's API key, an agent's or a bot's JWT, a wrong token or none get 401; the admin
/// token (header or `?token=`) gets the endpoint's success status; a wrong method gets 405 with
/// `Allow` once the token is right (401 before); an empty admin token disables the API (403).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_endpoint_and_method_answers_as_documented() {
    let scratch = Scratch::new("admin-authorisation");
    let server = Server::start_from_file(&config_file(&scratch, |t| t)).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    let alice = server.token("default", "alice", "agent", &[("general", 5)], 1);
    let (mut agent, _) = Client::agent(&server.addr, &alice).await;
    connector.customer_says("conv-1", "m1", "你好").await;
    let conversation = agent.expect("offer").await["conversation"]
        .as_str()
        .expect("id")
        .to_string();
    let bot = server.token("default", "bot-1", "bot", &[], 10);

    // (method, path, body, status with the admin token); drain last: it ends readiness.
    let conversation_path = format!("/api/v1/conversations/{conversation}?tenant=default");
    let endpoints: [(&str, &str, &str, u16); 7] = [
        ("GET", "/api/v1/stats", "", 200),
        ("GET", "/api/v1/events", "", 200),
        ("GET", "/api/v1/agents", "", 200),
        ("GET", &conversation_path, "", 200),
        (
            "POST",
            "/api/v1/agents/alice/status",
            r#"{"status":"available"}"#,
            200,
        ),
        ("POST", "/api/v1/reload", "", 200),
        ("POST", "/api/v1/drain", "", 202),
    ];
    let refused: [(&str, Option<&str>); 5] = [
        ("no token", None),
        ("a wrong token", Some("wrong-token-wrong-token!!")),
        ("the connector's API key", Some(CONNECTOR_KEY)),
        ("an agent's JWT", Some(&alice)),
        ("a bot's JWT", Some(&bot)),
    ];
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    for (method, path, body, ok) in endpoints {
        for (who, token) in refused {
            let head = server.admin_head(method, path, token, body).await;
            assert_eq!(status_of(&head), 401, "{method} {path} with {who}: {head}");
        }
        for other in methods.iter().filter(|m| **m != method) {
            let head = server.admin_head(other, path, None, body).await;
            assert_eq!(
                status_of(&head),
                401,
                "{other} {path} with no token: {head}"
            );
            let head = server
                .admin_head(other, path, Some(ADMIN_TOKEN), body)
                .await;
            assert_eq!(status_of(&head), 405, "{other} {path}: {head}");
            assert!(
                head.contains(&format!("\r\nallow: {}\r\n", method.to_ascii_lowercase())),
                "{other} {path} names the method it takes: {head}"
            );
        }
        let separator = if path.contains('?') { '&' } else { '?' };
        let in_query = format!("{path}{separator}token={ADMIN_TOKEN}");
        let head = server.admin_head(method, &in_query, None, body).await;
        assert_eq!(status_of(&head), ok, "{method} {path} with ?token=: {head}");
        let head = server
            .admin_head(method, path, Some(ADMIN_TOKEN), body)
            .await;
        assert_eq!(
            status_of(&head),
            ok,
            "{method} {path} with the admin token: {head}"
        );
    }
    // Unknown endpoints: 401 without the token, which reveals nothing; 404 with it.
    for path in ["/api/v1/nothing", "/api/v1/agents/alice", "/api/v2/stats"] {
        let head = server.admin_head("GET", path, None, "").await;
        let expected = if path.starts_with("/api/v1/") {
            401
        } else {
            404
        };
        assert_eq!(
            status_of(&head),
            expected,
            "GET {path} with no token: {head}"
        );
        let head = server.admin_head("GET", path, Some(ADMIN_TOKEN), "").await;
        assert_eq!(status_of(&head), 404, "GET {path}: {head}");
    }
    // The public paths need no token and take GET only (/readyz says 503: drained above).
    for (path, ok) in [
        ("/healthz", 200),
        ("/readyz", 503),
        ("/metrics", 200),
        ("/", 200),
        ("/index.html", 200),
        ("/dashboard.js", 200),
        ("/dashboard.css", 200),
    ] {
        let head = server.admin_head("GET", path, None, "").await;
        assert_eq!(status_of(&head), ok, "GET {path}: {head}");
        for other in ["POST", "PUT", "DELETE"] {
            let head = server.admin_head(other, path, None, "").await;
            assert_eq!(status_of(&head), 405, "{other} {path}: {head}");
            assert!(
                head.contains("\r\nallow: get\r\n"),
                "{other} {path}: {head}"
            );
        }
    }
    connector.assert_no_stray_frames(&["queue"]).await;
    server.stop(Stop::Fast).await;

    // An empty admin token disables the API, whatever is presented and however it is asked.
    let mut config = test_config();
    config.gateway.admin_token = String::new();
    let server = Server::start(config).await;
    for (method, path, body, _) in endpoints {
        for token in [None, Some(ADMIN_TOKEN), Some("")] {
            let head = server.admin_head(method, path, token, body).await;
            assert_eq!(
                status_of(&head),
                403,
                "{method} {path} while disabled: {head}"
            );
        }
    }
    assert_eq!(server.admin_get("/healthz").await.0, 200);
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

/// A reload with a real file: new connector keys, JWT secrets and admin token apply to new
/// connections and requests (the old ones are refused) while open sessions stay; a bad file is
/// refused with its error and changes nothing; SIGHUP reloads as the endpoint does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_applies_new_credentials_and_a_bad_file_keeps_the_running_ones() {
    const NEW_KEY: &str = "rotated-connector-key-0001";
    const NEW_ADMIN: &str = "rotated-admin-token-0001";
    const HUP_ADMIN: &str = "rotated-by-sighup-0002";
    let rotated = |admin: &'static str| {
        move |text: String| {
            text.replace("dev-connector-key-change-me", NEW_KEY)
                .replace("dev-jwt-secret-change-me", "rotated-jwt-secret-0001")
                .replace("dev-admin-token-change-me", admin)
        }
    };
    let scratch = Scratch::new("reload-credentials");
    let path = config_file(&scratch, |t| t);
    let server = Server::start_from_file(&path).await;
    let old_agent = server.token("default", "alice", "agent", &[("general", 5)], 1);
    let (mut open, _) = Client::connector(&server.addr).await;

    config_file(&scratch, rotated(NEW_ADMIN));
    let fresh = Config::load(&path).expect("the rotated file is valid");
    let new_agent = token_for(&fresh, "default", "alice", "agent", &[("general", 5)], 1);
    assert_eq!(
        server
            .admin_request("GET", "/api/v1/stats", Some(NEW_ADMIN), "")
            .await
            .0,
        401,
        "nothing applies before the reload"
    );
    let (code, body) = server.api("POST", "/api/v1/reload", "").await;
    assert_eq!(code, 200, "{body}");
    let outcome: Value = serde_json::from_str(&body).expect("JSON");
    for key in ["connectors", "gateway.admin_token", "tenants[].jwt_secret"] {
        assert!(
            outcome["applied"]
                .as_array()
                .is_some_and(|a| a.iter().any(|k| k == key)),
            "{key} applied: {outcome}"
        );
    }
    assert_eq!(outcome["restart_required"], json!([]), "{outcome}");
    let rotated_in = |admin: &'static str| {
        let server = &server;
        let (old_agent, new_agent) = (&old_agent, &new_agent);
        async move {
            assert_eq!(
                connect(&server.addr, "/v1/connector", CONNECTOR_KEY)
                    .await
                    .err(),
                Some(401),
                "the old connector key is refused"
            );
            assert_eq!(
                connect(&server.addr, "/v1/agent", old_agent).await.err(),
                Some(401),
                "a token signed with the old secret is refused"
            );
            let (status, _) = server
                .admin_request("GET", "/api/v1/stats", Some(ADMIN_TOKEN), "")
                .await;
            assert_eq!(status, 401, "the old admin token is refused");
            let mut connector = connect(&server.addr, "/v1/connector", NEW_KEY)
                .await
                .expect("the new connector key is accepted");
            assert_eq!(connector.hello(None).await["type"], "welcome");
            drop(connector);
            let (mut agent, welcome) = Client::agent(&server.addr, new_agent).await;
            assert_eq!(welcome["role"], "agent");
            agent.assert_no_stray_frames(&["status", "resumed"]).await;
            let (status, body) = server
                .admin_request("GET", "/api/v1/stats", Some(admin), "")
                .await;
            assert_eq!(status, 200, "the new admin token is accepted: {body}");
        }
    };
    // The session opened with the old key is not dropped by the reload (until the connector
    // connects again with its new key, which replaces it as any new connection would).
    open.send(json!({"type": "ping"})).await;
    open.expect("pong").await;
    rotated_in(NEW_ADMIN).await;
    assert_eq!(open.closed().await, Some(CloseCode::Normal));
    assert_eq!(open.close_reason(), "replaced");

    // A bad file: refused, saying so, and the running configuration stays as it was.
    scratch.write("switchboard.toml", "[gateway\nthis is not TOML\n");
    let (code, body) = server
        .admin_request("POST", "/api/v1/reload", Some(NEW_ADMIN), "")
        .await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("kept the running configuration"), "{body}");
    rotated_in(NEW_ADMIN).await;
    // A file that is valid TOML but an invalid configuration: the same.
    config_file(&scratch, |t| {
        rotated(NEW_ADMIN)(t).replace(
            "auth_failures_per_minute = 1000000",
            "auth_failures_per_minute = 0",
        )
    });
    let (code, body) = server
        .admin_request("POST", "/api/v1/reload", Some(NEW_ADMIN), "")
        .await;
    assert_eq!(code, 400, "{body}");
    assert!(
        body.contains("gateway.auth_failures_per_minute"),
        "names the key: {body}"
    );
    rotated_in(NEW_ADMIN).await;

    // SIGHUP reloads too (the signal reaches every gateway of this test process; the others
    // run without a file and refuse it). Its only report is the log, so the test waits, within
    // its patience, for the new admin token to be taken.
    config_file(&scratch, rotated(HUP_ADMIN));
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .expect("kill runs");
    assert!(hup.success());
    let mut taken = false;
    for _ in 0..150 {
        let (status, _) = server
            .admin_request("GET", "/api/v1/stats", Some(HUP_ADMIN), "")
            .await;
        if status == 200 {
            taken = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(taken, "SIGHUP applied the new admin token");
    let (status, _) = server
        .admin_request("GET", "/api/v1/stats", Some(NEW_ADMIN), "")
        .await;
    assert_eq!(status, 401, "the previous admin token is refused");
    rotated_in(HUP_ADMIN).await;
    server.stop(Stop::Fast).await;
}

/// One `stats` event a second, as docs/openapi.yaml says: judged by the gateway's own clock
/// (each event's `generated_at_ms`), never by how fast the test reads. Five consecutive events
/// must span four seconds within half a second, and none may follow the previous by more than
/// two: a one-second cadence meets both whatever the machine's load, a slower one cannot.
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
    let mut at_ms = Vec::new();
    let mut content_type = false;
    let mut named = 0;
    while at_ms.len() < 5 {
        // Deadline against a hang only: a 1 s cadence needs far less.
        let line = tokio::time::timeout(std::time::Duration::from_secs(15), lines.next_line())
            .await
            .expect("the stream keeps flowing")
            .expect("read")
            .expect("open");
        content_type |= line
            .to_ascii_lowercase()
            .starts_with("content-type: text/event-stream");
        named += usize::from(line == "event: stats");
        if let Some(data) = line.strip_prefix("data: ") {
            let stats: Value = serde_json::from_str(data).expect("each event is JSON");
            assert!(stats["tenants"].is_array());
            at_ms.push(stats["generated_at_ms"].as_u64().expect("generated_at_ms"));
        }
    }
    assert!(content_type);
    assert_eq!(named, at_ms.len(), "every event is a `stats` event");
    let gaps: Vec<i64> = at_ms
        .windows(2)
        .map(|w| w[1] as i64 - w[0] as i64)
        .collect();
    let span = at_ms[4] as i64 - at_ms[0] as i64;
    assert!(
        (3500..=4500).contains(&span),
        "four intervals of a second: {gaps:?}"
    );
    assert!(
        gaps.iter().all(|gap| (0..=2000).contains(gap)),
        "each event within two seconds of the previous: {gaps:?}"
    );
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
