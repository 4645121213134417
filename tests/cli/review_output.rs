//! Terminal safety of everything from outside (answers kept in the REPL,
//! model ids, finish reasons, JSON, manifest lines), credentials in
//! validate snippets, bounded REPL input, and `-o` edge cases.

use predicates::prelude::*;
use rexpect::session::spawn_command;
use serde_json::json;

use crate::common::*;
use crate::server::{Reply, Server};

/// What a hostile server or file may carry: a screen clear, a title set,
/// an OSC 52 clipboard write, DEL and an 8-bit CSI.
const EVIL: &str = "a\u{1b}[2J\u{1b}]0;PWNED\u{7}b\u{1b}]52;c;SGVsbG8=\u{7}c\u{7f}d\u{9b}31me";

/// Whether `text` holds any of EVIL's controls raw.
fn raw_controls(text: &str) -> Vec<&'static str> {
    [
        ("ESC[2J", "\u{1b}[2J"),
        ("OSC 0", "\u{1b}]0;"),
        ("OSC 52", "\u{1b}]52"),
        ("BEL", "\u{7}"),
        ("DEL", "\u{7f}"),
        ("C1 CSI", "\u{9b}"),
    ]
    .into_iter()
    .filter(|(_, raw)| text.contains(raw))
    .map(|(name, _)| name)
    .collect()
}

fn setup() -> (Sandbox, Server) {
    let sb = Sandbox::new();
    let server = Server::start();
    sb.run(&["provider", "add", "local", &server.base(), "--model", "m1"])
        .success();
    sb.run(&["create", "greet", "Hello"]).success();
    (sb, server)
}

/// Runs `aix args` on a pseudo-terminal, colour allowed (so nothing but
/// aix itself cleans the output), with `input` typed; all it printed.
fn on_tty(sb: &Sandbox, args: &[&str], input: &[&str]) -> String {
    let mut cmd = sb.tty_command(args);
    cmd.env("AIX_RETRY_BASE_MS", "5");
    let mut p = spawn_command(cmd, Some(15_000)).unwrap();
    let mut seen = String::new();
    for line in input {
        if let Some(wait) = line.strip_prefix("wait:") {
            seen.push_str(&p.exp_string(wait).unwrap());
            seen.push_str(wait);
        } else {
            p.send_line(line).unwrap();
        }
    }
    seen.push_str(&p.exp_eof().unwrap());
    tty_text(&seen)
}

fn models_reply() -> Reply {
    Reply::json(
        200,
        &json!({"object": "list", "data": [
            {"id": "esc\u{1b}]52;c;SGVsbG8=\u{7}x", "owned_by": "x\u{9b}1m"},
            {"id": "m1", "owned_by": "me"}
        ]}),
    )
}

#[test]
fn repl_history_and_models_show_controls_on_a_terminal() {
    let (sb, server) = setup();
    server.push(Reply::stream(&[EVIL]));
    server.push(models_reply());
    let seen = on_tty(
        &sb,
        &["repl", "--provider", "local"],
        &[
            "wait:local/m1> ",
            "hi",
            "wait:local/m1> ",
            "/history",
            "wait:local/m1> ",
            "/models",
            "wait:local/m1> ",
            "/exit",
        ],
    );
    assert_eq!(raw_controls(&seen), Vec::<&str>::new(), "{seen:?}");
    assert!(seen.contains("[assistant]"), "{seen:?}");
    assert!(seen.contains("␛]0;PWNED␇"), "{seen:?}");
    assert!(seen.contains("esc␛]52;c;SGVsbG8=␇x"), "{seen:?}");
}

#[test]
fn provider_models_table_is_safe_on_a_terminal_and_raw_in_a_pipe() {
    let (sb, server) = setup();
    server.push(models_reply());
    let seen = on_tty(&sb, &["provider", "models", "local"], &[]);
    assert_eq!(raw_controls(&seen), Vec::<&str>::new(), "{seen:?}");
    assert!(seen.contains("esc␛]52;c;SGVsbG8=␇x"), "{seen:?}");
    // A pipe gets the bytes aix does not clean (anstream drops escape
    // sequences there when colour is off).
    server.push(models_reply());
    let a = sb.run(&["provider", "models", "local"]).success();
    assert!(stdout(&a).contains("x\u{9b}1m"), "{:?}", stdout(&a));
}

fn evil_answer() -> Reply {
    Reply::json(
        200,
        &json!({
            "id": "c1", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": EVIL},
                         "finish_reason": "\u{1b}]0;PWNED\u{7}"}],
            "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
        }),
    )
}

#[test]
fn verbose_finish_reason_is_safe_on_a_terminal() {
    let (sb, server) = setup();
    server.push(evil_answer());
    let seen = on_tty(
        &sb,
        &[
            "run",
            "greet",
            "--provider",
            "local",
            "-e",
            "--no-stream",
            "-v",
        ],
        &[],
    );
    assert_eq!(raw_controls(&seen), Vec::<&str>::new(), "{seen:?}");
    assert!(seen.contains("(finish: ␛]0;PWNED␇)"), "{seen:?}");
}

#[test]
fn json_without_stream_is_safe_on_a_terminal() {
    let (sb, server) = setup();
    server.push(evil_answer());
    let seen = on_tty(
        &sb,
        &[
            "run",
            "greet",
            "--provider",
            "local",
            "-e",
            "--no-stream",
            "--json",
        ],
        &[],
    );
    assert_eq!(raw_controls(&seen), Vec::<&str>::new(), "{seen:?}");
    assert!(seen.contains("c␡d\u{FFFD}31me"), "{seen:?}");
}

#[test]
fn output_file_that_is_a_terminal_is_treated_as_one() {
    let (sb, server) = setup();
    for args in [
        &["--no-stream"][..],
        &["--stream"][..],
        &["--no-stream", "--json"][..],
    ] {
        server.push(if args.contains(&"--stream") {
            Reply::stream(&[EVIL])
        } else {
            evil_answer()
        });
        let mut full = vec![
            "run",
            "greet",
            "--provider",
            "local",
            "-e",
            "-o",
            "/dev/tty",
        ];
        full.extend_from_slice(args);
        let seen = on_tty(&sb, &full, &[]);
        assert_eq!(
            raw_controls(&seen),
            Vec::<&str>::new(),
            "{args:?}: {seen:?}"
        );
        assert!(seen.contains("c␡d"), "{args:?}: {seen:?}");
    }
    // A dry run's rendered prompt (text from a file) too.
    sb.run(&["create", "evil", EVIL]).success();
    let seen = on_tty(&sb, &["run", "evil", "-o", "/dev/tty"], &[]);
    assert_eq!(raw_controls(&seen), Vec::<&str>::new(), "{seen:?}");
}

const CREDENTIALS: &str = "[providers.b]\nbase_url = \"http://alice:hunter2pw@y/v1\"\nheaders = { Authorization = \"Bearer SUPERSECRETKEY123\", X = \"${env:oops\" }\n";

#[test]
fn validate_snippets_show_controls_and_hide_credentials() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.root.join("evil.toml"),
        "[providers.a]\nbase_url = \"http://x\" # \u{1b}]0;PWNED\u{7}\n",
    )
    .unwrap();
    let seen = on_tty(&sb, &["validate", "evil.toml"], &[]);
    assert_eq!(raw_controls(&seen), Vec::<&str>::new(), "{seen:?}");
    assert!(seen.contains("# ␛]0;PWNED␇"), "{seen:?}");

    std::fs::write(sb.root.join("providers.toml"), CREDENTIALS).unwrap();
    let seen = on_tty(&sb, &["validate", "providers.toml"], &[]);
    for secret in ["SUPERSECRETKEY123", "hunter2pw", "alice"] {
        assert!(!seen.contains(secret), "{secret} shown: {seen}");
    }
    // The snippets are still shown, masked, with the caret where it was.
    let snippets: String = seen
        .lines()
        .filter(|l| l.starts_with(' '))
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    insta::assert_snapshot!("validate_masked_snippets", snippets);
    // plan prints the same snippets on stderr.
    let seen = on_tty(&sb, &["plan", "-f", "providers.toml"], &[]);
    assert!(seen.contains("(sensitive)"), "{seen}");
    for secret in ["SUPERSECRETKEY123", "hunter2pw"] {
        assert!(!seen.contains(secret), "{secret} shown: {seen}");
    }
}

#[test]
fn validate_snippets_hide_keys_in_config_json() {
    let sb = Sandbox::new();
    sb.write_config(
        "{\n  \"custom_providers\": {\"a\": {\"base_url\": 5}},\n  \"api_keys\": {\n    \"a\": \"sk-SNIPPETCANARY\", \"b\": 7\n  }\n}\n",
    );
    let path = sb.config_path();
    let seen = on_tty(&sb, &["validate", path.to_str().unwrap()], &[]);
    assert!(seen.contains("error"), "{seen}");
    assert!(!seen.contains("SNIPPETCANARY"), "{seen}");
}

#[test]
fn repl_refuses_an_endless_line_without_sending_it() {
    let (sb, server) = setup();
    // 9 MiB without a newline: over the 8 MiB limit.
    let big = "a".repeat(9 << 20);
    let a = sb
        .aix()
        .args(["repl", "--provider", "local"])
        .write_stdin(big)
        .assert()
        .code(64);
    insta::assert_snapshot!("repl_line_too_long", stderr(&a));
    assert!(server.requests().is_empty());
    // A """ block of short lines is capped as a whole.
    let mut block = String::from("\"\"\"\n");
    for _ in 0..(9 << 10) {
        block.push_str(&"b".repeat(1023));
        block.push('\n');
    }
    block.push_str("\"\"\"\n");
    sb.aix()
        .args(["repl", "--provider", "local"])
        .write_stdin(block)
        .assert()
        .code(64)
        .stderr(predicate::str::contains(
            "the message is longer than the 8 MiB limit; nothing was sent",
        ));
    assert!(server.requests().is_empty());
}

#[test]
fn repl_ends_at_once_on_nul_input() {
    let (sb, server) = setup();
    let a = sb
        .aix()
        .args(["repl", "--provider", "local"])
        .write_stdin(vec![0u8; 1 << 20])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(64);
    insta::assert_snapshot!("repl_nul_input", stderr(&a));
    assert!(server.requests().is_empty());
}

#[test]
fn repl_lists_models_without_a_model() {
    let sb = Sandbox::new();
    let server = Server::start();
    sb.run(&["provider", "add", "bare", &server.base()])
        .success();
    server.push(models_reply());
    let a = sb
        .aix()
        .args(["repl", "--provider", "bare"])
        .write_stdin("/models\n")
        .assert()
        .success();
    assert!(stdout(&a).contains("m1\n"), "{}", stdout(&a));
    assert_eq!(server.last().path, "/v1/models");
}

#[test]
fn json_without_stream_writes_the_output_file() {
    let (sb, server) = setup();
    server.push(Reply::answer("filed"));
    let out = sb.root.join("out.json");
    let a = sb
        .aix()
        .args([
            "run",
            "greet",
            "--provider",
            "local",
            "-e",
            "--no-stream",
            "--json",
            "-o",
        ])
        .arg(&out)
        .write_stdin("")
        .assert()
        .success();
    assert_eq!(stdout(&a), "", "nothing on stdout");
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(written["choices"][0]["message"]["content"], "filed");
    assert!(
        stderr(&a).contains("Wrote the response to"),
        "{}",
        stderr(&a)
    );
    // A bad path fails before anything is sent.
    let before = server.requests().len();
    sb.aix()
        .args([
            "run",
            "greet",
            "--provider",
            "local",
            "-e",
            "--no-stream",
            "--json",
            "-o",
        ])
        .arg(sb.root.join("nodir/out.json"))
        .write_stdin("")
        .assert()
        .code(1);
    assert_eq!(server.requests().len(), before);
}

#[test]
fn output_into_a_missing_folder_names_the_users_path() {
    let (sb, _server) = setup();
    let a = sb
        .aix()
        .current_dir(&sb.root)
        .args(["run", "greet", "--provider", "local", "-o", "nodir/f"])
        .write_stdin("")
        .assert()
        .code(1);
    let err = stderr(&a);
    assert!(!err.contains(".tmp"), "{err}");
    insta::assert_snapshot!("output_missing_folder", err);
}
