//! Findings of an outside review: secrets in refused values, placeholder
//! keys, effective settings, name suggestions, config masking, export
//! names, repair hints, careless keys and small surprises.

use serde_json::json;

use crate::common::*;
use crate::server::{Reply, Server};

const SECRET: &str = "SUPERSECRETKEY123";

#[test]
fn refused_base_url_is_not_echoed_by_the_parser() {
    let sb = Sandbox::new();
    for url in [
        "http://user:SUPERSECRETKEY123@127.0.0.1/v1",
        "http://127.0.0.1/v1?key=SUPERSECRETKEY123",
    ] {
        let a = sb.run(&["provider", "add", "a", url]).code(64);
        let err = stderr(&a);
        assert!(!err.contains(SECRET), "{err}");
        assert!(err.contains("BASE_URL"), "{err}");
    }
    sb.run(&["provider", "add", "a", "http://127.0.0.1/v1"])
        .success();
    for url in [
        "http://user:SUPERSECRETKEY123@127.0.0.1/v1",
        "http://127.0.0.1/v1?key=SUPERSECRETKEY123",
    ] {
        let a = sb.run(&["provider", "update", "a", "--url", url]).code(64);
        let err = stderr(&a);
        assert!(!err.contains(SECRET), "{err}");
        assert!(err.contains("--url"), "{err}");
    }
    let a = sb
        .run(&["provider", "add", "b", "http://127.0.0.1/v1?key=SUPERSECRETKEY123"])
        .code(64);
    insta::assert_snapshot!("refused_base_url_query", stderr(&a));
}

/// A sandbox with provider `o` on a fresh server, key `key`, and prompt
/// `hi`.
fn with_key(key: &str) -> (Sandbox, Server) {
    let sb = Sandbox::new();
    let server = Server::start();
    sb.run(&["provider", "add", "o", &server.base(), "-m", "m1"])
        .success();
    sb.aix()
        .args(["api-key", "o"])
        .write_stdin(format!("{key}\n"))
        .assert()
        .success();
    sb.run(&["create", "hi", "Say hi"]).success();
    (sb, server)
}

#[test]
fn placeholder_keys_do_not_corrupt_answers() {
    for key in ["fake", "EMPTY", "ollama"] {
        let (sb, server) = with_key(key);
        server.push(Reply::answer(&format!("Hello from {key}.")));
        let a = sb.run(&["run", "hi", "-e", "--provider", "o"]).success();
        assert_eq!(stdout(&a).trim(), format!("Hello from {key}."));
        assert_eq!(
            server.last().header("authorization"),
            Some(format!("Bearer {key}").as_str())
        );
        server.push(Reply::json(
            200,
            &json!({"object": "list", "data": [{"id": format!("{key}-1"), "owned_by": "me"}]}),
        ));
        let a = sb.run(&["provider", "models", "o"]).success();
        assert!(stdout(&a).contains(&format!("{key}-1")), "{}", stdout(&a));
    }
    // A real-looking key is still masked.
    let (sb, server) = with_key("sk-longer-canary");
    server.push(Reply::answer("echo sk-longer-canary"));
    let a = sb.run(&["run", "hi", "-e", "--provider", "o"]).success();
    assert!(!stdout(&a).contains("sk-longer-canary"));
}
