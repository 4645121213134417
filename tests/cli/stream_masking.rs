//! `--stream --json` masks a key a server echoes one character at a time,
//! in every delta field aix shows: content, refusal and tool-call
//! arguments.

use serde_json::json;

use crate::common::*;
use crate::server::{Reply, Server};

const KEY: &str = "sk-split-canary-7734";

fn events(field: &str) -> Vec<String> {
    let mut out = Vec::new();
    for c in KEY.chars() {
        let delta = match field {
            "tool" => {
                json!({"tool_calls": [{"index": 0, "function": {"arguments": c.to_string()}}]})
            }
            f => json!({ f: c.to_string() }),
        };
        let chunk = json!({"choices": [{"index": 0, "delta": delta}]});
        out.push(format!("data: {chunk}\n\n"));
    }
    out.push(
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n".into(),
    );
    out.push("data: [DONE]\n\n".into());
    out
}

#[test]
fn a_key_split_across_json_stream_events_is_masked_in_every_field() {
    let server = Server::start();
    let sb = with_local_provider(&server.base(), Some(KEY));
    for field in ["content", "refusal", "tool"] {
        let pieces = events(field);
        let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
        server.push(Reply::sse_pieces(&pieces));
        let a = run_greet(&sb, &["--stream", "--json"]).success();
        let out = stdout(&a);
        // Put the shown pieces of the field back together.
        let mut joined = String::new();
        for line in out.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let d = &v["choices"][0]["delta"];
            let piece = match field {
                "tool" => d["tool_calls"][0]["function"]["arguments"].as_str(),
                f => d[f].as_str(),
            };
            joined.push_str(piece.unwrap_or(""));
        }
        assert!(!joined.contains(KEY), "{field}: {joined}");
        assert!(joined.contains("(sensitive)"), "{field}: {joined}");
        assert!(!all(&a).contains("canary"), "{field}: {out}");
    }
}

fn all(a: &assert_cmd::assert::Assert) -> String {
    format!("{}{}", stdout(a), stderr(a))
}

#[test]
fn malformed_usage_is_ignored_streamed_as_whole() {
    let server = Server::start();
    let sb = with_local_provider(&server.base(), None);
    for usage in [
        json!({"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": null}),
        json!({"prompt_tokens": "3", "completion_tokens": -5}),
        json!("lots"),
    ] {
        let text = json!({"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}], "usage": usage});
        let first = format!("data: {text}\n\n");
        server.push(Reply::sse_pieces(&[&first, "data: [DONE]\n\n"]));
        let a = run_greet(&sb, &["--stream", "-v"]).success();
        assert_eq!(stdout(&a), "hi\n", "{usage}");
        server.push(Reply::json(
            200,
            &json!({"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}], "usage": usage}),
        ));
        run_greet(&sb, &["--no-stream", "-v"])
            .success()
            .stdout("hi\n");
    }
}
