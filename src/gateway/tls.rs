//! Optional TLS on the public listener (`wss://`) and the admin listener (`https://`): rustls
//! with the ring provider, TLS 1.2 and 1.3, ALPN `http/1.1`.
//!
//! Which listeners use TLS is fixed at startup. Their certificates are not: a reload re-reads
//! the files and swaps in a new rustls configuration, which only handshakes after the swap use.
//! A connection keeps the configuration it shook hands with, so open sockets are never dropped.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use switchboard_config::{ConfigError, GatewayConfig, TlsConfig};

/// How long a client has to complete the TLS handshake. Each handshake runs in its own
/// connection task, so a slow or silent client never holds up the accept loop; this bounds how
/// long it holds a socket and a task (a few KiB) before it is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS of both listeners; `None` where a listener speaks plain HTTP.
#[derive(Debug)]
pub struct Tls {
    /// `[gateway.tls]`.
    pub public: Option<Certificate>,
    /// `[gateway.admin_tls]`.
    pub admin: Option<Certificate>,
}

impl Tls {
    /// Reads every configured certificate and key. An error names the key whose file is missing
    /// or invalid, e.g. `gateway.tls.cert_file: cannot read "cert.pem": No such file…`.
    pub fn load(gateway: &GatewayConfig) -> Result<Tls, ConfigError> {
        let certificate = |key: &'static str, files: &Option<TlsConfig>| {
            files
                .as_ref()
                .map(|files| {
                    Ok::<_, ConfigError>(Certificate {
                        key,
                        current: RwLock::new(Arc::new(Loaded::read(key, files)?)),
                    })
                })
                .transpose()
        };
        Ok(Tls {
            public: certificate("gateway.tls", &gateway.tls)?,
            admin: certificate("gateway.admin_tls", &gateway.admin_tls)?,
        })
    }

    /// Re-reads the files `gateway` names for each listener that has TLS, and swaps the new
    /// certificates in only if every one of them loads: a bad file keeps all the old ones.
    /// Returns the keys whose certificate chain changed. A listener whose table was removed
    /// keeps its certificate (turning TLS off needs a restart).
    pub fn reload(&self, gateway: &GatewayConfig) -> Result<Vec<String>, ConfigError> {
        let fresh = [
            (&self.public, &gateway.tls),
            (&self.admin, &gateway.admin_tls),
        ]
        .into_iter()
        .filter_map(|(certificate, files)| Some((certificate.as_ref()?, files.as_ref()?)))
        .map(|(certificate, files)| Ok((certificate, Loaded::read(certificate.key, files)?)))
        .collect::<Result<Vec<_>, ConfigError>>()?;
        let mut changed = Vec::new();
        for (certificate, loaded) in fresh {
            if certificate.current.read().chain != loaded.chain {
                changed.push(certificate.key.to_string());
            }
            *certificate.current.write() = Arc::new(loaded);
        }
        Ok(changed)
    }
}

/// One listener's current certificate, replaced whole by a reload.
#[derive(Debug)]
pub struct Certificate {
    /// The configuration table it comes from, for errors and reload reports.
    key: &'static str,
    /// Read for the length of an `Arc` clone per handshake, written once per reload; never held
    /// across an `.await`.
    current: RwLock<Arc<Loaded>>,
}

impl Certificate {
    /// An acceptor with the current certificate.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(&self.current.read().config))
    }
}

/// A certificate chain and the rustls configuration that serves it.
struct Loaded {
    /// Kept to tell whether a reload changed anything.
    chain: Vec<CertificateDer<'static>>,
    config: Arc<ServerConfig>,
}

impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl Loaded {
    fn read(key: &str, files: &TlsConfig) -> Result<Loaded, ConfigError> {
        let cert_key = format!("{key}.cert_file");
        let key_key = format!("{key}.key_file");
        let cert_pem = read(&cert_key, &files.cert_file)?;
        let key_pem = read(&key_key, &files.key_file)?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                ConfigError::new(&cert_key, format!("not a PEM certificate chain: {e}"))
            })?;
        if chain.is_empty() {
            return Err(ConfigError::new(cert_key, "holds no PEM CERTIFICATE block"));
        }
        let private = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| ConfigError::new(&key_key, format!("no usable PEM private key: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| ConfigError::new(key, format!("TLS setup failed: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain.clone(), private)
            .map_err(|e| describe(&cert_key, &key_key, e))?;
        // The only protocol either listener speaks; a client that offers ALPN must offer it.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Loaded {
            chain,
            config: Arc::new(config),
        })
    }
}

fn read(key: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path)
        .map_err(|e| ConfigError::new(key, format!("cannot read {}: {e}", path.display())))
}

/// Blames the file a rustls error is about: a key that does not match the certificate or cannot
/// be used is the key file's fault, anything else the certificate's.
fn describe(cert_key: &str, key_key: &str, error: rustls::Error) -> ConfigError {
    match error {
        rustls::Error::InconsistentKeys(_) => {
            ConfigError::new(key_key, "does not match the first certificate of the chain")
        }
        rustls::Error::General(_) => ConfigError::new(key_key, format!("unusable key: {error}")),
        _ => ConfigError::new(cert_key, format!("unusable certificate: {error}")),
    }
}

/// The server side of a TLS handshake, bounded by [`HANDSHAKE_TIMEOUT`]. `None` when the client
/// failed it or took too long; the socket is then dropped.
pub async fn handshake(acceptor: TlsAcceptor, stream: TcpStream) -> Option<TlsStream<TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(error)) => {
            tracing::debug!(%error, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            None
        }
    }
}
