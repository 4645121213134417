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
