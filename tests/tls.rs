//! TLS on `tls-port`: handshakes with and without client certificates under each
//! `tls-auth-clients`, a certificate from another CA refused, a client stalling mid-handshake
//! while others are served, plain and TLS clients at once, large values, and start-up errors.
//! Where the behaviour is Redis's, the same steps run against a real redis-server (Debian's is
//! built with TLS) with the same certificates.
//!
//! The CA and certificates are made at test time with the `openssl` CLI (scripts/test.sh
//! installs it); the test client is rustls, the crate Reddish itself uses.

mod common;

use common::{
    encode_command, free_port, listens_on, reply_len, unique_name, RawConn, RedisServer, Server,
    START_TIMEOUT,
};
use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The files every test uses: a CA with a server and a client certificate, and a second CA
/// with a client certificate the first one does not know.
struct Certs {
    dir: PathBuf,
}

impl Certs {
    fn get() -> &'static Certs {
        static CERTS: OnceLock<Certs> = OnceLock::new();
        CERTS.get_or_init(Certs::generate)
    }

    fn generate() -> Certs {
        let dir = std::env::temp_dir().join(unique_name("reddish-tls"));
        std::fs::create_dir_all(&dir).expect("creating the certificates' directory");
        let certs = Certs { dir };
        for ca in ["ca", "other-ca"] {
            certs.openssl(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.crt"),
                "-days",
                "2",
                "-subj",
                &format!("/CN=Reddish {ca}"),
            ]);
        }
        certs.leaf(
            "server",
            "ca",
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        );
        certs.leaf("client", "ca", "extendedKeyUsage=clientAuth\n");
        certs.leaf("rogue", "other-ca", "extendedKeyUsage=clientAuth\n");
        certs.openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-aes-128-cbc",
            "-pass",
            "pass:secret",
            "-out",
            "encrypted.key",
        ]);
        std::fs::create_dir_all(certs.dir.join("ca-dir")).expect("creating ca-dir");
        std::fs::copy(certs.dir.join("ca.crt"), certs.dir.join("ca-dir/ca.crt"))
            .expect("copying ca.crt");
        certs
    }

    /// A key and a certificate for `name` signed by `ca`, with the X.509 v3 extensions `ext`.
    fn leaf(&self, name: &str, ca: &str, ext: &str) {
        std::fs::write(self.dir.join(format!("{name}.ext")), ext).expect("writing extensions");
        self.openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ]);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &format!("{name}.crt"),
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
        ]);
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("running openssl (scripts/test.sh installs it)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// Server arguments for TLS on `port` with the server certificate and `auth` clients.
    fn server_args(&self, port: u16, auth: &str) -> Vec<String> {
        [
            "--tls-port",
            &port.to_string(),
            "--tls-cert-file",
            &self.path("server.crt"),
            "--tls-key-file",
            &self.path("server.key"),
            "--tls-ca-cert-file",
            &self.path("ca.crt"),
            "--tls-auth-clients",
            auth,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// A client configuration trusting the test CA, presenting `identity`'s certificate.
    fn client_config(&self, identity: Option<&str>) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(self.path("ca.crt")).expect("reading ca.crt") {
            roots
                .add(cert.expect("a CA certificate"))
                .expect("adding the CA");
        }
        let builder = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots);
        let config = match identity {
            Some(name) => {
                let chain = CertificateDer::pem_file_iter(self.path(&format!("{name}.crt")))
                    .expect("reading a client certificate")
                    .collect::<Result<Vec<_>, _>>()
                    .expect("a client certificate");
                let key = PrivateKeyDer::from_pem_file(self.path(&format!("{name}.key")))
                    .expect("a client key");
                builder
                    .with_client_auth_cert(chain, key)
                    .expect("the client identity")
            }
            None => builder.with_no_client_auth(),
        };
        Arc::new(config)
    }
}

/// Which certificate a test client presents.
const WITH_CERT: Option<&str> = Some("client");
const NO_CERT: Option<&str> = None;
const ROGUE_CERT: Option<&str> = Some("rogue");

/// A blocking TLS client speaking RESP.
struct TlsClient {
    stream: StreamOwned<ClientConnection, TcpStream>,
}

impl TlsClient {
    fn connect(port: u16, identity: Option<&str>) -> TlsClient {
        let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connecting");
        tcp.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        let name = ServerName::try_from("localhost").expect("server name");
        let session = ClientConnection::new(Certs::get().client_config(identity), name)
            .expect("client session");
        TlsClient {
            stream: StreamOwned::new(session, tcp),
        }
    }

    /// Sends `args` and reads one reply; `Err` with the reason when the session fails or the
    /// server closes it.
    fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Vec<u8>, String> {
        self.send(&encode_command(args))?;
        self.read_replies(1)
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .map_err(|e| e.to_string())
    }

    /// Reads exactly `n` replies.
    fn read_replies(&mut self, n: usize) -> Result<Vec<u8>, String> {
        let mut buf = Vec::new();
        let mut chunk = vec![0; 64 * 1024];
        let mut complete = 0;
        let mut at = 0;
        while complete < n {
            if let Some(len) = reply_len(&buf[at..])? {
                at += len;
                complete += 1;
                continue;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("closed".into()),
                Ok(got) => buf.extend_from_slice(&chunk[..got]),
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(buf)
    }
}

/// Reddish (or, with `reference`, redis-server) with TLS on a fresh port besides its plain
/// one; the TLS port is returned too.
fn start(reference: bool, auth: &str, extra: &[&str]) -> (Server, u16) {
    let tls_port = free_port();
    let mut args = Certs::get().server_args(tls_port, auth);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = if reference {
        RedisServer::start_with(&args)
    } else {
        Server::start_with(&args)
    };
    await_tls_listener(tls_port);
    (server, tls_port)
}

/// Waits until `tls_port` accepts connections. The harness waits for the plain port only, and
/// redis-server listens on its TLS port a moment after it.
fn await_tls_listener(tls_port: u16) {
    let deadline = Instant::now() + START_TIMEOUT;
    while TcpStream::connect((Ipv4Addr::LOCALHOST, tls_port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on the TLS port {tls_port}"
        );
        sleep(Duration::from_millis(10));
    }
}

/// PING's outcome for a client presenting `identity`: `+PONG` or the failure.
fn ping(port: u16, identity: Option<&str>) -> Result<Vec<u8>, String> {
    TlsClient::connect(port, identity).cmd(&["PING"])
}

#[test]
fn redis_cli_over_tls_like_redis_server() {
    let certs = Certs::get();
    for reference in [false, true] {
        let (_server, port) = start(reference, "yes", &[]);
        let cli = |args: &[&str]| {
            let out = Command::new("redis-cli")
                .args([
                    "-p",
                    &port.to_string(),
                    "--tls",
                    "--cacert",
                    &certs.path("ca.crt"),
                ])
                .args([
                    "--cert",
                    &certs.path("client.crt"),
                    "--key",
                    &certs.path("client.key"),
                ])
                .args(args)
                .output()
                .expect("running redis-cli");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        assert_eq!(cli(&["PING"]), "PONG\n", "reference: {reference}");
        assert_eq!(cli(&["SET", "k", "v"]), "OK\n", "reference: {reference}");
        assert_eq!(cli(&["GET", "k"]), "v\n", "reference: {reference}");
        assert_eq!(
            cli(&["INCRBY", "n", "41"]),
            "41\n",
            "reference: {reference}"
        );
    }
}

#[test]
fn auth_clients_yes_requires_a_certificate_from_the_ca() {
    for reference in [false, true] {
        let (_server, port) = start(reference, "yes", &[]);
        assert_eq!(
            ping(port, WITH_CERT),
            Ok(b"+PONG\r\n".to_vec()),
            "reference: {reference}"
        );
        assert!(ping(port, NO_CERT).is_err(), "reference: {reference}");
        assert!(ping(port, ROGUE_CERT).is_err(), "reference: {reference}");
        // Each refusal closed that connection only.
        assert_eq!(
            ping(port, WITH_CERT),
            Ok(b"+PONG\r\n".to_vec()),
            "reference: {reference}"
        );
    }
}

#[test]
fn auth_clients_no_and_optional() {
    for reference in [false, true] {
        let (server, port) = start(reference, "no", &[]);
        assert_eq!(
            ping(port, NO_CERT),
            Ok(b"+PONG\r\n".to_vec()),
            "reference: {reference}"
        );
        drop(server);
        let (_server, port) = start(reference, "optional", &[]);
        assert_eq!(
            ping(port, NO_CERT),
            Ok(b"+PONG\r\n".to_vec()),
            "reference: {reference}"
        );
        assert_eq!(
            ping(port, WITH_CERT),
            Ok(b"+PONG\r\n".to_vec()),
            "reference: {reference}"
        );
        // A certificate presented is still checked.
        assert!(ping(port, ROGUE_CERT).is_err(), "reference: {reference}");
    }
}

/// A script that polls the plain port and then goes straight to the TLS port finds it
/// listening: the certificates are read and the TLS port listens before the plain port does.
/// The test's own poll is as tight as such a script's (the harness's waits would hide a gap).
#[test]
fn tls_port_listens_once_the_plain_port_does() {
    let mut checked = 0;
    for _ in 0..100 {
        if checked == 20 {
            break;
        }
        let (port, tls_port) = (free_port(), free_port());
        if port == tls_port {
            continue;
        }
        let mut args = vec![
            "--port".to_string(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
        ];
        args.extend(Certs::get().server_args(tls_port, "yes"));
        let mut child = Command::new(reddish_bin())
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the server");
        let deadline = Instant::now() + START_TIMEOUT;
        let tls = loop {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                break Some(TcpStream::connect((Ipv4Addr::LOCALHOST, tls_port)));
            }
            // Another test took one of the ports first: try two others.
            if child.try_wait().expect("waiting").is_some() || Instant::now() > deadline {
                break None;
            }
            std::thread::yield_now();
        };
        // Only a server that owns both ports counts (not one of another test's).
        let ours = listens_on(child.id(), port) != Some(false)
            && listens_on(child.id(), tls_port) != Some(false);
        let _ = child.kill();
        let _ = child.wait();
        if let (Some(tls), true) = (tls, ours) {
            assert!(tls.is_ok(), "TLS port {tls_port}: {tls:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, 20, "the server started only {checked} times");
}

#[test]
fn ca_cert_dir_alone_verifies_clients() {
    let certs = Certs::get();
    let tls_port = free_port();
    let server = Server::start_with(&[
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        &certs.path("server.crt"),
        "--tls-key-file",
        &certs.path("server.key"),
        "--tls-ca-cert-dir",
        &certs.path("ca-dir"),
    ]);
    await_tls_listener(tls_port);
    assert_eq!(ping(tls_port, WITH_CERT), Ok(b"+PONG\r\n".to_vec()));
    assert!(ping(tls_port, NO_CERT).is_err());
    let mut plain = server.raw();
    assert_eq!(
        plain.cmd(&["CONFIG", "GET", "tls-auth-clients"]),
        b"*2\r\n$16\r\ntls-auth-clients\r\n$3\r\nyes\r\n"
    );
}

#[test]
fn config_set_applies_to_new_connections() {
    for reference in [false, true] {
        let (server, port) = start(reference, "yes", &[]);
        let mut plain = server.raw();
        assert!(ping(port, NO_CERT).is_err(), "reference: {reference}");
        assert_eq!(
            plain.cmd(&["CONFIG", "SET", "tls-auth-clients", "no"]),
            b"+OK\r\n"
        );
        assert_eq!(
            ping(port, NO_CERT),
            Ok(b"+PONG\r\n".to_vec()),
            "reference: {reference}"
        );
        assert_eq!(
            plain.cmd(&["CONFIG", "SET", "tls-auth-clients", "yes"]),
            b"+OK\r\n"
        );
        assert!(ping(port, NO_CERT).is_err(), "reference: {reference}");
        assert_eq!(
            ping(port, WITH_CERT),
            Ok(b"+PONG\r\n".to_vec()),
            "reference: {reference}"
        );
    }
}

#[test]
fn stalled_handshakes_and_garbage_cost_nothing_else() {
    let (server, port) = start(false, "yes", &[]);
    // One client connects and says nothing; another stops halfway through a ClientHello.
    let silent = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connecting");
    let mut halfway = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connecting");
    halfway
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])
        .expect("writing part of a ClientHello");
    // A plaintext client on the TLS port is refused without harm to the others.
    let mut confused = RawConn::connect(([127, 0, 0, 1], port).into()).expect("connecting");
    confused.send(&encode_command(&["PING"]));
    assert!(confused.is_closed_within(Duration::from_secs(5)));

    let started = Instant::now();
    let mut client = TlsClient::connect(port, WITH_CERT);
    assert_eq!(client.cmd(&["SET", "k", "v"]), Ok(b"+OK\r\n".to_vec()));
    assert_eq!(client.cmd(&["GET", "k"]), Ok(b"$1\r\nv\r\n".to_vec()));
    let mut plain = server.raw();
    assert_eq!(plain.cmd(&["GET", "k"]), b"$1\r\nv\r\n");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The stalled connections are still open, waiting (Redis has no handshake timeout).
    assert_eq!(
        plain
            .cmd(&["CLIENT", "LIST"])
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"id="))
            .count(),
        4
    );
    drop((silent, halfway));
}

#[test]
fn plain_and_tls_clients_at_once() {
    let (server, port) = start(false, "yes", &[]);
    let mut plain = server.raw();
    let mut tls = TlsClient::connect(port, WITH_CERT);
    assert_eq!(plain.cmd(&["SET", "from-plain", "1"]), b"+OK\r\n");
    assert_eq!(tls.cmd(&["GET", "from-plain"]), Ok(b"$1\r\n1\r\n".to_vec()));
    assert_eq!(tls.cmd(&["SET", "from-tls", "2"]), Ok(b"+OK\r\n".to_vec()));
    assert_eq!(plain.cmd(&["GET", "from-tls"]), b"$1\r\n2\r\n");
    // A pipeline of 1000 commands in one write, answered in order.
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for i in 0..1000 {
        batch.extend(encode_command(&["INCR", "counter"]));
        expected.extend(format!(":{}\r\n", i + 1).into_bytes());
    }
    tls.send(&batch).expect("sending the pipeline");
    assert_eq!(tls.read_replies(1000), Ok(expected));
    assert_eq!(plain.cmd(&["GET", "counter"]), b"$4\r\n1000\r\n");
}

#[test]
fn large_values_over_tls_with_a_slow_reader() {
    let (_server, port) = start(false, "yes", &[]);
    let mut client = TlsClient::connect(port, WITH_CERT);
    let value: Vec<u8> = (0..1024 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!(
        client.cmd(&[&b"SET"[..], b"big", &value]),
        Ok(b"+OK\r\n".to_vec())
    );
    let mut expected_one = format!("${}\r\n", value.len()).into_bytes();
    expected_one.extend_from_slice(&value);
    expected_one.extend_from_slice(b"\r\n");
    assert_eq!(client.cmd(&["GET", "big"]), Ok(expected_one.clone()));
    // Eight megabytes of replies while the client reads nothing: the server's socket fills,
    // and what rustls still holds must go out once the client reads again.
    let mut batch = Vec::new();
    for _ in 0..8 {
        batch.extend(encode_command(&["GET", "big"]));
    }
    client.send(&batch).expect("sending the GETs");
    sleep(Duration::from_millis(500));
    assert_eq!(client.read_replies(8), Ok(expected_one.repeat(8)));
    assert_eq!(client.cmd(&["STRLEN", "big"]), Ok(b":1048576\r\n".to_vec()));
}

/// Runs a server that should refuse to start; its output once it exited (it is killed, and
/// the test fails, if it is still running after a few seconds).
fn failed_startup(bin: &Path, args: &[&str]) -> String {
    let log = std::env::temp_dir().join(unique_name("reddish-tls-startup"));
    let file = std::fs::File::create(&log).expect("creating a log file");
    let mut child = Command::new(bin)
        .args(args)
        .stdout(file.try_clone().expect("log file"))
        .stderr(file)
        .stdin(Stdio::null())
        .spawn()
        .expect("starting the server");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{bin:?} {args:?} started: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        sleep(Duration::from_millis(20));
    };
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!status.success(), "{output}");
    output
}

fn reddish_bin() -> PathBuf {
    match std::env::var_os("REDDISH_TEST_BIN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_reddish")),
    }
}

#[test]
fn startup_errors() {
    let certs = Certs::get();
    let port = free_port().to_string();
    let tls_port = free_port().to_string();
    let missing = certs.path("missing.crt");
    let cert = certs.path("server.crt");
    let server_key = certs.path("server.key");
    let base = ["--port", port.as_str(), "--tls-port", tls_port.as_str()];
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--tls-key-file", "x"],
            "No tls-cert-file configured!".into(),
        ),
        (
            vec![
                "--tls-cert-file",
                &missing,
                "--tls-key-file",
                "x",
                "--tls-auth-clients",
                "no",
            ],
            format!("Failed to load certificate: {missing}: "),
        ),
        (
            vec!["--tls-cert-file", "x", "--tls-key-file", "y"],
            "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, \
             tls-replication or tls-auth-clients are enabled!"
                .into(),
        ),
        (
            vec![
                "--tls-cert-file",
                &cert,
                "--tls-key-file",
                &server_key,
                "--tls-auth-clients",
                "no",
                "--tls-protocols",
                "TLSv1.2 SSLv3",
            ],
            "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', \
             'TLSv1.2' and 'TLSv1.3'."
                .into(),
        ),
    ];
    let redis = common::find_in_path("redis-server").expect("redis-server");
    for (args, expected) in &cases {
        let all: Vec<&str> = base.iter().chain(args.iter()).copied().collect();
        for bin in [reddish_bin(), redis.clone()] {
            let output = failed_startup(&bin, &all);
            assert!(
                output.contains(expected.as_str()),
                "{bin:?} {all:?}:\n{output}"
            );
        }
    }
    // Redis decrypts a key with tls-key-file-pass; rustls cannot, and says so at start-up.
    let key = certs.path("encrypted.key");
    let args = [
        "--port",
        &port,
        "--tls-port",
        &tls_port,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-key-file-pass",
        "secret",
        "--tls-auth-clients",
        "no",
    ];
    let output = failed_startup(&reddish_bin(), &args);
    assert!(
        output.contains(&format!(
            "Failed to load private key: {key}: the key is encrypted"
        )),
        "{output}"
    );
}
