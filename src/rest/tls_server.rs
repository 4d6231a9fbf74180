//! HTTPS for `https://` listeners: rustls in front of the same router.
//!
//! ```text
//! TcpListener ─accept─> TlsAcceptor (handshake, per connection task) ─> hyper ─> router
//! ```
//! A failed handshake ends that connection only; the listener keeps accepting.

use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio_util::sync::CancellationToken;

/// Serve `router` over TLS on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Arc<rustls::ServerConfig>,
    shutdown: CancellationToken,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            // Shutdown first: stop accepting.
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("REST API: accept failed: {e}");
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let stream = match acceptor.accept(stream).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(%peer, "REST API: TLS handshake failed: {e}");
                    return;
                }
            };
            let served = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(%peer, "REST API: connection ended: {e}");
            }
        });
    }
}

/// A server config from a PEM file holding the private key and the certificate chain
/// (KIP-651's PEM keystore in one file).
pub fn server_config(path: &std::path::Path) -> Result<Arc<rustls::ServerConfig>, String> {
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "cannot read the REST API's keystore {}: {e}",
            path.display()
        )
    })?;
    let mut certs = Vec::new();
    let mut key = None;
    for item in rustls_pemfile::read_all(&mut bytes.as_slice()) {
        match item {
            Ok(rustls_pemfile::Item::X509Certificate(c)) => certs.push(c),
            Ok(rustls_pemfile::Item::Pkcs8Key(k)) => key = Some(k.into()),
            Ok(rustls_pemfile::Item::Pkcs1Key(k)) => key = Some(k.into()),
            Ok(rustls_pemfile::Item::Sec1Key(k)) => key = Some(k.into()),
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "the REST API's keystore {} is not valid PEM: {e}",
                    path.display()
                ))
            }
        }
    }
    let key = key.ok_or_else(|| {
        format!(
            "the REST API's keystore {} has no private key: it must hold the key and the certificate chain in PEM",
            path.display()
        )
    })?;
    if certs.is_empty() {
        return Err(format!(
            "the REST API's keystore {} has no certificate: it must hold the key and the certificate chain in PEM",
            path.display()
        ));
    }
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup failed: {e}"))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| {
        format!(
            "the REST API's keystore {} does not hold a usable key and certificate: {e}",
            path.display()
        )
    })?;
    Ok(Arc::new(config))
}
