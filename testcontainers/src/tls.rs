//! A throwaway CA and a server certificate signed by it, for servers started with TLS.

use crate::Error;

/// PEM texts of a test CA and of a server certificate (SAN `localhost`, `127.0.0.1`).
pub struct TestCerts {
    pub ca_cert_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
}

pub fn generate() -> Result<TestCerts, Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(Error::Tls)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "sluice test ca");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().map_err(Error::Tls)?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(Error::Tls)?;

    // rcgen turns a SAN that parses as an IP address into an iPAddress entry.
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .map_err(Error::Tls)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().map_err(Error::Tls)?;
    let cert = params
        .signed_by(&key, &ca_cert, &ca_key)
        .map_err(Error::Tls)?;

    Ok(TestCerts {
        ca_cert_pem: ca_cert.pem(),
        server_cert_pem: cert.pem(),
        server_key_pem: key.serialize_pem(),
    })
}
