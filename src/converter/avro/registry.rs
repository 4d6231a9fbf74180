//! The converter's Schema Registry client: register, look up, and fetch the latest schema of a
//! subject through `schema_registry_converter`'s async REST client, and turn its errors into
//! [`ConvertError`]s that keep the registry's `error_code` and `message`.
//!
//! ```text
//! AvroConverter::register ──> Registry::{register, lookup, latest} ──HTTP──> registry
//!                        <── schema id | ConvertError::{Registry, RegistryUnreachable}
//! ```
//! TLS is rustls with the ring provider and the webpki roots, handed to reqwest preconfigured,
//! so no second crypto backend is built. Calls time out after [`REQUEST_TIMEOUT`]; the
//! registry's URLs are tried in order (`schema.registry.url` may list several).

use std::sync::Arc;
use std::time::Duration;

use schema_registry_converter::async_impl::schema_registry::{
    perform_sr_call, post_schema, SrSettings,
};
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::{
    RawError, SchemaType, SrCall, SuppliedSchema,
};
use sluice_config::Secret;

use crate::converter::ConvertError;

/// How long one registry call may take (connect and answer).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A registry endpoint with its credentials.
pub struct Registry {
    settings: SrSettings,
    /// The URLs as configured, without credentials (for messages).
    display_url: String,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("url", &self.display_url)
            .finish()
    }
}

impl Registry {
    /// A client for `urls` (tried in order), with HTTP basic auth when `auth` is given.
    pub fn new(urls: &[String], auth: Option<(&str, &Secret)>) -> Result<Registry, String> {
        let (first, rest) = urls
            .split_first()
            .ok_or("no schema registry url".to_string())?;
        let mut builder = SrSettings::new_builder(first.clone());
        for url in rest {
            builder.add_url(url.clone());
        }
        if let Some((user, password)) = auth {
            builder.set_basic_authorization(user, Some(password.expose()));
        }
        builder.set_timeout(REQUEST_TIMEOUT);
        let settings = builder
            .build_with(reqwest::Client::builder().tls_backend_preconfigured(tls_config()?))
            .map_err(|e| format!("cannot build the schema registry client: {}", e.error))?;
        Ok(Registry {
            settings,
            display_url: urls.join(","),
        })
    }

    /// `POST /subjects/{subject}/versions`: the schema's id (registered now or before).
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32, ConvertError> {
        let supplied = SuppliedSchema::new(None, SchemaType::Avro, schema.to_string());
        post_schema(&self.settings, subject.to_string(), supplied)
            .await
            .map(|registered| registered.id)
            .map_err(|e| self.error(subject, "register the schema", &e))
    }

    /// `POST /subjects/{subject}`: the id of `schema` if it is a version of `subject`.
    pub async fn lookup(&self, subject: &str, schema: &str) -> Result<u32, ConvertError> {
        let body = serde_json::json!({ "schema": schema }).to_string();
        let raw = perform_sr_call(&self.settings, SrCall::PostForVersion(subject, &body))
            .await
            .map_err(|e| self.error(subject, "look up the schema", &e))?;
        raw.id
            .ok_or_else(|| self.malformed(subject, "look up the schema"))
    }

    /// `GET /subjects/{subject}/versions/latest`: the latest version's id and schema text.
    pub async fn latest(&self, subject: &str) -> Result<(u32, String), ConvertError> {
        let raw = perform_sr_call(&self.settings, SrCall::GetLatest(subject))
            .await
            .map_err(|e| self.error(subject, "fetch the latest schema", &e))?;
        match (raw.id, raw.schema) {
            (Some(id), Some(schema)) => Ok((id, schema)),
            _ => Err(self.malformed(subject, "fetch the latest schema")),
        }
    }

    fn malformed(&self, subject: &str, operation: &'static str) -> ConvertError {
        ConvertError::Registry {
            url: self.display_url.clone(),
            subject: subject.to_string(),
            operation,
            status: None,
            error_code: 0,
            message: "the answer has no schema id".into(),
        }
    }

    /// Classify a client error: an HTTP answer keeps the registry's code and message; anything
    /// else (connection refused, timeout, TLS) is "unreachable".
    fn error(&self, subject: &str, operation: &'static str, e: &SRCError) -> ConvertError {
        let mut cause = std::error::Error::source(e);
        while let Some(c) = cause {
            if let Some(raw) = c.downcast_ref::<RawError>() {
                // Confluent's codes start with the HTTP status (40401, 42201, 50001) or are it
                // (409, 401). A body that was not JSON gives code 0: read the status from the
                // client's text ("... failed with status 504 Gateway Timeout").
                let status = match raw.error_code {
                    c if c >= 10_000 => u16::try_from(c / 100).ok(),
                    c if (100..600).contains(&c) => u16::try_from(c).ok(),
                    _ => status_from_text(&e.error),
                };
                return ConvertError::Registry {
                    url: self.display_url.clone(),
                    subject: subject.to_string(),
                    operation,
                    status,
                    error_code: raw.error_code,
                    message: raw.message.clone(),
                };
            }
            cause = c.source();
        }
        let status = status_from_text(&e.error);
        if status.is_some() {
            return ConvertError::Registry {
                url: self.display_url.clone(),
                subject: subject.to_string(),
                operation,
                status,
                error_code: 0,
                message: e.error.clone(),
            };
        }
        ConvertError::RegistryUnreachable {
            url: self.display_url.clone(),
            subject: subject.to_string(),
            operation,
            source: Box::new(e.clone()),
        }
    }
}

/// The HTTP status in schema_registry_converter's error text, if any.
fn status_from_text(text: &str) -> Option<u16> {
    let rest = text.split("with status ").nth(1)?;
    rest.get(..3)?.parse().ok()
}

/// rustls on ring with the webpki roots (the same trust the Postgres client uses by default).
pub(super) fn tls_config() -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot configure TLS for the schema registry client: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_read_from_the_client_text() {
        assert_eq!(
            status_from_text(
                "HTTP request to schema registry failed with status 504 Gateway Timeout"
            ),
            Some(504)
        );
        assert_eq!(
            status_from_text("http call to schema registry failed"),
            None
        );
    }
}
