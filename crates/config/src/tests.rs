//! Unit tests of loading and validation.

use std::path::PathBuf;

use crate::*;

#[test]
fn embedded_file_is_valid() {
    let config = Config::from_toml_str(EMBEDDED_TOML).expect("embedded config must validate");
    assert_eq!(config.default_tenant().id, "default");
}

#[test]
fn empty_file_gives_a_default_tenant() {
    let config = Config::from_toml_str("").expect("empty config is valid");
    assert_eq!(config, Config::default());
}

#[test]
fn unknown_key_is_named() {
    let err = Config::from_toml_str("[[tenants]]\nid = \"a\"\nqueus = []\n").unwrap_err();
    assert!(err.to_string().contains("queus"), "{err}");
}

#[test]
fn dangling_default_queue_names_the_key() {
    let text = "[[tenants]]\nid = \"a\"\ndefault_queue = \"nope\"\n";
    let err = Config::from_toml_str(text).unwrap_err();
    assert_eq!(err.key, "tenants[0].default_queue");
    assert!(err.reason.contains("nope"));
}

#[test]
fn route_to_unknown_queue_names_the_key() {
    let text = "[[tenants]]\nid = \"a\"\n[[tenants.routes]]\nqueue = \"ghost\"\n";
    let err = Config::from_toml_str(text).unwrap_err();
    assert_eq!(err.key, "tenants[0].routes[0].queue");
}

#[test]
fn zero_aging_is_rejected() {
    let text = "[[tenants]]\nid = \"a\"\n[tenants.priority]\naging_points_per_minute = 0\n";
    let err = Config::from_toml_str(text).unwrap_err();
    assert_eq!(err.key, "tenants[0].priority.aging_points_per_minute");
}

#[test]
fn wrong_type_is_reported_with_its_line() {
    let text = "[[tenants]]\nid = \"a\"\n[tenants.sla]\nvip_secs = \"fast\"\n";
    let err = Config::from_toml_str(text).unwrap_err();
    assert!(err.key.starts_with("line 4"), "{err}");
}

#[test]
fn a_recover_level_below_the_threshold_is_rejected() {
    let text = "[[tenants]]\nid = \"a\"\n[tenants.handoff]\nsentiment_threshold = -0.5\nsentiment_recover = -0.6\n";
    let err = Config::from_toml_str(text).unwrap_err();
    assert_eq!(err.key, "tenants[0].handoff.sentiment_recover");
}

#[test]
fn a_tls_table_needs_both_files_and_names_the_key() {
    let err = Config::from_toml_str("[gateway.tls]\ncert_file = \"c.pem\"\n").unwrap_err();
    assert!(err.reason.contains("key_file"), "{err}");
    let text = "[gateway.admin_tls]\ncert_file = \"c.pem\"\nkey_file = \"\"\n";
    let err = Config::from_toml_str(text).unwrap_err();
    assert_eq!(err.key, "gateway.admin_tls.key_file");
    let text = "[gateway.tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n";
    let config = Config::from_toml_str(text).expect("both files named");
    assert_eq!(
        config.gateway.tls.map(|t| t.key_file),
        Some(PathBuf::from("k.pem"))
    );
    assert_eq!(config.gateway.admin_tls, None);
}

#[test]
fn connection_limits_name_their_key() {
    let err = Config::from_toml_str("[gateway]\nlisten_backlog = 0\n").unwrap_err();
    assert_eq!(err.key, "gateway.listen_backlog");
    let text = "[gateway]\nmax_connections = 10\nmax_handshaking_connections = 11\n";
    let err = Config::from_toml_str(text).unwrap_err();
    assert_eq!(err.key, "gateway.max_handshaking_connections");
    assert!(err.reason.contains("between 1 and 10"), "{err}");
    let err = Config::from_toml_str("[gateway]\nauth_failures_per_minute = 0\n").unwrap_err();
    assert_eq!(err.key, "gateway.auth_failures_per_minute");
    let err = Config::from_toml_str("[gateway]\nheader_read_timeout_ms = 1\n").unwrap_err();
    assert_eq!(err.key, "gateway.header_read_timeout_ms");
}

#[test]
fn a_transcript_bytes_that_could_overflow_an_offer_frame_names_the_key() {
    for bytes in [TRANSCRIPT_BYTES_MAX + 1, TRANSCRIPT_BYTES_MIN - 1] {
        let text =
            format!("[[tenants]]\nid = \"a\"\n[tenants.timing]\ntranscript_bytes = {bytes}\n");
        let err = Config::from_toml_str(&text).unwrap_err();
        assert_eq!(err.key, "tenants[0].timing.transcript_bytes");
    }
}

#[test]
fn duplicate_tenant_is_rejected() {
    let text = "[[tenants]]\nid = \"a\"\n[[tenants]]\nid = \"a\"\n";
    let err = Config::from_toml_str(text).unwrap_err();
    assert_eq!(err.key, "tenants[1].id");
}

#[test]
fn a_tenant_configuration_survives_a_json_round_trip_as_the_journal_stores_it() {
    let config = Config::embedded();
    for tenant in &config.tenants {
        let text = serde_json::to_string(tenant).unwrap();
        let back: TenantConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, tenant);
    }
}

#[test]
fn the_journal_defaults_to_batch_syncing_into_data_and_rejects_nonsense() {
    let config = Config::embedded();
    assert_eq!(config.journal.dir, std::path::PathBuf::from("data"));
    assert_eq!(config.journal.fsync, FsyncMode::Batch);
    assert!(config.journal.enabled());
    let error = Config::from_toml_str("[journal]\nsnapshot_secs = 0\n").unwrap_err();
    assert_eq!(error.key, "journal.snapshot_secs");
    let error = Config::from_toml_str("[journal]\nfsync = \"sometimes\"\n").unwrap_err();
    assert!(error.reason.contains("batch"), "{error}");
}
