//! TLS for Postgres connections: the libpq `sslmode` ladder on rustls, shared by the
//! replication client (which speaks the wire protocol itself) and by ordinary
//! tokio-postgres connections used for catalog queries ([`connect_sql`]).
//!
//! ```text
//!   TcpStream --SSLRequest--> 'S' --rustls handshake--> PgStream::Tls ---> wire protocol
//!                         \-> 'N' --(prefer only)-----> PgStream::Plain
//! ```
//!
//! Verification per mode, as libpq does it:
//!
//! | sslmode       | chain checked            | host name checked |
//! |---------------|--------------------------|-------------------|
//! | `disable`     | no TLS at all            |                   |
//! | `prefer`      | no (TLS if offered)      | no                |
//! | `require`     | only if `sslrootcert` set| no                |
//! | `verify-ca`   | yes                      | no                |
//! | `verify-full` | yes                      | yes (DNS or IP)   |
//!
//! Handshake signatures are always verified, so a certificate that is accepted without a
//! chain still has to belong to the peer. The *ring* provider is passed explicitly to every
//! config; nothing relies on a process-wide default provider being installed.

use std::fs::File;
use std::future::Future;
use std::io::{self, BufReader};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::replication::{ConnectParams, ReplicationError, SslMode};

/// A connection to the server, with or without TLS.
pub(crate) enum PgStream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl PgStream {
    /// `tls-server-end-point` channel-binding data (RFC 5929) for SCRAM-SHA-256-PLUS, when
    /// the connection is encrypted and the server certificate's hash can be determined.
    pub(crate) fn channel_binding(&self) -> Option<Vec<u8>> {
        match self {
            PgStream::Plain(_) => None,
            PgStream::Tls(tls) => tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|certs| certs.first())
                .and_then(|cert| tls_server_end_point(cert)),
        }
    }
}

impl AsyncRead for PgStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PgStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            PgStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PgStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PgStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            PgStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PgStream::Plain(s) => Pin::new(s).poll_flush(cx),
            PgStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PgStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            PgStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Runs the SSLRequest exchange on a fresh TCP connection and, depending on `sslmode`,
/// upgrades it to TLS.
pub(crate) async fn negotiate(
    mut tcp: TcpStream,
    params: &ConnectParams,
    addr: &str,
) -> Result<PgStream, ReplicationError> {
    let Some(config) = client_config(params, addr)? else {
        return Ok(PgStream::Plain(tcp));
    };
    let io_err = |source| ReplicationError::Io {
        addr: addr.to_owned(),
        source,
    };
    let mut request = BytesMut::with_capacity(8);
    postgres_protocol::message::frontend::ssl_request(&mut request);
    tcp.write_all_buf(&mut request).await.map_err(io_err)?;
    tcp.flush().await.map_err(io_err)?;
    let answer = tcp.read_u8().await.map_err(io_err)?;
    match answer {
        b'S' => {}
        b'N' if params.sslmode == SslMode::Prefer => return Ok(PgStream::Plain(tcp)),
        b'N' => {
            return Err(ReplicationError::Tls {
                addr: addr.to_owned(),
                reason: format!(
                    "the server does not accept TLS connections but sslmode is {}; enable ssl \
                     on the server or lower sslmode",
                    params.sslmode
                ),
                source: None,
            })
        }
        // An 'E' here is a pre-protocol-3 error; anything else is not Postgres.
        other => {
            return Err(ReplicationError::Protocol(format!(
                "unexpected answer {:?} to SSLRequest from {addr}; is this a postgres server?",
                char::from(other)
            )))
        }
    }
    let server_name = server_name(&params.host, params.sslmode, addr)?;
    let tls = TlsConnector::from(config)
        .connect(server_name, tcp)
        .await
        .map_err(|e| tls_handshake_error(addr, params.sslmode, e))?;
    Ok(PgStream::Tls(Box::new(tls)))
}

/// Builds the rustls client config for `params.sslmode`, or `None` for `disable`.
pub(crate) fn client_config(
    params: &ConnectParams,
    addr: &str,
) -> Result<Option<Arc<ClientConfig>>, ReplicationError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config_err = |reason: String, source: Option<rustls::Error>| ReplicationError::Tls {
        addr: addr.to_owned(),
        reason,
        source: source.map(|e| Box::new(e) as _),
    };
    let verifier: Arc<dyn ServerCertVerifier> = match params.sslmode {
        SslMode::Disable => return Ok(None),
        // libpq: with a root certificate present, `require` behaves like `verify-ca`.
        SslMode::Prefer | SslMode::Require if params.sslrootcert.is_none() => {
            Arc::new(AcceptAnyServerCert {
                algorithms: provider.signature_verification_algorithms,
            })
        }
        SslMode::Prefer | SslMode::Require | SslMode::VerifyCa => Arc::new(ChainOnlyVerifier {
            roots: Arc::new(root_store(params, addr)?),
            algorithms: provider.signature_verification_algorithms,
        }),
        SslMode::VerifyFull => rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(root_store(params, addr)?),
            provider.clone(),
        )
        .build()
        .map_err(|e| ReplicationError::Tls {
            addr: addr.to_owned(),
            reason: "cannot build the certificate verifier from sslrootcert; check that it \
                         holds valid ca certificates"
                .to_owned(),
            source: Some(Box::new(e)),
        })?,
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| {
            config_err(
                "the ring provider supports no tls version".to_owned(),
                Some(e),
            )
        })?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match (&params.sslcert, &params.sslkey) {
        (Some(cert), Some(key)) => {
            let chain = load_certs(cert, addr)?;
            let key = load_key(key, addr)?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                config_err(
                    "sslcert and sslkey do not form a usable client certificate; check that the \
                     key belongs to the certificate"
                        .to_owned(),
                    Some(e),
                )
            })?
        }
        (None, None) => builder.with_no_client_auth(),
        (Some(_), None) | (None, Some(_)) => {
            return Err(config_err(
                "sslcert and sslkey must be set together".to_owned(),
                None,
            ))
        }
    };
    Ok(Some(Arc::new(config)))
}

/// The name to verify and send as SNI. Only `verify-full` needs it to be right; the other
/// modes fall back to a placeholder for hosts that are not valid DNS names.
fn server_name(
    host: &str,
    mode: SslMode,
    addr: &str,
) -> Result<ServerName<'static>, ReplicationError> {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match ServerName::try_from(host.to_owned()) {
        Ok(name) => Ok(name),
        Err(_) if mode != SslMode::VerifyFull => {
            Ok(ServerName::from(std::net::IpAddr::from([127, 0, 0, 1])))
        }
        Err(e) => Err(ReplicationError::Tls {
            addr: addr.to_owned(),
            reason: format!(
                "host {host:?} is not a valid dns name or ip address, so sslmode=verify-full \
                 cannot check it; connect by a name the server certificate carries"
            ),
            source: Some(Box::new(e)),
        }),
    }
}

fn root_store(params: &ConnectParams, addr: &str) -> Result<RootCertStore, ReplicationError> {
    let mut roots = RootCertStore::empty();
    match &params.sslrootcert {
        Some(path) => {
            for cert in load_certs(path, addr)? {
                roots.add(cert).map_err(|e| ReplicationError::Tls {
                    addr: addr.to_owned(),
                    reason: format!(
                        "sslrootcert {} holds a certificate that cannot be used as a trust \
                         anchor",
                        path.display()
                    ),
                    source: Some(Box::new(e)),
                })?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(roots)
}

fn load_certs(path: &Path, addr: &str) -> Result<Vec<CertificateDer<'static>>, ReplicationError> {
    let read_err = |source: io::Error| ReplicationError::Tls {
        addr: addr.to_owned(),
        reason: format!(
            "cannot read pem certificates from {}; check the path and permissions",
            path.display()
        ),
        source: Some(Box::new(source)),
    };
    let file = File::open(path).map_err(read_err)?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(file))
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_err)?;
    if certs.is_empty() {
        return Err(ReplicationError::Tls {
            addr: addr.to_owned(),
            reason: format!(
                "{} contains no pem certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ),
            source: None,
        });
    }
    Ok(certs)
}

fn load_key(path: &Path, addr: &str) -> Result<PrivateKeyDer<'static>, ReplicationError> {
    let read_err = |source: io::Error| ReplicationError::Tls {
        addr: addr.to_owned(),
        reason: format!(
            "cannot read the pem private key from sslkey {}; check the path and permissions",
            path.display()
        ),
        source: Some(Box::new(source)),
    };
    let file = File::open(path).map_err(read_err)?;
    rustls_pemfile::private_key(&mut BufReader::new(file))
        .map_err(read_err)?
        .ok_or_else(|| ReplicationError::Tls {
            addr: addr.to_owned(),
            reason: format!(
                "sslkey {} contains no pem private key (pkcs#8, pkcs#1 or sec1)",
                path.display()
            ),
            source: None,
        })
}

/// Turns a failed handshake into an error that says what to change.
fn tls_handshake_error(addr: &str, mode: SslMode, error: io::Error) -> ReplicationError {
    let rustls_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned();
    match rustls_error {
        Some(e) => ReplicationError::Tls {
            addr: addr.to_owned(),
            reason: describe_rustls_error(&e, mode),
            source: Some(Box::new(e)),
        },
        None => ReplicationError::Io {
            addr: addr.to_owned(),
            source: error,
        },
    }
}

fn describe_rustls_error(error: &rustls::Error, mode: SslMode) -> String {
    use rustls::CertificateError as C;
    match error {
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => format!(
            "tls handshake failed (sslmode={mode}): the server certificate is not signed by a \
             trusted ca; set sslrootcert to the ca that issued the server certificate"
        ),
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => {
            format!(
                "tls handshake failed (sslmode={mode}): the server certificate does not name \
                 this host; connect with a host name the certificate carries, or use \
                 sslmode=verify-ca"
            )
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => format!(
            "tls handshake failed (sslmode={mode}): the server certificate has expired; renew it"
        ),
        _ => format!("tls handshake failed (sslmode={mode})"),
    }
}

/// `require`/`prefer` without a root certificate: any certificate is accepted, but the
/// handshake signature must still be made by its key.
#[derive(Debug)]
struct AcceptAnyServerCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
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
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the host name is not checked.
#[derive(Debug)]
struct ChainOnlyVerifier {
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ChainOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// RFC 5929 `tls-server-end-point`: the server certificate hashed with the hash of its
/// signature algorithm, where MD5 and SHA-1 are upgraded to SHA-256. Returns `None` for
/// algorithms without a defined hash (RSASSA-PSS with parameters, Ed25519), in which case
/// SCRAM runs without channel binding, as the server does too.
fn tls_server_end_point(cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
    // DER: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
    let (_, certificate, _) = der_tlv(cert.as_ref(), 0x30)?;
    let (_, _, rest) = der_tlv(certificate, 0x30)?;
    let (_, algorithm, _) = der_tlv(rest, 0x30)?;
    let (_, oid, _) = der_tlv(algorithm, 0x06)?;
    const RSA_PREFIX: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01];
    const ECDSA_PREFIX: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03];
    let digest = match oid {
        // md5, sha1, sha256 with RSA
        [p @ .., 0x04 | 0x05 | 0x0B] if p == RSA_PREFIX => &ring::digest::SHA256,
        [p @ .., 0x0C] if p == RSA_PREFIX => &ring::digest::SHA384,
        [p @ .., 0x0D] if p == RSA_PREFIX => &ring::digest::SHA512,
        // ecdsa-with-SHA1 1.2.840.10045.4.1
        [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x01] => &ring::digest::SHA256,
        [p @ .., 0x02] if p == ECDSA_PREFIX => &ring::digest::SHA256,
        [p @ .., 0x03] if p == ECDSA_PREFIX => &ring::digest::SHA384,
        [p @ .., 0x04] if p == ECDSA_PREFIX => &ring::digest::SHA512,
        _ => return None,
    };
    Some(
        ring::digest::digest(digest, cert.as_ref())
            .as_ref()
            .to_vec(),
    )
}

/// Reads one DER TLV with the expected tag: `(tag, contents, rest)`.
fn der_tlv(input: &[u8], tag: u8) -> Option<(u8, &[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = rest.get(..count)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest.get(count..)?)
    };
    Some((found, rest.get(..len)?, rest.get(len..)?))
}

// ---------------------------------------------------------------------------------------
// tokio-postgres: the same TLS settings for ordinary (non-replication) connections.
// ---------------------------------------------------------------------------------------

/// [`tokio_postgres::tls::MakeTlsConnect`] over tokio-rustls with the verification rules
/// of [`ConnectParams::sslmode`]. Build it with [`make_tokio_postgres_tls`].
#[derive(Clone)]
pub struct MakeRustlsConnect {
    config: Option<Arc<ClientConfig>>,
    mode: SslMode,
    host: String,
    addr: String,
}

impl std::fmt::Debug for MakeRustlsConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MakeRustlsConnect")
            .field("mode", &self.mode)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// One TLS handshake for tokio-postgres.
pub struct RustlsConnect {
    config: Option<Arc<ClientConfig>>,
    server_name: ServerName<'static>,
    mode: SslMode,
    addr: String,
}

/// A TLS stream handed to tokio-postgres; provides channel binding for SCRAM-SHA-256-PLUS.
pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

/// The TLS connector to pass to `tokio_postgres::Config::connect` for `params`.
///
/// tokio-postgres itself only knows `disable`/`prefer`/`require`; use
/// [`tokio_postgres_ssl_mode`] for its config, the connector does the verification.
pub fn make_tokio_postgres_tls(
    params: &ConnectParams,
) -> Result<MakeRustlsConnect, ReplicationError> {
    let addr = params.addr();
    Ok(MakeRustlsConnect {
        config: client_config(params, &addr)?,
        mode: params.sslmode,
        host: params.host.clone(),
        addr,
    })
}

/// The tokio-postgres `sslmode` matching ours (verification lives in the connector).
pub fn tokio_postgres_ssl_mode(mode: SslMode) -> tokio_postgres::config::SslMode {
    match mode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            tokio_postgres::config::SslMode::Require
        }
    }
}

impl<S> tokio_postgres::tls::MakeTlsConnect<S> for MakeRustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = ReplicationError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, ReplicationError> {
        let host = if domain.is_empty() {
            &self.host
        } else {
            domain
        };
        Ok(RustlsConnect {
            config: self.config.clone(),
            server_name: server_name(host, self.mode, &self.addr)?,
            mode: self.mode,
            addr: self.addr.clone(),
        })
    }
}

impl<S> tokio_postgres::tls::TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = ReplicationError;
    type Future = Pin<Box<dyn Future<Output = Result<RustlsStream<S>, ReplicationError>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let Some(config) = self.config else {
                return Err(ReplicationError::Tls {
                    addr: self.addr,
                    reason: "tls was requested although sslmode is disable".to_owned(),
                    source: None,
                });
            };
            TlsConnector::from(config)
                .connect(self.server_name, stream)
                .await
                .map(RustlsStream)
                .map_err(|e| tls_handshake_error(&self.addr, self.mode, e))
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> tokio_postgres::tls::ChannelBinding {
        match self
            .0
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(|cert| tls_server_end_point(cert))
        {
            Some(hash) => tokio_postgres::tls::ChannelBinding::tls_server_end_point(hash),
            None => tokio_postgres::tls::ChannelBinding::none(),
        }
    }
}

/// Opens an ordinary (non-replication) tokio-postgres connection with the TLS settings,
/// application name and startup options of `params`, and spawns its connection task.
///
/// The task ends when the returned client is dropped; a connection error is logged
/// (without the password) and surfaces on the client's next call as a closed connection.
pub async fn connect_sql(
    params: &ConnectParams,
) -> Result<tokio_postgres::Client, ReplicationError> {
    let addr = params.addr();
    let mut config = tokio_postgres::Config::new();
    config
        .host(&params.host)
        .port(params.port)
        .user(&params.user)
        .dbname(&params.dbname)
        .application_name(&params.application_name)
        .ssl_mode(tokio_postgres_ssl_mode(params.sslmode));
    if let Some(password) = &params.password {
        config.password(password);
    }
    if !params.connect_timeout.is_zero() {
        config.connect_timeout(params.connect_timeout);
    }
    let options = startup_options_string(&params.options);
    if !options.is_empty() {
        config.options(&options);
    }
    let tls = make_tokio_postgres_tls(params)?;
    let connect = config.connect(tls);
    let result = if params.connect_timeout.is_zero() {
        connect.await
    } else {
        tokio::time::timeout(params.connect_timeout, connect)
            .await
            .map_err(|_| ReplicationError::ConnectTimeout {
                addr: addr.clone(),
                timeout: params.connect_timeout,
            })?
    };
    let (client, connection) =
        result.map_err(|e| ReplicationError::from_tokio_postgres(e, &addr))?;
    let span = tracing::info_span!("postgres_sql_connection", addr = %addr);
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            if let Err(error) = connection.await {
                tracing::warn!(error = %error, "postgres sql connection ended with an error");
            }
        },
        span,
    ));
    Ok(client)
}

/// tokio-postgres can only send extra settings through the `options` startup parameter
/// (`-c name=value`, with spaces and backslashes escaped); a literal `options` entry is
/// passed through as is.
fn startup_options_string(options: &[(String, String)]) -> String {
    let mut out = Vec::new();
    for (name, value) in options {
        if name == "options" {
            out.push(value.clone());
            continue;
        }
        let mut escaped = String::with_capacity(value.len());
        for c in value.chars() {
            if c == ' ' || c == '\\' {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        out.push(format!("-c {name}={escaped}"));
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_escaped() {
        let opts = vec![
            ("DateStyle".to_owned(), "ISO, MDY".to_owned()),
            ("options".to_owned(), "-c x=y".to_owned()),
        ];
        assert_eq!(
            startup_options_string(&opts),
            r"-c DateStyle=ISO,\ MDY -c x=y"
        );
    }

    #[test]
    fn der_reader_rejects_garbage() {
        assert!(der_tlv(&[], 0x30).is_none());
        assert!(der_tlv(&[0x30, 0x85, 0, 0, 0, 0, 0], 0x30).is_none());
        assert!(der_tlv(&[0x30, 0x05, 1], 0x30).is_none());
        assert_eq!(
            der_tlv(&[0x30, 0x01, 7, 9], 0x30),
            Some((0x30, &[7u8][..], &[9u8][..]))
        );
        assert!(tls_server_end_point(&CertificateDer::from(vec![1, 2, 3])).is_none());
    }
}
