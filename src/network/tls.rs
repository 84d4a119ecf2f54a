//! TLS: the server context built once from the `tls-*` settings, and the stream of a TLS
//! connection, driven without blocking by the reactor's readiness events like a plain socket.
//!
//! A read pulls records from the socket into rustls, processes them and returns plaintext;
//! handshake messages and alerts rustls produces on the way are sent at once. A write hands
//! plaintext to rustls and sends the records it makes until the socket would block; records
//! still queued then keep the connection's WRITABLE interest (see
//! [`TlsStream::has_pending_records`]).

use crate::config::Config;
use mio::net::TcpStream;
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, ServerConnection, WebPkiClientVerifier};
use rustls::{CipherSuite, RootCertStore, SupportedCipherSuite, SupportedProtocolVersion};
use std::io::{self, Read, Write};
use std::sync::Arc;

/// The TLS 1.3 suites by the names OpenSSL (and so Redis's `tls-ciphersuites`) uses.
const TLS13_SUITES: &[(&str, CipherSuite)] = &[
    (
        "TLS_AES_128_GCM_SHA256",
        CipherSuite::TLS13_AES_128_GCM_SHA256,
    ),
    (
        "TLS_AES_256_GCM_SHA384",
        CipherSuite::TLS13_AES_256_GCM_SHA384,
    ),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    ),
];

/// The `tls-*` settings a TLS context is built from, to notice when CONFIG SET changed one.
pub fn settings(cfg: &Config) -> [&str; 8] {
    [
        &cfg.tls_cert_file,
        &cfg.tls_key_file,
        &cfg.tls_key_file_pass,
        &cfg.tls_ca_cert_file,
        &cfg.tls_ca_cert_dir,
        &cfg.tls_auth_clients,
        &cfg.tls_protocols,
        &cfg.tls_ciphersuites,
    ]
}

/// The server's TLS context from the `tls-*` settings. The error is the line Redis logs for
/// the same mistake where it has one.
pub fn server_config(cfg: &Config) -> Result<Arc<ServerConfig>, String> {
    if cfg.tls_cert_file.is_empty() {
        return Err("No tls-cert-file configured!".into());
    }
    if cfg.tls_key_file.is_empty() {
        return Err("No tls-key-file configured!".into());
    }
    let auth = cfg.tls_auth_clients.as_str();
    if auth != "no" && cfg.tls_ca_cert_file.is_empty() && cfg.tls_ca_cert_dir.is_empty() {
        return Err(
            "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when \
                    tls-cluster, tls-replication or tls-auth-clients are enabled!"
                .into(),
        );
    }
    let versions = protocol_versions(&cfg.tls_protocols)?;
    let base = ring::default_provider();
    let cipher_suites = cipher_suites(&base.cipher_suites, &cfg.tls_ciphersuites)?;
    let provider = Arc::new(CryptoProvider {
        cipher_suites,
        ..base
    });
    let certs = load_certificates(&cfg.tls_cert_file)
        .map_err(|e| format!("Failed to load certificate: {}: {e}", cfg.tls_cert_file))?;
    let key = load_private_key(&cfg.tls_key_file, !cfg.tls_key_file_pass.is_empty())
        .map_err(|e| format!("Failed to load private key: {}: {e}", cfg.tls_key_file))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("Failed to configure TLS: {e}"))?;
    let builder = if auth == "no" {
        builder.with_no_client_auth()
    } else {
        let roots = load_roots(&cfg.tls_ca_cert_file, &cfg.tls_ca_cert_dir)
            .map_err(|e| format!("Failed to configure CA certificate(s) file/directory: {e}"))?;
        let mut verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        if auth == "optional" {
            verifier = verifier.allow_unauthenticated();
        }
        let verifier = verifier
            .build()
            .map_err(|e| format!("Failed to configure CA certificate(s) file/directory: {e}"))?;
        builder.with_client_cert_verifier(verifier)
    };
    let config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("Failed to load private key: {}: {e}", cfg.tls_key_file))?;
    Ok(Arc::new(config))
}

/// `tls-protocols` as Redis spells it. rustls speaks TLS 1.2 and 1.3 only: asking for the
/// older versions alone is an error, alongside the newer ones they are left out.
fn protocol_versions(text: &str) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    if text.trim().is_empty() {
        return Ok(vec![&rustls::version::TLS12, &rustls::version::TLS13]);
    }
    let mut versions = Vec::new();
    for word in text.split_whitespace() {
        match word.to_ascii_lowercase().as_str() {
            "tlsv1.2" => versions.push(&rustls::version::TLS12),
            "tlsv1.3" => versions.push(&rustls::version::TLS13),
            "tlsv1" | "tlsv1.1" => log::warn!("{word} is specified in tls-protocols but not supported: only TLSv1.2 and TLSv1.3 are"),
            _ => {
                return Err("Invalid tls-protocols specified. Use a combination of 'TLSv1', \
                            'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'."
                    .into())
            }
        }
    }
    if versions.is_empty() {
        return Err(format!(
            "None of tls-protocols '{text}' is supported: use TLSv1.2 and/or TLSv1.3."
        ));
    }
    Ok(versions)
}

/// The provider's suites, its TLS 1.3 ones narrowed to `tls-ciphersuites` (a colon separated
/// list of OpenSSL names) when that is set.
fn cipher_suites(
    all: &[SupportedCipherSuite],
    wanted: &str,
) -> Result<Vec<SupportedCipherSuite>, String> {
    if wanted.trim().is_empty() {
        return Ok(all.to_vec());
    }
    let mut chosen = Vec::new();
    for name in wanted.split(':').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(&(_, id)) = TLS13_SUITES.iter().find(|(known, _)| *known == name) else {
            return Err(format!(
                "Failed to configure ciphersuites: no such TLS 1.3 ciphersuite: {name}"
            ));
        };
        if let Some(suite) = all.iter().find(|s| s.suite() == id) {
            if !chosen
                .iter()
                .any(|s: &SupportedCipherSuite| s.suite() == id)
            {
                chosen.push(*suite);
            }
        }
    }
    if chosen.is_empty() {
        return Err("Failed to configure ciphersuites: no usable ciphersuite".into());
    }
    chosen.extend(
        all.iter()
            .filter(|s| s.version() == &rustls::version::TLS12)
            .copied(),
    );
    Ok(chosen)
}

/// Every certificate of a PEM file (a chain: the server's first).
fn load_certificates(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(&e))?;
    if certs.is_empty() {
        return Err("no certificate found".into());
    }
    Ok(certs)
}

/// The private key of a PEM file. rustls reads unencrypted keys only, so an encrypted one is
/// refused with what to do about it.
fn load_private_key(path: &str, has_pass: bool) -> Result<PrivateKeyDer<'static>, String> {
    let pem = std::fs::read(path).map_err(|e| e.to_string())?;
    let encrypted = memchr::memmem::find(&pem, b"ENCRYPTED PRIVATE KEY").is_some()
        || memchr::memmem::find(&pem, b"Proc-Type: 4,ENCRYPTED").is_some();
    if encrypted {
        return Err(if has_pass {
            "the key is encrypted and Reddish cannot decrypt it (tls-key-file-pass is not \
             supported): decrypt it first, e.g. with `openssl pkey`"
        } else {
            "the key is encrypted: decrypt it first, e.g. with `openssl pkey`"
        }
        .into());
    }
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| pem_error(&e))
}

/// The CAs client certificates must chain to: those of `file`, and of every file in `dir`
/// (OpenSSL's hashed names are not needed: each file is read).
fn load_roots(file: &str, dir: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let mut add_file = |path: &str, strict: bool| -> Result<(), String> {
        match load_certificates(path) {
            Ok(certs) => {
                for cert in certs {
                    roots.add(cert).map_err(|e| format!("{path}: {e}"))?;
                }
                Ok(())
            }
            Err(e) if strict => Err(format!("{path}: {e}")),
            // A directory may hold other files (CRLs, keys): only certificates count.
            Err(_) => Ok(()),
        }
    };
    if !file.is_empty() {
        add_file(file, true)?;
    }
    if !dir.is_empty() {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{dir}: {e}"))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                add_file(&path.to_string_lossy(), false)?;
            }
        }
    }
    if roots.is_empty() {
        return Err("no CA certificate found".into());
    }
    Ok(roots)
}

fn pem_error(e: &rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => io.to_string(),
        rustls::pki_types::pem::Error::NoItemsFound => "no PEM item found".into(),
        other => format!("{other:?}"),
    }
}

/// A TLS connection: the socket and rustls's state of the session on it.
pub struct TlsStream {
    tcp: TcpStream,
    session: ServerConnection,
}

impl TlsStream {
    pub fn new(tcp: TcpStream, config: &Arc<ServerConfig>) -> io::Result<TlsStream> {
        let session = ServerConnection::new(config.clone()).map_err(io::Error::other)?;
        Ok(TlsStream { tcp, session })
    }

    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    pub fn tcp_mut(&mut self) -> &mut TcpStream {
        &mut self.tcp
    }

    /// Records (handshake, alerts or encrypted replies) made but not yet taken by the socket.
    pub fn has_pending_records(&self) -> bool {
        self.session.wants_write()
    }

    /// Sends queued records until the socket would block or none is left.
    pub fn send_records(&mut self) -> io::Result<()> {
        while self.session.wants_write() {
            match self.session.write_tls(&mut self.tcp) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Tells the peer the session ends, as far as the socket takes it now.
    pub fn close_notify(&mut self) {
        self.session.send_close_notify();
        let _ = self.send_records();
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // Plaintext already decrypted goes first: rustls refuses more records while its
            // plaintext buffer is full.
            match self.session.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            match self.session.read_tls(&mut self.tcp) {
                Ok(0) => return Ok(0),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
            let processed = self.session.process_new_packets();
            // What processing produced goes out at once: the next handshake flight, or the
            // alert that tells the peer why its certificate or message was refused.
            let sent = self.send_records();
            if let Err(e) = processed {
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            sent?;
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Older records first, so rustls's bounded buffer has room for this plaintext.
        self.send_records()?;
        let taken = self.session.writer().write(buf)?;
        self.send_records()?;
        if taken == 0 && !buf.is_empty() {
            // rustls's buffer is full and the socket took none of it.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_records()
    }
}
