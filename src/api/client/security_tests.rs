//! Security tests of the client against loopback HTTP(S) servers: no redirect from https to plain
//! http, no credentials taken from or shown in a URL, and TLS with the certificates people really
//! have (self-signed as `openssl req -x509` makes them, a private CA, expired ones), made at test
//! time with rcgen. Certificate errors are counted per connection to show they are not retried.

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::*;
use crate::api::methods::{GetJobSummary, SetQuota};
use crate::api::test_server::*;
use crate::api::types::ResourceAggregate;

const PASSWORD: &str = "hunter2-do-not-leak";

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        max_elapsed: Duration::from_secs(5),
    }
}

fn config(url: &str) -> ClientConfig {
    ClientConfig {
        username: Some("alice".into()),
        password: Some(PASSWORD.into()),
        timeout: Duration::from_secs(5),
        retry: fast_retry(),
        ..ClientConfig::new(url)
    }
}

fn with_ca(url: &str, ca_path: &std::path::Path) -> ClientConfig {
    ClientConfig {
        ca_path: Some(ca_path.to_path_buf()),
        ..config(url)
    }
}

fn read_call() -> GetJobSummary {
    GetJobSummary {
        role: Some("www-data".into()),
    }
}

fn admin_write() -> SetQuota {
    SetQuota {
        owner_role: Some("www-data".into()),
        quota: Some(ResourceAggregate::default()),
    }
}

// ---------------------------------------------------------------------------------------------
// Redirects from https to http

#[test]
fn an_https_scheduler_redirecting_to_plain_http_gets_no_call_and_no_credentials_across() {
    let plain = TestServer::start(|_, r, _| ok_reply(r));
    let plain_api = format!("{}/api", plain.url());
    let secure =
        TestServer::start_tls(move |_, _, _| Reply::status(307).header("Location", &plain_api));
    let client = Client::new(&with_ca(&secure.url(), &ca_path())).unwrap();
    for e in [
        client.call(&admin_write()).unwrap_err(),
        client.call(&read_call()).unwrap_err(),
        client.get_page("GET /agents", "agents").unwrap_err(),
    ] {
        assert!(matches!(e, ClientError::Redirect { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("redirected to plain http"), "{msg}");
        assert!(
            msg.contains("call and the credentials unencrypted"),
            "{msg}"
        );
        assert!(
            msg.contains("https address of the leading scheduler"),
            "{msg}"
        );
        assert!(!msg.contains(PASSWORD), "{msg}");
    }
    assert_eq!(secure.requests().len(), 3, "one request each, none retried");
    assert_eq!(
        plain.connections(),
        0,
        "nothing reached the plain http side"
    );
    assert!(plain.requests().is_empty());
}

#[test]
fn a_downgrade_later_in_a_redirect_chain_is_refused_too() {
    let plain_end = TestServer::start(|_, r, _| ok_reply(r));
    let end_api = format!("{}/api", plain_end.url());
    let secure =
        TestServer::start_tls(move |_, _, _| Reply::status(307).header("Location", &end_api));
    let secure_api = format!("{}/api", secure.url());
    let plain_start =
        TestServer::start(move |_, _, _| Reply::status(307).header("Location", &secure_api));
    let e = Client::new(&with_ca(&plain_start.url(), &ca_path()))
        .unwrap()
        .call(&admin_write())
        .unwrap_err();
    assert!(e.to_string().contains("redirected to plain http"), "{e}");
    assert_eq!(secure.requests().len(), 1);
    assert_eq!(plain_end.connections(), 0);
}

#[test]
fn an_https_redirect_to_https_is_still_followed() {
    let leader = TestServer::start_tls(|_, r, _| ok_reply(r));
    let leader_api = format!("{}/leader/api", leader.url());
    let follower =
        TestServer::start_tls(move |_, _, _| Reply::status(307).header("Location", &leader_api));
    Client::new(&with_ca(&follower.url(), &ca_path()))
        .unwrap()
        .call(&admin_write())
        .unwrap();
    let replayed = leader.requests();
    assert_eq!(replayed.len(), 1);
    assert!(replayed[0].header("authorization").is_some());
}

// ---------------------------------------------------------------------------------------------
// Credentials in URLs

#[test]
fn a_password_in_the_scheduler_url_is_refused_pointing_at_the_options_and_never_shown() {
    let server = TestServer::start(|_, r, _| ok_reply(r));
    let port = server.url().rsplit(':').next().unwrap().to_string();
    for url in [
        format!("http://alice:{PASSWORD}@127.0.0.1:{port}"),
        format!("https://alice:{PASSWORD}@127.0.0.1:{port}/proxy/"),
        format!("http://alice@127.0.0.1:{port}"),
    ] {
        let cfg = ClientConfig {
            retry: fast_retry(),
            ..ClientConfig::new(url.clone())
        };
        assert!(!format!("{cfg:?}").contains(PASSWORD));
        let e = Client::new(&cfg).unwrap_err();
        assert!(matches!(e, ClientError::Config { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("carries credentials"), "{msg}");
        assert!(msg.contains("username and password options"), "{msg}");
        assert!(msg.contains("AURORA_PASSWORD"), "{msg}");
        assert!(!msg.contains(PASSWORD), "{msg}");
    }
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[test]
fn urls_are_shown_with_the_password_hidden() {
    let cases = [
        ("http://h:8081/", "http://h:8081/"),
        ("https://u:pw@h/x", "https://u:********@h/x"),
        ("https://u:p%40ss@h/", "https://u:********@h/"),
        ("https://u@h/", "https://u@h/"),
        ("h:8081", "h:8081"),
        ("not a url u:pw@h", "(not shown: it holds an '@')"),
    ];
    for (url, shown) in cases {
        assert_eq!(shown_url(url), shown, "{url}");
    }
}

#[test]
fn a_redirect_to_a_url_with_credentials_is_refused_without_showing_them() {
    let target = TestServer::start(|_, r, _| ok_reply(r));
    let port = target.url().rsplit(':').next().unwrap().to_string();
    let server = TestServer::start(move |_, _, _| {
        Reply::status(307).header(
            "Location",
            &format!("http://eve:{PASSWORD}@127.0.0.1:{port}/api"),
        )
    });
    let e = Client::new(&config(&server.url()))
        .unwrap()
        .call(&read_call())
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("carries credentials"), "{msg}");
    assert!(!msg.contains(PASSWORD), "{msg}");
    assert_eq!(target.connections(), 0);
}

// ---------------------------------------------------------------------------------------------
// TLS: certificates made at test time

/// A certificate and its key, and the certificate as PEM in a file (for `ca_path`).
struct Made {
    der: CertificateDer<'static>,
    key: KeyPair,
    params: CertificateParams,
}

impl Made {
    fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.serialize_der()))
    }
}

fn params(names: &[&str], ca: bool, valid: (i32, i32)) -> CertificateParams {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, names[0]);
    if ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    params.not_before = rcgen::date_time_ymd(valid.0, 1, 1);
    params.not_after = rcgen::date_time_ymd(valid.1, 1, 1);
    params
}

/// Self-signed; `ca` makes it CA:TRUE, as `openssl req -x509` does on OpenSSL 3.
fn self_signed(names: &[&str], ca: bool, valid: (i32, i32)) -> Made {
    let key = KeyPair::generate().unwrap();
    let params = params(names, ca, valid);
    let der = params.self_signed(&key).unwrap().der().clone();
    Made { der, key, params }
}

fn signed_by(ca: &Made, names: &[&str], valid: (i32, i32)) -> Made {
    let key = KeyPair::generate().unwrap();
    let params = params(names, false, valid);
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    let der = params.signed_by(&key, &issuer).unwrap().der().clone();
    Made { der, key, params }
}

fn pem_file(dir: &tempfile::TempDir, name: &str, certs: &[&Made]) -> std::path::PathBuf {
    use base64::Engine;
    let mut text = String::new();
    for cert in certs {
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.der.as_ref());
        text.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            text.push_str(std::str::from_utf8(line).unwrap());
            text.push('\n');
        }
        text.push_str("-----END CERTIFICATE-----\n");
    }
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn serve(cert: &Made, chain_extra: &[&Made]) -> TestServer {
    let mut chain = vec![cert.der.clone()];
    chain.extend(chain_extra.iter().map(|c| c.der.clone()));
    TestServer::start_tls_with(chain, cert.key_der(), |_, r, _| ok_reply(r))
}

const VALID: (i32, i32) = (2020, 2120);
const EXPIRED: (i32, i32) = (2010, 2020);
const NOT_YET: (i32, i32) = (2110, 2120);

/// The TLS error of a read through a client trusting `ca_path`, after checking that it was a
/// certificate refusal tried once only.
fn refused(server: &TestServer, ca_path: Option<&std::path::Path>) -> String {
    let cfg = ClientConfig {
        ca_path: ca_path.map(|p| p.to_path_buf()),
        ..config(&server.url())
    };
    let e = Client::new(&cfg).unwrap().call(&read_call()).unwrap_err();
    match &e {
        ClientError::Transport {
            kind: TransportKind::Tls,
            attempts: 1,
            ..
        } => {}
        other => panic!("expected a TLS error after one attempt, got {other:?}"),
    }
    assert_eq!(
        server.connections(),
        1,
        "a certificate error is not retried"
    );
    assert!(server.requests().is_empty(), "no request got through");
    e.to_string()
}

#[test]
fn a_self_signed_ca_certificate_in_ca_path_is_accepted_as_the_servers_own() {
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed(&["127.0.0.1", "localhost"], true, VALID);
    let ca_path = pem_file(&dir, "self.pem", &[&cert]);

    let server = serve(&cert, &[]);
    Client::new(&with_ca(&server.url(), &ca_path))
        .unwrap()
        .call(&admin_write())
        .unwrap();
    assert_eq!(server.requests().len(), 1);

    let server = serve(&cert, &[]);
    let msg = refused(&server, None);
    assert!(
        msg.contains("ca_path"),
        "without ca_path it is unknown: {msg}"
    );
}

#[test]
fn a_self_signed_certificate_in_a_bundle_is_accepted_and_so_is_a_private_cas_leaf() {
    let dir = tempfile::tempdir().unwrap();
    let own = self_signed(&["127.0.0.1"], true, VALID);
    let ca = self_signed(&["aurora test CA"], true, VALID);
    let leaf = signed_by(&ca, &["127.0.0.1"], VALID);
    let bundle = pem_file(&dir, "bundle.pem", &[&ca, &own]);
    for server in [serve(&own, &[]), serve(&leaf, &[]), serve(&leaf, &[&ca])] {
        Client::new(&with_ca(&server.url(), &bundle))
            .unwrap()
            .call(&read_call())
            .unwrap();
        assert_eq!(server.requests().len(), 1);
    }
}

#[test]
fn a_non_ca_self_signed_certificate_in_ca_path_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed(&["127.0.0.1"], false, VALID);
    let ca_path = pem_file(&dir, "self.pem", &[&cert]);
    let server = serve(&cert, &[]);
    Client::new(&with_ca(&server.url(), &ca_path))
        .unwrap()
        .call(&read_call())
        .unwrap();
}

#[test]
fn a_self_signed_certificate_for_another_name_is_refused_even_from_ca_path() {
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed(&["aurora.example.com"], true, VALID);
    let ca_path = pem_file(&dir, "other.pem", &[&cert]);
    let server = serve(&cert, &[]);
    let msg = refused(&server, Some(&ca_path));
    assert!(msg.to_lowercase().contains("name"), "{msg}");
}

#[test]
fn an_expired_or_not_yet_valid_self_signed_certificate_is_refused_even_from_ca_path() {
    let dir = tempfile::tempdir().unwrap();
    for (valid, word) in [(EXPIRED, "xpired"), (NOT_YET, "not valid yet")] {
        let cert = self_signed(&["127.0.0.1"], true, valid);
        let ca_path = pem_file(&dir, "dated.pem", &[&cert]);
        let server = serve(&cert, &[]);
        let msg = refused(&server, Some(&ca_path));
        assert!(msg.to_lowercase().contains(word), "{word}: {msg}");
    }
}

#[test]
fn an_expired_leaf_of_a_private_ca_is_refused_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let ca = self_signed(&["aurora test CA"], true, VALID);
    let leaf = signed_by(&ca, &["127.0.0.1"], EXPIRED);
    let ca_path = pem_file(&dir, "ca.pem", &[&ca]);
    let server = serve(&leaf, &[]);
    let msg = refused(&server, Some(&ca_path));
    assert!(msg.to_lowercase().contains("xpired"), "{msg}");
}

#[test]
fn a_leaf_of_an_unknown_ca_is_refused_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let ca = self_signed(&["aurora test CA"], true, VALID);
    let other_ca = self_signed(&["another CA"], true, VALID);
    let leaf = signed_by(&ca, &["127.0.0.1"], VALID);
    let ca_path = pem_file(&dir, "other.pem", &[&other_ca]);
    let server = serve(&leaf, &[]);
    let msg = refused(&server, Some(&ca_path));
    assert!(msg.contains("validate_certs"), "{msg}");
}

#[test]
fn validate_certs_false_accepts_an_expired_certificate() {
    let cert = self_signed(&["127.0.0.1"], true, EXPIRED);
    let server = serve(&cert, &[]);
    let cfg = ClientConfig {
        validate_certs: false,
        ..config(&server.url())
    };
    Client::new(&cfg).unwrap().call(&read_call()).unwrap();
}

#[test]
fn the_dates_of_made_certificates_are_read_as_rcgen_wrote_them() {
    for (valid, ca) in [(VALID, true), (EXPIRED, false), ((1975, 4096), true)] {
        let cert = self_signed(&["127.0.0.1"], ca, valid);
        let (before, after) = crate::api::tls::validity(cert.der.as_ref()).unwrap();
        assert_eq!(before, cert.params.not_before.unix_timestamp(), "{valid:?}");
        assert_eq!(after, cert.params.not_after.unix_timestamp(), "{valid:?}");
    }
}
