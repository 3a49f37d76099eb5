//! HTTP clients whose TLS roots (the system's) are loaded once per process, and only when
//! a TLS connection is first made.
//!
//! `reqwest`'s default rustls verifier reads the system's CA certificates every time a
//! client is built: on Debian, the bundle and then every file of `/etc/ssl/certs`, about
//! 20 ms each time, and a `hallmark verify` builds several clients (registry, Rekor, ...),
//! most of which never open a TLS connection against a local stack. [`client_builder`]
//! gives every client one rustls configuration whose certificate verifier loads the
//! native roots (`rustls-native-certs`, which honours `SSL_CERT_FILE` / `SSL_CERT_DIR`) on
//! the first server certificate it verifies, once for the whole process, and then
//! verifies as rustls' WebPKI verifier does. Trust is unchanged: the system's roots, plus
//! the extra roots a caller passes ([`client_builder_with_roots`], e.g. `--registry-ca`).
//! A system without any root certificate fails every TLS connection with a clear error.

use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The `User-Agent` of every hallmark HTTP request.
pub const USER_AGENT: &str = concat!("hallmark/", env!("CARGO_PKG_VERSION"));

/// The system's trusted root certificates, loaded on first use, without duplicates (the
/// bundle file and the directory hold the same certificates).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        for e in &loaded.errors {
            tracing::debug!(error = %e, "skipping a system root certificate source");
        }
        let mut seen = std::collections::HashSet::new();
        loaded
            .certs
            .into_iter()
            .filter(|c| seen.insert(c.as_ref().to_vec()))
            .collect()
    })
}

/// The crypto provider of every TLS connection (aws-lc-rs, the crate's one provider).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A server certificate verifier that builds rustls' WebPKI verifier over the system's
/// roots (and extra roots) when it first verifies a certificate.
#[derive(Debug)]
struct LazyRoots {
    extra: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
    inner: OnceLock<Result<Arc<WebPkiServerVerifier>, String>>,
}

impl LazyRoots {
    fn verifier(&self) -> Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
        self.inner
            .get_or_init(|| {
                let mut store = rustls::RootCertStore::empty();
                let (_, ignored) = store.add_parsable_certificates(system_roots().iter().cloned());
                if ignored > 0 {
                    tracing::debug!(ignored, "system root certificates that do not parse");
                }
                for c in &self.extra {
                    store
                        .add(c.clone())
                        .map_err(|e| format!("an extra root certificate: {e}"))?;
                }
                if store.is_empty() {
                    return Err("no trusted root certificate: the system has none \
                                (SSL_CERT_FILE / SSL_CERT_DIR) and none was given"
                        .to_owned());
                }
                WebPkiServerVerifier::builder_with_provider(Arc::new(store), self.provider.clone())
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| rustls::Error::General(e.clone()))
    }
}

impl ServerCertVerifier for LazyRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A rustls client configuration trusting the system's roots and `extra`.
fn tls_config(extra: Vec<CertificateDer<'static>>) -> Option<rustls::ClientConfig> {
    let provider = provider();
    let verifier = Arc::new(LazyRoots {
        extra,
        provider: provider.clone(),
        inner: OnceLock::new(),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Some(config)
}

/// A `reqwest` client builder with hallmark's user agent, trusting the system's roots
/// (loaded once, at the first TLS connection). Callers add their timeouts.
pub fn client_builder() -> reqwest::ClientBuilder {
    static CONFIG: OnceLock<Option<rustls::ClientConfig>> = OnceLock::new();
    let builder = reqwest::Client::builder().user_agent(USER_AGENT);
    match CONFIG.get_or_init(|| tls_config(Vec::new())) {
        Some(c) => builder.tls_backend_preconfigured(c.clone()),
        None => builder,
    }
}

/// [`client_builder`], also trusting `extra` root certificates (DER).
pub fn client_builder_with_roots(extra: Vec<CertificateDer<'static>>) -> reqwest::ClientBuilder {
    if extra.is_empty() {
        return client_builder();
    }
    let builder = reqwest::Client::builder().user_agent(USER_AGENT);
    match tls_config(extra) {
        Some(c) => builder.tls_backend_preconfigured(c),
        None => builder,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_load_once_and_clients_build() {
        assert!(client_builder().build().is_ok());
        assert!(client_builder().build().is_ok());
        let first = system_roots().as_ptr();
        assert_eq!(first, system_roots().as_ptr(), "loaded once");
    }

    #[test]
    fn a_bad_extra_root_fails_the_handshake_not_the_build() {
        let v = LazyRoots {
            extra: vec![CertificateDer::from(vec![0x30, 0x00])],
            provider: provider(),
            inner: OnceLock::new(),
        };
        let err = v
            .verifier()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("extra root certificate"), "{err}");
    }
}
