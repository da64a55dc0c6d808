//! Certificates made by the tests themselves: a CA, server certificates it signs for 127.0.0.1,
//! PEM files in a scratch directory, and client transports that trust the CA.

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use switchboard_config::EMBEDDED_TOML;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use super::gateway::Transport;

/// A certificate authority that lives for one test.
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
}

/// A server certificate and its key.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    /// What a client sees as the server's certificate.
    pub der: Vec<u8>,
}

impl Authority {
    pub fn new() -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "switchboard test CA");
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        Authority {
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for 127.0.0.1 with a fresh key; `name` tells certificates apart.
    pub fn issue(&self, name: &str) -> Issued {
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }

    /// A client transport that trusts this CA only and offers ALPN `http/1.1`.
    pub fn transport(&self) -> Transport {
        let mut roots = RootCertStore::empty();
        roots.add(self.der.clone()).expect("CA accepted as a root");
        let mut config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Transport::Tls(Arc::new(config))
    }
}

/// A directory of its own for one test, removed when dropped.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(test: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("switchboard-test-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Scratch { dir }
    }

    /// Writes (or overwrites) a file in it.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).expect("scratch file");
        path
    }

    /// Writes a certificate and its key as `NAME.crt` and `NAME.key`: (cert path, key path).
    pub fn write_issued(&self, name: &str, issued: &Issued) -> (PathBuf, PathBuf) {
        (
            self.write(&format!("{name}.crt"), &issued.cert_pem),
            self.write(&format!("{name}.key"), &issued.key_pem),
        )
    }

    /// `switchboard.toml`: the embedded configuration plus `extra` (TOML tables).
    pub fn config(&self, extra: &str) -> PathBuf {
        self.write(
            "switchboard.toml",
            &format!("{EMBEDDED_TOML}\n# added by the test\n{extra}"),
        )
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `[gateway.tls]`-shaped table for these files.
pub fn tls_table(table: &str, cert: &std::path::Path, key: &std::path::Path) -> String {
    format!(
        "[{table}]\ncert_file = '{}'\nkey_file = '{}'\n",
        cert.display(),
        key.display()
    )
}
