//! The network settings on the wire: the roots an https request trusts
//! (bundled, system, `SSL_CERT_FILE`, the provider's `ca_file`), what each
//! TLS failure says, proxies (the provider's, the environment's, `none`)
//! and the connect timeout.
//!
//! The TLS server is a small rustls server thread with certificates made
//! by rcgen at test time; the proxy is a CONNECT proxy thread that records
//! the tunnels it opened.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::common::*;
use crate::server::{Reply, Server};

/// A test CA and what it can sign.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `names`, valid now unless `expired`.
    fn leaf(
        &self,
        names: &[&str],
        expired: bool,
    ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (
            cert.der().clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
    }
}

/// An https server on 127.0.0.1 answering every request with a canned
/// chat completion; it counts connections and records request lines.
struct TlsServer {
    port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl TlsServer {
    fn start(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> TlsServer {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let (c, r) = (connections.clone(), requests.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                c.fetch_add(1, Ordering::SeqCst);
                let (config, r) = (config.clone(), r.clone());
                std::thread::spawn(move || {
                    let _ = serve_tls(conn, config, &r);
                });
            }
        });
        TlsServer {
            port,
            connections,
            requests,
        }
    }

    fn base(&self, host: &str) -> String {
        format!("https://{host}:{}/v1", self.port)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve_tls(
    conn: TcpStream,
    config: Arc<rustls::ServerConfig>,
    requests: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let tls = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut stream = BufReader::new(rustls::StreamOwned::new(tls, conn));
    let mut line = String::new();
    stream.read_line(&mut line)?;
    let request_line = line.trim_end().to_string();
    let mut len = 0;
    loop {
        line.clear();
        if stream.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; len];
    stream.read_exact(&mut body)?;
    requests.lock().unwrap().push(request_line);
    let reply = serde_json::json!({
        "id": "c1", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "over TLS"}, "finish_reason": "stop"}]
    })
    .to_string();
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reply.len()
    );
    let s = stream.get_mut();
    s.write_all(head.as_bytes())?;
    s.write_all(reply.as_bytes())?;
    s.flush()?;
    s.conn.send_close_notify();
    s.flush()
}

/// A CONNECT proxy on 127.0.0.1 that records each `CONNECT host:port`.
struct Proxy {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let s = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = tunnel(conn, &s);
                });
            }
        });
        Proxy { port, seen }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn tunnel(conn: TcpStream, seen: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let request_line = line.trim_end().to_string();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
    }
    seen.lock().unwrap().push(request_line.clone());
    let mut out = conn.try_clone()?;
    let target = match request_line.split_whitespace().collect::<Vec<_>>()[..] {
        ["CONNECT", target, _] => target.to_string(),
        _ => {
            out.write_all(b"HTTP/1.1 405 Only CONNECT\r\ncontent-length: 0\r\n\r\n")?;
            return Ok(());
        }
    };
    let upstream = TcpStream::connect(&target)?;
    out.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    // What the client sent after the CONNECT head, already buffered.
    let mut up = upstream.try_clone()?;
    up.write_all(reader.buffer())?;
    let mut down = upstream;
    let copier = std::thread::spawn(move || {
        let _ = std::io::copy(&mut down, &mut out);
    });
    let mut client = reader.into_inner();
    let _ = std::io::copy(&mut client, &mut up);
    let _ = up.shutdown(std::net::Shutdown::Write);
    let _ = copier.join();
    Ok(())
}

/// A sandbox with the prompt `greet` and provider `local` at `base`
/// (model `m`), added with `extra` flags.
fn sandbox(base: &str, extra: &[&str]) -> Sandbox {
    let sb = Sandbox::new();
    let mut args = vec!["provider", "add", "local", base, "--model", "m"];
    args.extend_from_slice(extra);
    sb.run(&args).success();
    sb.run(&["create", "greet", "Hello"]).success();
    sb
}

/// `aix run greet --provider local -e --no-stream` with `env` set.
fn run(sb: &Sandbox, env: &[(&str, &str)]) -> assert_cmd::assert::Assert {
    let mut cmd = sb.aix();
    cmd.env("AIX_RETRY_BASE_MS", "5");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(["run", "greet", "--provider", "local", "-e", "--no-stream"])
        .write_stdin("")
        .assert()
}

/// Writes the CA's PEM in the sandbox and returns its path.
fn write_ca(sb: &Sandbox, ca: &Ca) -> PathBuf {
    let path = sb.root.join("ca.pem");
    std::fs::write(&path, &ca.pem).unwrap();
    path
}

/// stderr with ports and the sandbox's path replaced, for snapshots.
fn stable(sb: &Sandbox, text: &str) -> String {
    let root = sb.root.to_string_lossy().into_owned();
    let mut out = text.replace(&root, "SANDBOX");
    // Every `127.0.0.1:NNNN` / `localhost:NNNN` port becomes PORT.
    for host in ["127.0.0.1:", "localhost:"] {
        let mut done = String::new();
        let mut rest = out.as_str();
        while let Some(i) = rest.find(host) {
            done.push_str(&rest[..i + host.len()]);
            rest = &rest[i + host.len()..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 {
                done.push_str("PORT");
            }
            rest = &rest[digits..];
        }
        done.push_str(rest);
        out = done;
    }
    out
}

#[test]
fn an_unknown_authority_is_told_with_what_to_do() {
    let ca = Ca::new("aix test CA");
    let (cert, key) = ca.leaf(&["127.0.0.1", "localhost"], false);
    let server = TlsServer::start(cert, key);
    let sb = sandbox(&server.base("127.0.0.1"), &[]);
    let a = run(&sb, &[]).failure();
    insta::assert_snapshot!("tls_unknown_issuer", stable(&sb, &stderr(&a)));
    assert!(
        server.requests().is_empty(),
        "nothing passes an untrusted handshake"
    );
}

#[test]
fn a_ca_file_makes_the_server_trusted() {
    let ca = Ca::new("aix test CA");
    let (cert, key) = ca.leaf(&["127.0.0.1", "localhost"], false);
    let server = TlsServer::start(cert, key);
    let sb = sandbox(&server.base("127.0.0.1"), &[]);
    let pem = write_ca(&sb, &ca);
    sb.run(&[
        "provider",
        "update",
        "local",
        "--ca-file",
        pem.to_str().unwrap(),
    ])
    .success();
    let a = run(&sb, &[]).success();
    assert_eq!(stdout(&a).trim(), "over TLS");
    assert_eq!(server.requests(), ["POST /v1/chat/completions HTTP/1.1"]);

    // Given at `provider add`, by name, and as a ~/ path.
    let sb = Sandbox::new();
    std::fs::write(sb.root.join("lab-ca.pem"), &ca.pem).unwrap();
    let base = server.base("localhost");
    sb.run(&[
        "provider",
        "add",
        "local",
        &base,
        "--model",
        "m",
        "--ca-file",
        "~/lab-ca.pem",
    ])
    .success();
    sb.run(&["create", "greet", "Hello"]).success();
    let a = run(&sb, &[]).success();
    assert_eq!(stdout(&a).trim(), "over TLS");
}

#[test]
fn ssl_cert_file_is_trusted_without_a_ca_file() {
    let ca = Ca::new("aix test CA");
    let (cert, key) = ca.leaf(&["127.0.0.1"], false);
    let server = TlsServer::start(cert, key);
    let sb = sandbox(&server.base("127.0.0.1"), &[]);
    let pem = write_ca(&sb, &ca);
    let a = run(&sb, &[("SSL_CERT_FILE", pem.to_str().unwrap())]).success();
    assert_eq!(stdout(&a).trim(), "over TLS");
}

#[test]
fn an_unreadable_ssl_cert_file_is_noted_and_the_bundled_roots_remain() {
    let ca = Ca::new("aix test CA");
    let (cert, key) = ca.leaf(&["127.0.0.1"], false);
    let server = TlsServer::start(cert, key);
    let sb = sandbox(&server.base("127.0.0.1"), &[]);
    let missing = sb.root.join("nope.pem");
    let a = run(&sb, &[("SSL_CERT_FILE", missing.to_str().unwrap())]).failure();
    let err = stderr(&a);
    assert!(err.contains("SSL_CERT_FILE"), "{err}");
    assert!(err.contains("authority aix does not trust"), "{err}");
}

/// A server whose certificate, signed by a CA given as `ca_file`, is
/// wrong in one way: what aix says.
fn refused_with_ca_file(hosts: &[&str], expired: bool) -> String {
    let ca = Ca::new("aix test CA");
    let (cert, key) = ca.leaf(hosts, expired);
    let server = TlsServer::start(cert, key);
    let sb = sandbox(&server.base("127.0.0.1"), &[]);
    let pem = write_ca(&sb, &ca);
    sb.run(&[
        "provider",
        "update",
        "local",
        "--ca-file",
        pem.to_str().unwrap(),
    ])
    .success();
    let a = run(&sb, &[]).failure();
    stable(&sb, &stderr(&a))
}

#[test]
fn an_expired_certificate_is_told_as_such() {
    insta::assert_snapshot!("tls_expired", refused_with_ca_file(&["127.0.0.1"], true));
}

#[test]
fn a_certificate_for_another_host_is_told_as_such() {
    insta::assert_snapshot!(
        "tls_wrong_host",
        refused_with_ca_file(&["other.example"], false)
    );
}

#[test]
fn a_plain_http_server_behind_https_keeps_its_hint() {
    // A plain HTTP server answers the TLS hello with an HTTP error.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.write_all(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let sb = sandbox(&format!("https://127.0.0.1:{port}/v1"), &[]);
    let a = run(&sb, &[]).failure();
    let err = stderr(&a);
    assert!(err.contains("TLS with"), "{err}");
    assert!(err.contains("speaks HTTPS at this port"), "{err}");
}

#[test]
fn a_ca_file_that_cannot_be_used_stops_before_sending() {
    let ca = Ca::new("aix test CA");
    let (cert, key) = ca.leaf(&["127.0.0.1"], false);
    let server = TlsServer::start(cert, key);
    let sb = sandbox(&server.base("127.0.0.1"), &[]);
    let missing = sb.root.join("missing.pem");
    sb.run(&[
        "provider",
        "update",
        "local",
        "--ca-file",
        missing.to_str().unwrap(),
    ])
    .success();
    let a = run(&sb, &[]).failure();
    insta::assert_snapshot!("ca_file_missing", stable(&sb, &stderr(&a)));

    // Not PEM, a directory, too big: each one line, nothing sent.
    let bad = sb.root.join("bad.pem");
    std::fs::write(&bad, "not a certificate\n").unwrap();
    let big = sb.root.join("big.pem");
    std::fs::write(&big, vec![b'x'; 1024 * 1024 + 1]).unwrap();
    for (path, says) in [
        (bad.as_path(), "holds no certificate"),
        (sb.root.as_path(), "is a directory"),
        (big.as_path(), "larger than 1024 KiB"),
    ] {
        sb.run(&[
            "provider",
            "update",
            "local",
            "--ca-file",
            path.to_str().unwrap(),
        ])
        .success();
        let a = run(&sb, &[]).failure();
        let err = stderr(&a);
        assert!(err.contains(says), "{err}");
        assert!(err.contains("provider 'local'"), "{err}");
    }
    assert_eq!(
        server.connections.load(Ordering::SeqCst),
        0,
        "nothing was sent"
    );
}

#[test]
fn an_http_url_ignores_the_ca_file() {
    let server = Server::start();
    server.push(Reply::answer("plain"));
    let sb = sandbox(&server.base(), &["--ca-file", "/nonexistent/ca.pem"]);
    let a = run(&sb, &[]).success();
    assert_eq!(stdout(&a).trim(), "plain");
}

#[test]
fn the_providers_proxy_carries_the_request() {
    let proxy = Proxy::start();
    let server = Server::start();
    server.push(Reply::answer("via proxy"));
    let sb = sandbox(&server.base(), &["--proxy", &proxy.url()]);
    let a = run(&sb, &[]).success();
    assert_eq!(stdout(&a).trim(), "via proxy");
    let target = server.addr.trim_start_matches("http://").to_string();
    assert_eq!(proxy.seen(), [format!("CONNECT {target} HTTP/1.1")]);
    assert_eq!(server.last().path, "/v1/chat/completions");
}

#[test]
fn the_providers_proxy_carries_https_too() {
    let ca = Ca::new("aix test CA");
    let (cert, key) = ca.leaf(&["127.0.0.1"], false);
    let server = TlsServer::start(cert, key);
    let proxy = Proxy::start();
    let sb = sandbox(&server.base("127.0.0.1"), &["--proxy", &proxy.url()]);
    let pem = write_ca(&sb, &ca);
    sb.run(&[
        "provider",
        "update",
        "local",
        "--ca-file",
        pem.to_str().unwrap(),
    ])
    .success();
    let a = run(&sb, &[]).success();
    assert_eq!(stdout(&a).trim(), "over TLS");
    assert_eq!(
        proxy.seen(),
        [format!("CONNECT 127.0.0.1:{} HTTP/1.1", server.port)]
    );
}

/// A SOCKS5 proxy (no authentication, CONNECT only) that records the
/// targets it was asked for.
fn socks5_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    fn serve(mut c: TcpStream, seen: &Mutex<Vec<String>>) -> std::io::Result<()> {
        let mut head = [0; 2];
        c.read_exact(&mut head)?;
        let mut methods = vec![0; head[1] as usize];
        c.read_exact(&mut methods)?;
        c.write_all(&[5, 0])?;
        let mut req = [0; 4];
        c.read_exact(&mut req)?;
        let host = match req[3] {
            1 => {
                let mut a = [0; 4];
                c.read_exact(&mut a)?;
                std::net::Ipv4Addr::from(a).to_string()
            }
            3 => {
                let mut n = [0; 1];
                c.read_exact(&mut n)?;
                let mut name = vec![0; n[0] as usize];
                c.read_exact(&mut name)?;
                String::from_utf8_lossy(&name).into_owned()
            }
            _ => return Ok(()),
        };
        let mut port = [0; 2];
        c.read_exact(&mut port)?;
        let target = format!("{host}:{}", u16::from_be_bytes(port));
        seen.lock().unwrap().push(target.clone());
        let upstream = TcpStream::connect(&target)?;
        c.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0])?;
        let (mut down, mut out) = (upstream.try_clone()?, c.try_clone()?);
        let copier = std::thread::spawn(move || {
            let _ = std::io::copy(&mut down, &mut out);
        });
        let mut up = upstream;
        let _ = std::io::copy(&mut c, &mut up);
        let _ = up.shutdown(std::net::Shutdown::Write);
        let _ = copier.join();
        Ok(())
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let s = s.clone();
            std::thread::spawn(move || {
                let _ = serve(conn, &s);
            });
        }
    });
    (port, seen)
}

#[test]
fn a_socks5_proxy_carries_the_request() {
    let (port, seen) = socks5_proxy();
    let server = Server::start();
    server.push(Reply::answer("via socks"));
    let proxy = format!("socks5://127.0.0.1:{port}");
    let sb = sandbox(&server.base(), &["--proxy", &proxy]);
    let a = run(&sb, &[]).success();
    assert_eq!(stdout(&a).trim(), "via socks");
    let target = server.addr.trim_start_matches("http://").to_string();
    assert_eq!(*seen.lock().unwrap(), [target]);
}

#[test]
fn proxy_none_ignores_the_environment() {
    let proxy = Proxy::start();
    let server = Server::start();
    let sb = sandbox(&server.base(), &["--proxy", "none"]);
    for var in [
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "https_proxy",
        "all_proxy",
    ] {
        server.push(Reply::answer("direct"));
        let a = run(&sb, &[(var, &proxy.url())]).success();
        assert_eq!(stdout(&a).trim(), "direct", "{var}");
    }
    assert!(proxy.seen().is_empty(), "the proxy saw {:?}", proxy.seen());
    assert_eq!(server.requests().len(), 5);
}

#[test]
fn the_environments_proxy_is_used_when_the_provider_sets_none() {
    let proxy = Proxy::start();
    let server = Server::start();
    let sb = sandbox(&server.base(), &[]);
    // ureq makes no exception for 127.0.0.1 or localhost: NO_PROXY does.
    for var in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"] {
        server.push(Reply::answer("via env"));
        let a = run(&sb, &[(var, &proxy.url())]).success();
        assert_eq!(stdout(&a).trim(), "via env", "{var}");
    }
    assert_eq!(proxy.seen().len(), 3);

    server.push(Reply::answer("bypassed"));
    let a = run(
        &sb,
        &[("HTTPS_PROXY", &proxy.url()), ("NO_PROXY", "127.0.0.1")],
    )
    .success();
    assert_eq!(stdout(&a).trim(), "bypassed");
    assert_eq!(proxy.seen().len(), 3, "NO_PROXY bypassed the proxy");
    assert_eq!(server.requests().len(), 4);
}

#[test]
fn a_proxy_that_cannot_be_reached_is_named() {
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let server = Server::start();
    let proxy = format!("http://127.0.0.1:{closed}");
    let sb = sandbox(&server.base(), &["--proxy", &proxy]);
    let a = run(&sb, &[]).failure();
    insta::assert_snapshot!("proxy_refused", stable(&sb, &stderr(&a)));
    assert!(server.requests().is_empty());

    // The environment's proxy is named too, without its credentials.
    let sb = sandbox(&server.base(), &[]);
    let env = format!("http://user:hunter2@127.0.0.1:{closed}");
    let a = run(&sb, &[("HTTPS_PROXY", &env)]).failure();
    let err = stderr(&a);
    assert!(
        err.contains(&format!("proxy http://127.0.0.1:{closed}")),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn a_proxy_that_refuses_the_tunnel_is_named() {
    // A proxy that answers 403 to every CONNECT.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            let mut out = conn;
            let _ = out.write_all(
                b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            let _ = out.shutdown(std::net::Shutdown::Write);
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let server = Server::start();
    let sb = sandbox(
        &server.base(),
        &["--proxy", &format!("http://127.0.0.1:{port}")],
    );
    let a = run(&sb, &[]).failure();
    let err = stderr(&a);
    assert!(
        err.contains(&format!("the proxy http://127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.contains("403"), "{err}");
    assert!(err.contains("--proxy none"), "{err}");
    assert!(server.requests().is_empty());
}

/// A listener whose accept queue is full, so that a new connection to it
/// hangs (Linux drops the SYN), or `None` where that cannot be made.
fn hanging_listener() -> Option<(TcpListener, Vec<TcpStream>, u16)> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..2000 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => held.push(s),
            Err(_) => return Some((listener, held, addr.port())),
        }
    }
    None
}

#[test]
fn the_connect_timeout_is_the_providers() {
    let Some((_listener, _held, port)) = hanging_listener() else {
        eprintln!("skipped: connections to a full listener do not hang on this system");
        return;
    };
    let base = format!("http://127.0.0.1:{port}/v1");
    let sb = sandbox(&base, &["--connect-timeout", "1"]);
    let started = Instant::now();
    let a = run(&sb, &[]).failure();
    let took = started.elapsed();
    let err = stderr(&a);
    assert!(err.contains("timed out after 1 s (connecting)"), "{err}");
    assert!(took < Duration::from_secs(6), "took {took:?}");

    // config.json's connect_timeout_secs applies when the provider has none.
    let sb = sandbox(&base, &[]);
    sb.run(&["config", "set", "connect_timeout_secs", "2"])
        .success();
    let a = run(&sb, &[]).failure();
    let err = stderr(&a);
    assert!(err.contains("timed out after 2 s (connecting)"), "{err}");
}
