//! Command-line and REPL usability: secrets kept out of parser errors,
//! `provider update` and `remove`, `provider check` without `/models`,
//! provider-name suggestions, parameter binding shared by `run` and the
//! REPL, dynamic completions, colour before parsing and the man page.

use std::time::Duration;

use predicates::prelude::*;
use serde_json::json;

use crate::common::*;
use crate::server::{Reply, Server, Step};

fn with_provider(model: Option<&str>) -> (Sandbox, Server) {
    let sb = Sandbox::new();
    let server = Server::start();
    let base = server.base();
    let mut args = vec!["provider", "add", "local", base.as_str()];
    if let Some(m) = model {
        args.extend(["--model", m]);
    }
    sb.run(&args).success();
    (sb, server)
}

// ---- rejected values are never echoed --------------------------------

#[test]
fn rejected_header_values_are_not_repeated() {
    let sb = Sandbox::new();
    let a = sb
        .run(&[
            "provider",
            "add",
            "x",
            "http://h",
            "--header",
            "X-Api-Key: sk-ctl-canary\u{1}",
        ])
        .code(64);
    let err = stderr(&a);
    assert!(!err.contains("canary"), "{err}");
    insta::assert_snapshot!("header_control_character", err);

    let long = format!("Authorization: Bearer sk-{}", "a".repeat(9000));
    let a = sb
        .run(&["provider", "add", "x", "http://h", "-H", &long])
        .code(64);
    let err = stderr(&a);
    assert!(!err.contains("sk-aaaa"), "{err}");
    assert!(err.contains("\"Authorization\" is longer than"), "{err}");
    assert!(err.len() < 400, "{err}");

    // A key pasted where a header name or a variable name belongs.
    let a = sb
        .run(&[
            "provider",
            "add",
            "x",
            "http://h",
            "-H",
            "Bearer sk-name-canary:x",
        ])
        .code(64);
    assert!(!stderr(&a).contains("canary"), "{}", stderr(&a));
    assert!(
        stderr(&a).contains("header name has a space"),
        "{}",
        stderr(&a)
    );
    let a = sb
        .run(&[
            "provider",
            "add",
            "x",
            "http://h",
            "--api-key-env",
            "sk-env-canary",
        ])
        .code(64);
    assert!(!stderr(&a).contains("canary"), "{}", stderr(&a));
    assert!(stderr(&a).contains("not a variable name"), "{}", stderr(&a));

    // The same for `provider update`.
    sb.run(&["provider", "add", "x", "http://h"]).success();
    let a = sb
        .run(&["provider", "update", "x", "-H", "X-Key: sk-upd-canary\u{1}"])
        .code(64);
    assert!(!stderr(&a).contains("canary"), "{}", stderr(&a));
}

// ---- provider remove keeps the key; provider update -------------------

#[test]
fn remove_keeps_the_key_so_add_again_works() {
    let (sb, server) = with_provider(Some("m1"));
    sb.aix()
        .args(["api-key", "local"])
        .write_stdin("sk-kept-canary\n")
        .assert()
        .success();
    let a = sb.run(&["provider", "remove", "local"]).success();
    let err = stderr(&a);
    assert!(
        err.contains("its API key stays in config.json") && !err.contains("canary"),
        "{err}"
    );
    sb.run(&["provider", "add", "local", &server.base(), "--model", "m1"])
        .success();
    sb.run(&["create", "hi", "hello"]).success();
    server.push(Reply::answer("fine"));
    sb.run(&["run", "hi", "--provider", "local", "-e"])
        .success()
        .stdout("fine\n");
    assert_eq!(
        server.last().header("authorization"),
        Some("Bearer sk-kept-canary")
    );
    sb.run(&["provider", "remove", "local", "--forget-key"])
        .success()
        .stderr(predicate::str::contains("and its API key"));
    assert_eq!(sb.config()["api_keys"], json!({}));
}

#[test]
fn update_edits_in_place_and_keeps_the_rest() {
    let sb = Sandbox::new();
    sb.write_config(
        r#"{"custom_providers":{"v":{"base_url":"http://old/v1","default_model":"a","headers":{"X-Title":"aix","X-Old":"1"},"vendor_field":7}},"api_keys":{"v":"sk-v"}}"#,
    );
    sb.run(&[
        "provider",
        "update",
        "custom:v",
        "--url",
        "http://new/v1/",
        "--model",
        "b",
        "--header",
        "x-title:aix2",
        "--header",
        "X-New:${env:NEWV}",
        "--remove-header",
        "x-old",
        "--auth-type",
        "api-key",
        "--timeout",
        "30",
    ])
    .success()
    .stderr(predicate::str::contains("Updated provider 'v'"));
    let c = sb.config();
    let v = &c["custom_providers"]["v"];
    assert_eq!(v["base_url"], "http://new/v1");
    assert_eq!(v["default_model"], "b");
    assert_eq!(
        v["headers"],
        json!({"x-title": "aix2", "X-New": "${env:NEWV}"})
    );
    assert_eq!(v["auth_type"], "api-key");
    assert_eq!(v["timeout_secs"], 30);
    assert_eq!(v["vendor_field"], 7);
    assert_eq!(c["api_keys"]["v"], "sk-v");

    sb.run(&["provider", "update", "v", "--no-model"]).success();
    assert!(
        sb.config()["custom_providers"]["v"]
            .get("default_model")
            .is_none()
    );
    let a = sb.run(&["provider", "update", "v"]).code(64);
    assert!(stderr(&a).contains("nothing to update"), "{}", stderr(&a));
    let a = sb
        .run(&["provider", "update", "v", "--remove-header", "X-Missing"])
        .code(64);
    assert!(stderr(&a).contains("no header"), "{}", stderr(&a));
    sb.run(&["provider", "update", "ghost", "--model", "x"])
        .code(1);
    sb.run(&["provider", "update", "openai", "--model", "x"])
        .code(1)
        .stderr(predicate::str::contains("built-in"));
}

#[test]
fn update_of_a_manifest_provider_needs_force_and_warns_of_drift() {
    let sb = Sandbox::new();
    let m = sb.root.join("providers.toml");
    std::fs::write(
        &m,
        "[providers.work]\nbase_url = \"http://work.local/v1\"\ndefault_model = \"a\"\n",
    )
    .unwrap();
    sb.run(&["apply", "-f", m.to_str().unwrap()]).success();
    let a = sb
        .run(&["provider", "update", "work", "--model", "b"])
        .code(1);
    assert!(
        stderr(&a).contains("managed by providers.toml"),
        "{}",
        stderr(&a)
    );
    assert_eq!(
        sb.config()["custom_providers"]["work"]["default_model"],
        "a"
    );
    sb.run(&["provider", "update", "work", "--model", "b", "--force"])
        .success()
        .stderr(predicate::str::contains(
            "next `aix plan` shows this edit as drift",
        ));
    assert_eq!(
        sb.config()["custom_providers"]["work"]["default_model"],
        "b"
    );
    sb.run(&["plan", "-f", m.to_str().unwrap(), "--detailed-exitcode"])
        .code(2);
}

// ---- provider check without GET /models --------------------------------

#[test]
fn check_falls_back_to_a_one_token_chat_request() {
    let (sb, server) = with_provider(Some("m1"));
    server.push(Reply::json(
        404,
        &json!({"error": {"message": "no such route"}}),
    ));
    server.push(Reply::answer("p"));
    let a = sb.run(&["provider", "check", "local"]).success();
    let out = stdout(&a);
    assert!(
        out.contains("ok") && out.contains("POST /chat/completions answered with m1"),
        "{out}"
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].path, "/v1/models");
    assert_eq!(reqs[1].path, "/v1/chat/completions");
    let body = reqs[1].json();
    assert_eq!(body["max_tokens"], 1);
    assert_eq!(body["model"], "m1");

    // --json says which test passed.
    server.push(Reply::body(405, "text/plain", b"method not allowed", &[]));
    server.push(Reply::answer("p"));
    let a = sb.run(&["provider", "check", "local", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v[0]["test"], "chat");
    assert_eq!(v[0]["model"], "m1");

    // With /models present, that is the test.
    server.push(Reply::json(200, &json!({"data": [{"id": "m1"}]})));
    let a = sb.run(&["provider", "check", "local", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v[0]["test"], "models");
    assert_eq!(v[0]["models"], 1);
}

#[test]
fn check_without_models_or_default_model_says_what_it_needs() {
    let (sb, server) = with_provider(None);
    server.push(Reply::json(404, &json!({"error": {"message": "nope"}})));
    let a = sb.run(&["provider", "check", "local"]).code(1);
    let out = stdout(&a);
    assert!(
        out.contains("FAIL") && out.contains("no default model") && out.contains("--model MODEL"),
        "{out}"
    );
    assert_eq!(server.requests().len(), 1);
}

// ---- provider names ------------------------------------------------------

#[test]
fn empty_provider_name_is_a_usage_error() {
    let sb = Sandbox::new();
    for spec in ["custom:", ""] {
        let a = sb.run(&["provider", "info", spec]).code(64);
        let err = stderr(&a);
        assert!(err.contains("empty provider name"), "{err}");
        assert!(!err.contains("provider add  BASE_URL"), "{err}");
    }
    sb.run(&["create", "hi", "hello"]).success();
    sb.run(&["run", "hi", "--provider", "custom:", "-e"])
        .code(64)
        .stderr(predicate::str::contains("empty provider name"));
    let a = sb.run(&["provider", "info", "custom:"]).code(64);
    insta::assert_snapshot!("empty_provider_name", stderr(&a));
}

#[test]
fn near_miss_provider_names_get_did_you_mean() {
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "ollama", "http://localhost:11434/v1"])
        .success();
    for typo in ["OLLAMA", "Custom:ollama", "ollama2", "custom:Ollama"] {
        let a = sb.run(&["provider", "info", typo]).code(1);
        let err = stderr(&a);
        assert!(err.contains("did you mean 'ollama'"), "{typo}: {err}");
        assert!(!err.contains("aix provider add"), "{typo}: {err}");
    }
    let a = sb.run(&["provider", "info", "OLLAMA"]).code(1);
    insta::assert_snapshot!("provider_did_you_mean", stderr(&a));
    let a = sb.run(&["provider", "info", "OpenAI"]).code(1);
    assert!(
        stderr(&a).contains("did you mean the built-in provider 'openai'"),
        "{}",
        stderr(&a)
    );
}

// ---- parameters: aix run and /prompt share one binding ----------------

#[test]
fn run_params_read_files_through_the_limits_and_suggest() {
    let sb = Sandbox::new();
    sb.run(&["create", "rev", "Review {code} for {topic}"])
        .success();
    let f = sb.root.join("code.txt");
    std::fs::write(&f, "fn main() {}").unwrap();
    let at = format!("code=@{}", f.display());
    sb.run(&["run", "rev", "-p", &at, "-p", "topic=@@x"])
        .success()
        .stdout(predicate::str::contains("Review fn main() {} for @x"));
    let a = sb
        .run(&["run", "rev", "-p", "cdoe=1", "-p", "topic=x"])
        .code(64);
    assert!(
        stderr(&a).contains("did you mean --param code=...?"),
        "{}",
        stderr(&a)
    );
    // A directory is no text file.
    let dir = format!("code=@{}", sb.root.display());
    sb.run(&["run", "rev", "-p", &dir, "-p", "topic=x"])
        .failure()
        .code(64)
        .stderr(predicate::str::contains("--param code=@"));
}

fn repl(sb: &Sandbox, args: &[&str], input: &str) -> assert_cmd::assert::Assert {
    sb.aix()
        .env("AIX_RETRY_BASE_MS", "5")
        .arg("repl")
        .args(args)
        .write_stdin(input)
        .assert()
}

#[test]
fn repl_prompt_quotes_files_and_unknown_parameters() {
    let (sb, server) = with_provider(Some("m1"));
    sb.run(&["create", "rev", "Review {code} for {topic}"])
        .success();
    let f = sb.root.join("code.txt");
    std::fs::write(&f, "let x = 1;").unwrap();
    server.push(Reply::stream(&["one"]));
    server.push(Reply::stream(&["two"]));
    let input = format!(
        "/prompt rev code=\"v with spaces\" topic='a b'\n/prompt rev code=@{} topic=x\n/prompt rev cdoe=1 topic=x\n/prompt rev code=\"open topic=x\n",
        f.display()
    );
    let a = repl(&sb, &["--provider", "local"], &input).code(1);
    let err = stderr(&a);
    let msgs: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.json()["messages"].as_array().unwrap().last().unwrap()["content"].to_string())
        .collect();
    assert_eq!(
        msgs,
        [
            "\"Review v with spaces for a b\"",
            "\"Review let x = 1; for x\""
        ]
    );
    assert!(err.contains("unknown parameter cdoe"), "{err}");
    assert!(err.contains("did you mean code=...?"), "{err}");
    assert!(err.contains("unbalanced quotes"), "{err}");
    assert!(err.contains("2 turns or commands failed"), "{err}");
}

#[test]
fn repl_starts_without_a_default_model_and_asks_for_one() {
    let (sb, server) = with_provider(None);
    server.push(Reply::stream(&["hi there"]));
    let a = repl(&sb, &["--provider", "local"], "/model m9\nhello\n").success();
    assert!(
        stderr(&a).contains("choose one with /model NAME"),
        "{}",
        stderr(&a)
    );
    assert_eq!(stdout(&a), "hi there\n");
    assert_eq!(server.last().json()["model"], "m9");
    // An unknown provider still stops it.
    repl(&sb, &["--provider", "nope"], "").code(1);
}

#[test]
fn repl_stream_switch_confirms() {
    let (sb, _server) = with_provider(Some("m1"));
    let a = repl(
        &sb,
        &["--provider", "local"],
        "/stream off\n/stream\n/stream on\n",
    )
    .success();
    let err = stderr(&a);
    assert!(err.contains("Streaming off"), "{err}");
    assert!(err.contains("Streaming is off"), "{err}");
    assert!(err.contains("Streaming on"), "{err}");
}

// ---- completions, colour, man page ------------------------------------

#[test]
fn dynamic_completion_offers_prompts_providers_and_models() {
    let sb = Sandbox::new();
    sb.run(&["create", "summarize-notes", "Sum {input}"])
        .success();
    sb.run(&[
        "provider",
        "add",
        "ollama",
        "http://localhost:11434/v1",
        "-m",
        "llama3.2",
    ])
    .success();
    let complete = |shell: &str, words: &[&str], index: usize| {
        let mut cmd = sb.aix();
        cmd.env("COMPLETE", shell)
            .env("_CLAP_COMPLETE_INDEX", index.to_string())
            .arg("--")
            .args(words);
        stdout(&cmd.write_stdin("").assert().success())
    };
    for shell in ["bash", "zsh", "fish"] {
        let out = complete(shell, &["aix", "run", ""], 2);
        assert!(out.contains("summarize-notes"), "{shell}: {out}");
        let out = complete(shell, &["aix", "run", "x", "--provider", ""], 4);
        assert!(
            out.contains("ollama") && out.contains("openai"),
            "{shell}: {out}"
        );
        let out = complete(shell, &["aix", "provider", "info", "oll"], 3);
        assert!(out.contains("ollama"), "{shell}: {out}");
        let out = complete(shell, &["aix", "run", "x", "--model", "llama"], 4);
        assert!(out.contains("llama3.2"), "{shell}: {out}");
    }
}

#[test]
fn man_page_is_roff() {
    let sb = Sandbox::new();
    let a = sb.run(&["man"]).success();
    let out = stdout(&a);
    assert!(
        out.contains(".TH aix 1") && out.contains("provider"),
        "{out}"
    );
    let dir = sb.root.join("man1");
    sb.run(&["man", "--dir", dir.to_str().unwrap()]).success();
    assert!(dir.join("aix.1").is_file());
    assert!(dir.join("aix-run.1").is_file());
}

mod tty {
    use super::*;
    use rexpect::session::{PtySession, spawn_command};

    fn spawn(sb: &Sandbox, args: &[&str], no_color: bool) -> PtySession {
        let mut cmd = sb.tty_command(args);
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        spawn_command(cmd, Some(15_000)).unwrap()
    }

    #[test]
    fn color_never_governs_help_and_usage_errors_on_a_terminal() {
        let sb = Sandbox::new();
        for args in [
            &["--color", "never", "--help"][..],
            &["provider", "--color=never", "add", "--help"],
            &["--color", "never", "bogus"],
            &["provider", "add", "--color", "never"],
        ] {
            let mut p = spawn(&sb, args, false);
            let text = p.exp_eof().unwrap();
            assert!(text.contains("Usage"), "{args:?}: {text}");
            assert!(!text.contains('\u{1b}'), "{args:?}: {text:?}");
        }
        // And --color always still colours.
        let mut p = spawn(&sb, &["--color", "always", "bogus"], false);
        assert!(p.exp_eof().unwrap().contains('\u{1b}'));
    }

    /// A plan on a terminal is coloured (its own styles act), while a
    /// control character in what it shows is made visible; with NO_COLOR
    /// it has no escape at all.
    #[test]
    fn a_plan_on_a_terminal_keeps_its_colours() {
        let sb = Sandbox::new();
        let m = sb.root.join("p.toml");
        std::fs::write(
            &m,
            "[providers.a]\nbase_url = \"http://a/v1\"\nextra_body = { x = \"\\u001b[31mred\" }\n",
        )
        .unwrap();
        let path = m.to_str().unwrap();
        let mut p = spawn(&sb, &["plan", "-f", path], false);
        let text = p.exp_eof().unwrap();
        assert!(text.contains("\u{1b}[1m\u{1b}[32m+ a"), "{text:?}");
        assert!(
            !text.contains("\u{241b}[1m"),
            "aix's own style made visible: {text:?}"
        );
        let mut p = spawn(&sb, &["plan", "-f", path], true);
        let text = p.exp_eof().unwrap();
        assert!(text.contains("+ a"), "{text:?}");
        assert!(!text.contains('\u{1b}'), "{text:?}");
    }

    #[test]
    fn ctrl_c_during_a_non_stream_wait_brings_the_prompt_back() {
        let (sb, server) = with_provider(Some("m1"));
        server.push(Reply {
            steps: vec![Step::Stall(Duration::from_secs(8))],
        });
        server.push(Reply::answer("after"));
        let mut p = spawn(&sb, &["repl", "--provider", "local"], true);
        p.exp_string("local/m1> ").unwrap();
        p.send_line("/stream off").unwrap();
        p.exp_string("Streaming off").unwrap();
        p.exp_string("local/m1> ").unwrap();
        p.send_line("slow").unwrap();
        // Let the spinner start.
        std::thread::sleep(Duration::from_millis(600));
        p.send_control('c').unwrap();
        p.exp_string("answer cancelled").unwrap();
        p.exp_string("local/m1> ").unwrap();
        // Nothing may erase the prompt once it is drawn.
        std::thread::sleep(Duration::from_millis(400));
        p.send_line("next").unwrap();
        let between = p.exp_string("after").unwrap();
        assert!(!between.contains("\u{1b}[2K"), "{between:?}");
        p.send_control('d').unwrap();
    }

    #[test]
    fn a_pasted_burst_of_two_lines_keeps_both() {
        let (sb, server) = with_provider(Some("m1"));
        server.push(Reply::answer("answer one"));
        server.push(Reply::answer("answer two"));
        let mut p = spawn(&sb, &["repl", "--provider", "local"], true);
        p.exp_string("local/m1> ").unwrap();
        p.send_line("/stream off").unwrap();
        p.exp_string("local/m1> ").unwrap();
        p.send("first line\rsecond line\r").unwrap();
        p.flush().unwrap();
        p.exp_string("answer one").unwrap();
        p.exp_string("answer two").unwrap();
        p.exp_string("local/m1> ").unwrap();
        p.send_control('d').unwrap();
        let msgs: Vec<String> = server
            .requests()
            .iter()
            .map(|r| {
                r.json()["messages"].as_array().unwrap().last().unwrap()["content"].to_string()
            })
            .collect();
        assert_eq!(msgs, ["\"first line\"", "\"second line\""]);
    }
}

// ---- documentation -------------------------------------------------------

fn doc(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn readme_and_docs_stand_on_their_own() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for path in ["README.md", "docs/README.md", "docs/commands.md"] {
        let text = doc(path);
        for banned in [
            "SPEC", "shared/", "issue 1", "issue 2", "issue 3", "issue #",
        ] {
            assert!(!text.contains(banned), "{path} mentions {banned:?}");
        }
        // Every relative link stays inside the repository.
        let dir = root.join(path).parent().unwrap().to_path_buf();
        for (i, _) in text.match_indices("](") {
            let target = &text[i + 2..];
            let target = &target[..target.find(')').unwrap()];
            if target.starts_with("http") || target.starts_with('#') {
                continue;
            }
            let resolved = dir.join(target.split('#').next().unwrap());
            let normal: std::path::PathBuf =
                resolved
                    .components()
                    .fold(std::path::PathBuf::new(), |mut acc, c| {
                        match c {
                            std::path::Component::ParentDir => {
                                acc.pop();
                            }
                            other => acc.push(other),
                        }
                        acc
                    });
            assert!(normal.starts_with(root), "{path} links outside: {target}");
        }
    }
    let readme = doc("README.md");
    assert!(readme.contains("docs/commands.md") && readme.contains("docs/README.md"));
    assert!(readme.contains("AIX=\"$HOME/.cargo/bin/aix\""), "PATH note");
    assert!(readme.contains("aix completions") && readme.contains("aix man"));
}

#[test]
fn the_command_reference_covers_every_command() {
    let reference = doc("docs/commands.md");
    let sb = Sandbox::new();
    let mut missing = Vec::new();
    let commands = |args: &[&str]| -> Vec<String> {
        let help = stdout(&sb.run(args).success());
        help.split("Commands:\n")
            .nth(1)
            .unwrap_or("")
            .lines()
            .take_while(|l| l.starts_with("  "))
            .filter_map(|l| l.split_whitespace().next().map(String::from))
            .filter(|c| c != "help")
            .collect()
    };
    let top = commands(&["--help"]);
    assert!(
        top.len() >= 15 && top.contains(&"man".to_string()),
        "{top:?}"
    );
    assert!(commands(&["provider", "--help"]).contains(&"update".to_string()));
    for c in top {
        if !reference.contains(&format!("aix {c}")) {
            missing.push(format!("aix {c}"));
        }
        for sub in commands(&[c.as_str(), "--help"]) {
            if !reference.contains(&format!("aix {c} {sub}")) {
                missing.push(format!("aix {c} {sub}"));
            }
        }
    }
    assert!(missing.is_empty(), "not in docs/commands.md: {missing:?}");
}
