//! How the client checks a scheduler's TLS certificate: the system's CAs plus those of `ca_path`,
//! and a certificate that is itself in `ca_path` accepted as the server's own.
//!
//! Aurora has no TLS of its own; operators put a proxy in front of it, often with a self-signed
//! certificate made by `openssl req -x509`. OpenSSL 3 marks such a certificate CA:TRUE. curl,
//! given it as its CA file, accepts it (OpenSSL trusts a certificate found in its trust store as
//! it is), but webpki refuses a CA certificate presented as the server's own certificate
//! (`CaUsedAsEndEntity`), which pushed users to `validate_certs: false`, trusting anyone. So the
//! verifier here (`PinnedOrPlatform`) first asks the platform verifier (system roots plus
//! `ca_path`, the verifier reqwest itself uses); when that refuses a server certificate that is
//! byte for byte one of the `ca_path` certificates, the user has vouched for exactly that
//! certificate, and it is accepted if it names the host and today is within its validity dates.
//! Any other certificate gets the platform verifier's answer unchanged, and the handshake
//! signatures (which prove the server holds the certificate's key) are always checked by it.
//!
//! The validity dates are read by a few lines of DER walking (`validity`): webpki parses them but
//! does not expose them, and a general X.509 crate would add several crates to the executable that
//! Ansible copies on every task, for two timestamps.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// How HTTPS connections are checked: the `validate_certs` and `ca_path` options, read.
#[derive(Clone, Debug)]
pub(crate) struct TlsSettings {
    pub(crate) validate_certs: bool,
    /// The certificates of `ca_path`, trusted besides the system's CAs.
    pub(crate) ca_certs: Vec<CertificateDer<'static>>,
}

impl TlsSettings {
    /// Reads `ca_path`; the error names the file and what is wrong with it.
    pub(crate) fn load(validate_certs: bool, ca_path: Option<&Path>) -> Result<Self, String> {
        let mut ca_certs = Vec::new();
        if let Some(path) = ca_path {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read ca_path {}: {e}", path.display()))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                ca_certs.push(cert.map_err(|e| {
                    format!(
                        "ca_path {} holds no usable PEM certificate: {e}",
                        path.display()
                    )
                })?);
            }
            if ca_certs.is_empty() {
                return Err(format!(
                    "ca_path {} holds no PEM certificate",
                    path.display()
                ));
            }
        }
        Ok(TlsSettings {
            validate_certs,
            ca_certs,
        })
    }

    /// The rustls configuration of verified HTTPS connections (HTTP/1.1, as the scheduler speaks).
    pub(crate) fn client_config(&self) -> Result<rustls::ClientConfig, String> {
        let provider = rustls::crypto::CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
        let platform = rustls_platform_verifier::Verifier::new_with_extra_roots(
            self.ca_certs.iter().cloned(),
            provider.clone(),
        )
        .map_err(|e| format!("cannot load the trusted CA certificates: {e}"))?;
        let verifier = PinnedOrPlatform {
            pinned: self.ca_certs.clone(),
            platform,
        };
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// The platform verifier, plus acceptance of a server certificate the user gave in `ca_path`.
#[derive(Debug)]
struct PinnedOrPlatform {
    pinned: Vec<CertificateDer<'static>>,
    platform: rustls_platform_verifier::Verifier,
}

impl ServerCertVerifier for PinnedOrPlatform {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let refused = match self.platform.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => return Ok(verified),
            Err(e) => e,
        };
        if self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            verify_pinned(end_entity, server_name, now)
        } else {
            Err(refused)
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.platform.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.platform.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.platform.supported_verify_schemes()
    }
}

/// A certificate from `ca_path` presented as the server's: it must name the host and be valid now.
fn verify_pinned(
    cert: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<ServerCertVerified, rustls::Error> {
    let parsed = ParsedCertificate::try_from(cert)?;
    rustls::client::verify_server_name(&parsed, server_name)?;
    let (not_before, not_after) = validity(cert.as_ref()).ok_or(
        rustls::Error::InvalidCertificate(CertificateError::BadEncoding),
    )?;
    let unix = |secs: i64| {
        UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
    };
    let seconds = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if seconds < not_before {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYetContext {
                time: now,
                not_before: unix(not_before),
            },
        ));
    }
    if seconds > not_after {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::ExpiredContext {
                time: now,
                not_after: unix(not_after),
            },
        ));
    }
    Ok(ServerCertVerified::assertion())
}

/// `notBefore` and `notAfter` of a DER certificate, in seconds since the Unix epoch (RFC 5280
/// §4.1: Certificate → tbsCertificate → [0] version, serialNumber, signature, issuer, validity).
pub(crate) fn validity(der: &[u8]) -> Option<(i64, i64)> {
    let (_, certificate, _) = tlv(der, SEQUENCE)?;
    let (_, tbs, _) = tlv(certificate, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = tlv(rest, VERSION)?.2;
    }
    for tag in [INTEGER, SEQUENCE, SEQUENCE] {
        rest = tlv(rest, tag)?.2;
    }
    let (_, validity, _) = tlv(rest, SEQUENCE)?;
    let (not_before, after) = time(validity)?;
    let (not_after, _) = time(after)?;
    Some((not_before, not_after))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// One DER element with tag `want`: (tag, contents, what follows).
fn tlv(input: &[u8], want: u8) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag != want {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let octets = usize::from(first & 0x7f);
        if octets == 0 || octets > 4 || rest.len() < octets {
            return None;
        }
        let len = rest[..octets]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[octets..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// A UTCTime (`YYMMDDHHMMSSZ`, years 1950-2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`), as RFC
/// 5280 §4.1.2.5 allows them, in Unix seconds; and what follows it.
fn time(input: &[u8]) -> Option<(i64, &[u8])> {
    let tag = *input.first()?;
    let (_, text, rest) = tlv(input, tag)?;
    let text = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, text) = match (tag, text.len()) {
        (UTC_TIME, 12) => {
            let yy: i64 = text[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
        }
        (GENERALIZED_TIME, 14) => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let field = |i: usize| text[i..i + 2].parse::<i64>().ok();
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3_600 + minute * 60 + second, rest))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_count_days_from_the_unix_epoch() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 12, 4), 20_791);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    #[test]
    fn both_time_forms_are_read_and_malformed_ones_refused() {
        let utc = [&[UTC_TIME, 13][..], b"491231235959Z"].concat();
        assert_eq!(time(&utc).map(|t| t.0), Some(2_524_607_999));
        let utc_1950 = [&[UTC_TIME, 13][..], b"500101000000Z"].concat();
        assert_eq!(time(&utc_1950).map(|t| t.0), Some(-631_152_000));
        let generalized = [&[GENERALIZED_TIME, 15][..], b"21261030014511Z"].concat();
        assert_eq!(time(&generalized).map(|t| t.0), Some(4_948_998_311));
        for bad in [
            [&[UTC_TIME, 13][..], b"491331235959Z"].concat(),
            [&[UTC_TIME, 12][..], b"491231235959"].concat(),
            [&[UTC_TIME, 13][..], b"4912312359x9Z"].concat(),
            [&[GENERALIZED_TIME, 13][..], b"491231235959Z"].concat(),
            [&[UTC_TIME, 20][..], b"491231235959Z"].concat(),
        ] {
            assert_eq!(time(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_validity_of_the_fixture_certificates_is_read() {
        for (file, not_after) in [
            ("ca.pem", "21261030014511Z"),
            ("server.pem", "21261030014511Z"),
        ] {
            let path = format!("{}/tests/fixtures/tls/{file}", env!("CARGO_MANIFEST_DIR"));
            let cert = CertificateDer::from_pem_file(&path).unwrap();
            let (before, after) = validity(cert.as_ref()).unwrap();
            let want = [&[GENERALIZED_TIME, 15][..], not_after.as_bytes()].concat();
            assert_eq!(after, time(&want).unwrap().0, "{file}");
            assert!(before < after, "{file}");
        }
        assert_eq!(validity(b"not a certificate"), None);
        assert_eq!(validity(&[SEQUENCE, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }
}
