//! FTPS for the client (RFC 4217): how certificates are checked, and the session cache that
//! lets data connections resume the control connection's TLS session.
//!
//! Servers that protect their data connections against theft (vsftpd with
//! `require_ssl_reuse=YES`, ProFTPD, FileZilla Server, ours) accept a data connection only
//! when it resumes the control connection's TLS session. So each control connection gets a
//! session cache of its own, and its data connections use it with the control connection's
//! server name, which is what the cache is keyed by (never the address a `227` reply names).

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use ftp_runtime::tls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use ftp_runtime::tls::rustls::client::{
    ClientSessionMemoryCache, Resumption, TicketRequest, WebPkiServerVerifier,
};
use ftp_runtime::tls::rustls::crypto::{
    CryptoProvider, verify_tls12_signature, verify_tls13_signature,
};
use ftp_runtime::tls::rustls::pki_types::pem::PemObject;
use ftp_runtime::tls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use ftp_runtime::tls::rustls::{self, ClientConfig, DigitallySignedStruct, RootCertStore};

/// Sessions kept (per server name) for resumption.
const CACHED_SESSIONS: usize = 64;

/// How the client secures connections: the certificate check, and the settings of each
/// connection's own session cache. Cheap to clone.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
    insecure: bool,
    /// How certificates are checked, to rebuild the configuration with other versions.
    verifier: Option<(Arc<dyn ServerCertVerifier>, Arc<CryptoProvider>)>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("insecure", &self.insecure)
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// Server certificates checked against the system's trusted roots (the default).
    ///
    /// # Errors
    /// When the system's store has no usable certificate.
    pub fn with_system_roots() -> io::Result<Self> {
        let found = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no trusted root certificate found on this system",
            ));
        }
        Self::with_roots(roots)
    }

    /// Server certificates checked against the CA certificates in a PEM file (a private CA,
    /// a self-signed server's own certificate).
    ///
    /// # Errors
    /// When the file cannot be read or holds no certificate.
    pub fn with_ca_file(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let pem = std::fs::read(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Self::with_ca_pem(&pem)
    }

    /// [`with_ca_file`](Self::with_ca_file) from PEM bytes.
    ///
    /// # Errors
    /// When the input holds no usable certificate.
    pub fn with_ca_pem(pem: &[u8]) -> io::Result<Self> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| invalid(format!("CA certificate: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| invalid(format!("CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(invalid("no certificate in the CA file".into()));
        }
        Self::with_roots(roots)
    }

    /// No certificate check at all: any server, or anyone in the middle, is accepted. For
    /// self-signed test servers only; the connection is encrypted but not authenticated.
    ///
    /// # Errors
    /// When no crypto provider is available.
    pub fn dangerous_accept_any_certificate() -> io::Result<Self> {
        let provider = ftp_runtime::tls::provider()?;
        let verifier = Arc::new(AnyCertificate(Arc::clone(&provider)));
        Ok(Self::with_verifier(verifier, provider, rustls::DEFAULT_VERSIONS)?.insecure())
    }

    /// TLS 1.2 only. For servers that issue TLS 1.3 session tickets on data connections only
    /// when they send data on them (ProFTPD, OpenSSL's default) and insist on session reuse:
    /// rustls presents each TLS 1.3 ticket once, so a long run of uploads runs out of
    /// tickets and the server refuses the data connections (`425`), while a TLS 1.2 session
    /// can be resumed any number of times. Not for configurations from
    /// [`from_rustls`](Self::from_rustls), whose versions are the caller's.
    ///
    /// # Errors
    /// For a configuration from [`from_rustls`](Self::from_rustls).
    pub fn tls12_only(self) -> io::Result<Self> {
        let Some((verifier, provider)) = self.verifier.clone() else {
            return Err(invalid(
                "tls12_only: set the versions in the rustls configuration instead".into(),
            ));
        };
        let insecure = self.insecure;
        let mut tls = Self::with_verifier(verifier, provider, &[&rustls::version::TLS12])?;
        tls.insecure = insecure;
        Ok(tls)
    }

    fn with_verifier(
        verifier: Arc<dyn ServerCertVerifier>,
        provider: Arc<CryptoProvider>,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> io::Result<Self> {
        let config = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .map_err(|e| invalid(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::clone(&verifier))
            .with_no_client_auth();
        let mut tls = Self::from_rustls(config);
        tls.verifier = Some((verifier, provider));
        Ok(tls)
    }

    /// A rustls configuration of the caller's (client certificates, versions, a custom
    /// verifier). Its resumption settings are replaced by a session cache of its own.
    pub fn from_rustls(mut config: ClientConfig) -> Self {
        config.resumption =
            Resumption::store(Arc::new(ClientSessionMemoryCache::new(CACHED_SESSIONS)));
        // RFC 9149: one ticket for each data connection that resumed (servers that keep
        // data connections from sending tickets, as ours does, honour the request), so a
        // long mirror never runs out; rustls spends each TLS 1.3 ticket once.
        config.send_ticket_request = Some(TicketRequest {
            new_session_count: 4,
            resumption_count: 1,
        });
        Self {
            config: Arc::new(config),
            insecure: false,
            verifier: None,
        }
    }

    fn with_roots(roots: RootCertStore) -> io::Result<Self> {
        let provider = ftp_runtime::tls::provider()?;
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .build()
                .map_err(|e| invalid(e.to_string()))?;
        Self::with_verifier(verifier, provider, rustls::DEFAULT_VERSIONS)
    }

    fn insecure(mut self) -> Self {
        self.insecure = true;
        self
    }

    /// Whether certificates go unchecked ([`dangerous_accept_any_certificate`](Self::dangerous_accept_any_certificate)).
    pub fn is_insecure(&self) -> bool {
        self.insecure
    }

    /// The connector of one control connection and its data connections: a session cache
    /// of its own, so that a data connection can only offer its own control connection's
    /// session. (Clients sharing one cache, keyed by server name, would offer each other's
    /// sessions, which a server that checks reuse refuses.)
    pub(crate) fn connector(&self) -> ftp_runtime::tls::futures_rustls::TlsConnector {
        let mut config = (*self.config).clone();
        config.resumption =
            Resumption::store(Arc::new(ClientSessionMemoryCache::new(CACHED_SESSIONS)));
        ftp_runtime::tls::futures_rustls::TlsConnector::from(Arc::new(config))
    }
}

/// The server name a certificate must carry: a DNS name, or an address literal.
pub(crate) fn server_name(host: &str) -> io::Result<ServerName<'static>> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned())
        .map_err(|e| invalid(format!("{host:?} is no valid TLS server name: {e}")))
}

fn invalid(text: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, text)
}

/// Accepts every certificate; handshake signatures are still checked, so the peer holds the
/// key of the certificate it showed.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
