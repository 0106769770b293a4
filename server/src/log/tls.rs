//! TLS for the PostgreSQL log: reads libpq's `sslmode` and `sslrootcert` from the connection
//! URL and makes the rustls connector they ask for. It opens no connection and knows no log.

use {
    super::{log_error, LogError},
    rustls::{
        client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
        client::WebPkiServerVerifier,
        crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider},
        pki_types::{pem::PemObject, CertificateDer, ServerName, UnixTime},
        CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
    },
    std::sync::Arc,
    tokio_postgres::config::SslMode,
    tokio_postgres_rustls::MakeRustlsConnect,
};

/// libpq's `sslmode` values, in order of what they demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// What the URL asked of TLS, taken out of it (tokio-postgres knows neither option's
/// verifying forms).
#[derive(Debug, PartialEq, Eq)]
struct Options {
    mode: Mode,
    /// `sslrootcert`: a PEM file of trusted certificates, or `system` for the system's.
    root_cert: Option<String>,
}

/// Splits libpq's TLS options off `url` (URL or `key=value` form): the rest, for
/// tokio-postgres, and the options (libpq's default `prefer` when absent).
fn split_options(url: &str) -> Result<(String, Options), LogError> {
    let mut options = Options {
        mode: Mode::Prefer,
        root_cert: None,
    };
    let mut take = |key: &str, value: &str| -> Result<bool, LogError> {
        match key {
            "sslmode" => {
                options.mode = match value {
                    "disable" => Mode::Disable,
                    "allow" => Mode::Allow,
                    "prefer" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => {
                        return Err(LogError::from_message(format!(
                            "sslmode={other} is not one of disable, allow, prefer, require, \
                             verify-ca, verify-full"
                        )))
                    }
                };
                Ok(true)
            }
            "sslrootcert" => {
                options.root_cert = Some(value.to_owned());
                Ok(true)
            }
            "sslcert" | "sslkey" | "sslpassword" | "sslcrl" => Err(LogError::from_message(
                format!("{key} is not supported (client certificates and CRLs)"),
            )),
            _ => Ok(false),
        }
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|pair| !pair.is_empty()) {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    if !take(key, &crate::percent_decoded(value))? {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for word in url.split_whitespace() {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            if !take(key, value.trim_matches('\''))? {
                kept.push(word);
            }
        }
        kept.join(" ")
    };
    Ok((rest, options))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(root_cert: Option<&str>) -> Result<RootCertStore, LogError> {
    let mut roots = RootCertStore::empty();
    match root_cert {
        Some(path) if path != "system" => {
            let certificates = CertificateDer::pem_file_iter(path)
                .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
                .map_err(|e| LogError::from_message(format!("sslrootcert={path}: {e}")))?;
            if certificates.is_empty() {
                return Err(LogError::from_message(format!(
                    "sslrootcert={path}: no certificate in the file"
                )));
            }
            for certificate in certificates {
                roots
                    .add(certificate)
                    .map_err(|e| LogError::from_message(format!("sslrootcert={path}: {e}")))?;
            }
        }
        _ => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(LogError::from_message(
                    "no trusted certificates: the system has none; give sslrootcert=<file>".into(),
                ));
            }
        }
    }
    Ok(roots)
}

/// The checks of `verify-ca` (the chain up to a trusted root, not the name in it) or, without
/// a chain verifier, of `require` and `prefer` without a root certificate, as libpq does:
/// encrypted, safe from eavesdroppers, not from an impostor. Handshake signatures are always
/// checked, with the provider's algorithms.
#[derive(Debug)]
struct Relaxed {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The tokio-postgres configuration of `url` and the TLS connector its `sslmode` asks for:
/// `disable` never encrypts; `allow` and `prefer` encrypt when the server offers it;
/// `require` insists on encryption; `verify-ca` also checks the certificate chain against
/// `sslrootcert` (a PEM file, or `system`, the default); `verify-full` also checks that the
/// certificate names the host. As in libpq, `require` with an `sslrootcert` checks the chain.
pub fn configure(url: &str) -> Result<(tokio_postgres::Config, MakeRustlsConnect), LogError> {
    let (rest, options) = split_options(url)?;
    let mut config: tokio_postgres::Config = rest
        .parse()
        .map_err(|e| LogError::from_message(format!("the connection URL is not valid: {e}")))?;
    config.ssl_mode(match options.mode {
        Mode::Disable => SslMode::Disable,
        Mode::Allow | Mode::Prefer => SslMode::Prefer,
        Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
    });
    let mode = match (options.mode, &options.root_cert) {
        (Mode::Require, Some(_)) => Mode::VerifyCa,
        (mode, _) => mode,
    };
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(log_error)?;
    let chain = match mode {
        Mode::VerifyCa | Mode::VerifyFull => Some(
            WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots(options.root_cert.as_deref())?),
                Arc::clone(&provider),
            )
            .build()
            .map_err(log_error)?,
        ),
        _ => None,
    };
    let verifier: Arc<dyn ServerCertVerifier> = match chain {
        Some(chain) if mode == Mode::VerifyFull => chain,
        chain => Arc::new(Relaxed { chain, provider }),
    };
    let tls = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok((config, MakeRustlsConnect::new(tls)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_tls_options_are_taken_out_of_both_url_forms() {
        let (rest, options) = split_options(
            "postgres://u@h:5432/db?connect_timeout=5&sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem",
        )
        .unwrap();
        assert_eq!(rest, "postgres://u@h:5432/db?connect_timeout=5");
        assert_eq!(
            options,
            Options {
                mode: Mode::VerifyFull,
                root_cert: Some("/tmp/ca.pem".into())
            }
        );
        let (rest, options) = split_options("host=h user=u sslmode=require").unwrap();
        assert_eq!(rest, "host=h user=u");
        assert_eq!(options.mode, Mode::Require);
        let (rest, options) = split_options("postgres://u@h/db").unwrap();
        assert_eq!(
            (rest.as_str(), options.mode),
            ("postgres://u@h/db", Mode::Prefer)
        );
        assert!(split_options("postgres://h/db?sslmode=maybe").is_err());
        assert!(split_options("postgres://h/db?sslcert=c.pem").is_err());
    }

    #[test]
    fn a_verifying_mode_needs_a_readable_root_certificate() {
        let error = configure("postgres://h/db?sslmode=verify-full&sslrootcert=/nonexistent.pem")
            .err()
            .expect("refused");
        assert!(error.to_string().contains("/nonexistent.pem"), "{error}");
        assert!(configure("postgres://h/db?sslmode=require").is_ok());
        assert!(configure("postgres://h/db").is_ok());
    }
}
