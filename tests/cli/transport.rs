//! The HTTP transport and answer delivery under hostile or unusual servers:
//! secrets echoed back, terminal escapes, special output files, odd
//! `Retry-After` values, header defaults, protocol errors, deadlines,
//! closed pipes and huge answers.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;
use crate::server::{Reply, Server, Step, chunk_event};

const KEY: &str = "sk-wire-canary-42";
const ENV_SECRET: &str = "org-env-canary-7";

/// Provider `local` at a fresh server with key [`KEY`] and a header read
/// from `$AIX_T_ORG`, and a prompt `greet`.
fn setup(extra: &[&str]) -> (Sandbox, Server) {
    let sb = Sandbox::new();
    let server = Server::start();
    let base = server.base();
    let mut args = vec!["provider", "add", "local", base.as_str(), "--model", "m1"];
    args.extend_from_slice(extra);
    sb.run(&args).success();
    sb.aix()
        .args(["api-key", "local"])
        .write_stdin(format!("{KEY}\n"))
        .assert()
        .success();
    sb.run(&["create", "greet", "Hello"]).success();
    (sb, server)
}

fn aix(sb: &Sandbox) -> assert_cmd::Command {
    let mut cmd = sb.aix();
    cmd.env("AIX_RETRY_BASE_MS", "5")
        .env("AIX_T_ORG", ENV_SECRET)
        .write_stdin("");
    cmd
}

fn run(sb: &Sandbox, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut full = vec!["run", "greet", "--provider", "local", "-e"];
    full.extend_from_slice(args);
    aix(sb).args(full).assert()
}

fn all_output(a: &assert_cmd::assert::Assert) -> String {
    format!("{}{}", stdout(a), stderr(a))
}

fn assert_no_secret(a: &assert_cmd::assert::Assert) {
    let all = all_output(a);
    assert!(
        !all.contains("canary"),
        "a secret reached the output:\n{all}"
    );
}

#[test]
fn secrets_echoed_by_the_server_are_masked() {
    let (sb, server) = setup(&["-H", "X-Org: ${env:AIX_T_ORG}"]);

    // A 401 that repeats the key, as OpenAI's does.
    server.push(Reply::json(
        401,
        &json!({"error": {"message": format!("Incorrect API key provided: Bearer {KEY}"), "code": "invalid_api_key"}}),
    ));
    let a = run(&sb, &["--no-stream"]).code(1);
    assert_no_secret(&a);
    insta::assert_snapshot!("echoed_key_in_401", stderr(&a));

    // An HTML error page dumping the request headers; the key sits right at
    // the 300-character cut, so no part of it may survive the cut either.
    let page = format!(
        "<html><body><pre>{}Authorization: Bearer {KEY}\nX-Org: {ENV_SECRET}</pre></body></html>",
        "x ".repeat(134)
    );
    server.push(Reply::body(400, "text/html", page.as_bytes(), &[]));
    let a = run(&sb, &["--no-stream"]).code(1);
    assert_no_secret(&a);
    assert!(!stderr(&a).contains("sk-w"), "{}", stderr(&a));
    assert!(
        stderr(&a).contains("Authorization: (sens"),
        "{}",
        stderr(&a)
    );
    server.push(Reply::body(
        400,
        "text/html",
        format!("<pre>X-Org: {ENV_SECRET}</pre>").as_bytes(),
        &[],
    ));
    let a = run(&sb, &["--no-stream"]).code(1);
    assert_no_secret(&a);
    assert!(stderr(&a).contains("X-Org: (sensitive)"), "{}", stderr(&a));

    // An in-stream error frame, and an error event.
    server.push(Reply::sse_pieces(&[
        &chunk_event("partial "),
        &format!(
            "data: {}\n\n",
            json!({"error": {"message": format!("quota for {KEY} exceeded")}})
        ),
    ]));
    let a = run(&sb, &["--stream"]).code(1);
    assert_no_secret(&a);
    assert!(stderr(&a).contains("quota for (sensitive) exceeded"));

    // The answer itself, with the key split across two chunks.
    server.push(Reply::stream(&[
        "your key is sk-wire-",
        "canary-42 and org: org-env-",
        "canary-7.",
    ]));
    let a = run(&sb, &["--stream"]).success();
    assert_eq!(
        stdout(&a),
        "your key is (sensitive) and org: (sensitive).\n"
    );

    // Non-stream answers, and --json raw output of both kinds.
    server.push(Reply::answer(&format!("echo {KEY}")));
    let a = run(&sb, &["--no-stream"]).success();
    assert_eq!(stdout(&a), "echo (sensitive)\n");
    server.push(Reply::answer(&format!("echo {KEY}")));
    let a = run(&sb, &["--no-stream", "--json"]).success();
    assert_no_secret(&a);
    assert!(stdout(&a).contains("echo (sensitive)"));
    server.push(Reply::stream(&["echo sk-wire-", "canary-42!"]));
    let a = run(&sb, &["--stream", "--json"]).success();
    assert_no_secret(&a);
    assert!(!stdout(&a).contains("sk-wire-"), "{}", stdout(&a));
    assert!(stdout(&a).contains("(sensitive)!"), "{}", stdout(&a));

    // --show-secrets shows what came.
    server.push(Reply::answer(&format!("echo {KEY}")));
    let a = aix(&sb)
        .args([
            "--show-secrets",
            "run",
            "greet",
            "--provider",
            "local",
            "-e",
            "--no-stream",
        ])
        .assert()
        .success();
    assert_eq!(stdout(&a), format!("echo {KEY}\n"));

    // provider models and provider check.
    server.push(Reply::json(
        200,
        &json!({"data": [{"id": format!("model-for-{KEY}"), "owned_by": "x"}]}),
    ));
    let a = aix(&sb)
        .args(["provider", "models", "local"])
        .assert()
        .success();
    assert_no_secret(&a);
    assert!(stdout(&a).contains("model-for-(sensitive)"));
    server.push(Reply::json(
        403,
        &json!({"error": {"message": format!("key {KEY} is revoked")}}),
    ));
    let a = aix(&sb)
        .args(["provider", "check", "local"])
        .assert()
        .code(1);
    assert_no_secret(&a);
    assert!(all_output(&a).contains("key (sensitive) is revoked"));
}

#[test]
fn the_repl_masks_echoed_secrets() {
    let (sb, server) = setup(&[]);
    server.push(Reply::stream(&["you sent sk-wire-can", "ary-42"]));
    server.push(Reply::json(
        401,
        &json!({"error": {"message": format!("bad key {KEY}")}}),
    ));
    let a = aix(&sb)
        .args(["repl", "--provider", "local"])
        .write_stdin("hi\nagain\n")
        .assert();
    assert_no_secret(&a);
    assert!(stdout(&a).contains("you sent (sensitive)"));
    assert!(stderr(&a).contains("bad key (sensitive)"));
}

const EVIL: &str = "a\x1b]52;c;aGVsbG8=\x07b\x1b[2J\x1b[Hc\u{9b}31md\re";

#[test]
fn terminal_escapes_pass_unchanged_into_pipes_and_files() {
    let (sb, server) = setup(&[]);
    server.push(Reply::stream(&[&EVIL[..4], &EVIL[4..]]));
    let a = run(&sb, &["--stream"]).success();
    assert_eq!(stdout(&a), format!("{EVIL}\n"));
    let file = sb.root.join("answer.txt");
    server.push(Reply::answer(EVIL));
    run(&sb, &["--no-stream", "-o", file.to_str().unwrap()]).success();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), EVIL);
}

#[test]
fn terminal_escapes_are_shown_not_obeyed_on_a_terminal() {
    use rexpect::session::spawn_command;
    let (sb, server) = setup(&[]);
    // Split inside the OSC and inside the CSI.
    server.push(Reply::stream(&[&EVIL[..5], &EVIL[5..17], &EVIL[17..]]));
    server.push(Reply::answer(EVIL));
    for mode in ["--stream", "--no-stream"] {
        let mut cmd = sb.tty_command(&["run", "greet", "--provider", "local", "-e", mode]);
        cmd.env("NO_COLOR", "1");
        let mut p = spawn_command(cmd, Some(15_000)).unwrap();
        let seen = String::from_utf8(tty_bytes(&p.exp_eof().unwrap())).unwrap();
        assert!(
            seen.contains("a␛]52;c;aGVsbG8=␇b␛[2J␛[Hc\u{FFFD}31md␍e"),
            "{mode}: {seen:?}"
        );
        assert!(
            !seen.contains('\x1b') && !seen.contains('\u{9b}'),
            "{mode}: {seen:?}"
        );
    }
}

#[cfg(unix)]
#[test]
fn output_files_never_replace_special_files_or_links() {
    use std::os::unix::fs::{FileTypeExt, symlink};
    let (sb, server) = setup(&[]);

    // A symlink to a regular file stays a link; the target gets the answer.
    let target = sb.root.join("real.txt");
    std::fs::write(&target, "old").unwrap();
    set_mode(&target, 0o644);
    let link = sb.root.join("link.txt");
    symlink("real.txt", &link).unwrap();
    server.push(Reply::answer("through the link"));
    run(&sb, &["--no-stream", "-o", link.to_str().unwrap()]).success();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "through the link"
    );
    assert_eq!(mode(&target), 0o644, "a replaced file keeps its mode");

    // A dangling link: its target is created.
    let dangling = sb.root.join("dangling");
    symlink("created.txt", &dangling).unwrap();
    server.push(Reply::stream(&["new ", "file"]));
    run(&sb, &["--stream", "-o", dangling.to_str().unwrap()]).success();
    assert!(
        std::fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(sb.root.join("created.txt")).unwrap(),
        "new file"
    );

    // A FIFO (through a link) is written in place, not replaced.
    let fifo = sb.root.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let to_fifo = sb.root.join("to-pipe");
    symlink(&fifo, &to_fifo).unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    server.push(Reply::answer("into the pipe"));
    run(&sb, &["--no-stream", "-o", to_fifo.to_str().unwrap()]).success();
    assert_eq!(reader.join().unwrap(), "into the pipe");
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert!(
        std::fs::symlink_metadata(&to_fifo)
            .unwrap()
            .file_type()
            .is_symlink()
    );

    // /dev/stdout and /dev/null are written through, never replaced.
    server.push(Reply::answer("to stdout"));
    let a = run(&sb, &["--no-stream", "-o", "/dev/stdout"]).success();
    assert_eq!(stdout(&a), "to stdout");
    assert!(
        std::fs::symlink_metadata("/dev/stdout")
            .unwrap()
            .file_type()
            .is_symlink()
    );
    server.push(Reply::stream(&["gone"]));
    run(&sb, &["--stream", "-o", "/dev/null"]).success();
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );

    // A dry run's -o and the REPL's /save follow the same rule.
    let rendered = sb.root.join("rendered-link");
    symlink("rendered.txt", &rendered).unwrap();
    aix(&sb)
        .args(["run", "greet", "--provider", "local", "-o"])
        .arg(&rendered)
        .assert()
        .success();
    assert!(
        std::fs::symlink_metadata(&rendered)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(sb.root.join("rendered.txt")).unwrap(),
        "Hello"
    );
    let saved = sb.root.join("chat-link.md");
    symlink("chat.md", &saved).unwrap();
    server.push(Reply::stream(&["hi back"]));
    aix(&sb)
        .args(["repl", "--provider", "local"])
        .write_stdin(format!("hi\n/save {}\n", saved.display()))
        .assert()
        .success();
    assert!(
        std::fs::symlink_metadata(&saved)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(sb.root.join("chat.md"))
            .unwrap()
            .contains("hi back")
    );
}

#[test]
fn any_retry_after_gives_a_capped_wait_or_the_error() {
    let (sb, server) = setup(&[]);
    for value in [
        "99999999999999999999",
        "1e20",
        "inf",
        "NaN",
        "-5",
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "soon",
        "0.01",
    ] {
        let before = server.requests().len();
        for _ in 0..3 {
            server.push(Reply::body(
                429,
                "application/json",
                br#"{"error":{"message":"slow down"}}"#,
                &[("retry-after", value)],
            ));
        }
        let a = run(&sb, &["--no-stream"]).code(1);
        assert!(
            stderr(&a).contains("429 Too Many Requests: slow down"),
            "{value}: {}",
            stderr(&a)
        );
        let tries = server.requests().len() - before;
        let huge = ["99999999999999999999", "1e20"].contains(&value);
        assert_eq!(tries, if huge { 1 } else { 3 }, "{value}");
        // Leave no queued replies for the next value.
        for _ in tries..3 {
            let _ = run(&sb, &["--no-stream"]);
        }
    }
}

#[test]
fn user_headers_replace_defaults_once_on_the_wire() {
    let (sb, server) = setup(&[
        "-H",
        "content-type: application/json; charset=utf-8",
        "-H",
        "User-Agent: my-agent/1",
        "-H",
        "ACCEPT: application/json",
    ]);
    server.push(Reply::answer("ok"));
    run(&sb, &["--no-stream"]).success();
    let req = server.last();
    for (name, want) in [
        ("content-type", "application/json; charset=utf-8"),
        ("user-agent", "my-agent/1"),
        ("accept", "application/json"),
        ("authorization", &format!("Bearer {KEY}")),
    ] {
        let values: Vec<&str> = req
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(values, vec![want], "{name} in {:?}", req.headers);
    }
    // The defaults still go out when the user sets none.
    let (sb, server) = setup(&[]);
    server.push(Reply::answer("ok"));
    run(&sb, &["--no-stream"]).success();
    let req = server.last();
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert!(req.header("user-agent").unwrap().starts_with("aix/"));
}

/// A server on 127.0.0.1 that answers every connection with `reply` and
/// counts connections.
fn raw_server(reply: Vec<u8>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(&reply);
            let _ = conn.flush();
        }
    });
    (addr, count)
}

#[test]
fn protocol_errors_are_named_and_never_resent() {
    let (sb, server) = setup(&[]);

    // Not HTTP at all.
    server.push(Reply {
        steps: vec![Step::Write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec())],
    });
    let a = run(&sb, &["--no-stream"]).code(1);
    let err = stderr(&a);
    assert!(err.contains("the reply is not valid HTTP"), "{err}");
    assert!(!err.contains("Connection failed"), "{err}");
    assert_eq!(
        server.requests().len(),
        1,
        "a protocol error is not retried"
    );

    // Response headers too large.
    let big = "v".repeat(200 * 1024);
    server.push(Reply {
        steps: vec![Step::Write(
            format!("HTTP/1.1 200 OK\r\nx-big: {big}\r\ncontent-length: 0\r\n\r\n").into_bytes(),
        )],
    });
    let a = run(&sb, &["--stream"]).code(1);
    let err = stderr(&a);
    assert!(err.contains("response headers are larger than"), "{err}");
    assert_eq!(server.requests().len(), 2);

    // A value read from the environment with a line break: named, never
    // shown, nothing sent.
    let (sb2, server2) = setup(&["-H", "X-Org: ${env:AIX_T_ORG}"]);
    let a = aix(&sb2)
        .env("AIX_T_ORG", "org-canary\r\nX-Evil: 1")
        .args(["run", "greet", "--provider", "local", "-e"])
        .assert()
        .code(1);
    assert_no_secret(&a);
    insta::assert_snapshot!("header_value_with_line_break", stderr(&a));
    assert!(server2.requests().is_empty());

    // The same for a key read from the environment with a newline.
    let sb4 = Sandbox::new();
    sb4.run(&[
        "provider",
        "add",
        "envkey",
        &server2.base(),
        "--model",
        "m",
        "--api-key-env",
        "AIX_T_KEY",
    ])
    .success();
    sb4.run(&["create", "greet", "Hello"]).success();
    let a = sb4
        .aix()
        .env(
            "AIX_T_KEY",
            "sk-env-canary
",
        )
        .args(["run", "greet", "--provider", "envkey", "-e"])
        .write_stdin("")
        .assert()
        .code(1);
    assert_no_secret(&a);
    assert!(
        stderr(&a).contains("the API key of provider 'envkey' contains a line break"),
        "{}",
        stderr(&a)
    );
    assert!(server2.requests().is_empty());

    // TLS to a server that speaks plain HTTP.
    let (addr, conns) = raw_server(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_vec());
    let sb3 = Sandbox::new();
    sb3.run(&[
        "provider",
        "add",
        "tls",
        &format!("https://{addr}/v1"),
        "--model",
        "m",
    ])
    .success();
    sb3.run(&["create", "greet", "Hello"]).success();
    let a = sb3
        .aix()
        .env("AIX_RETRY_BASE_MS", "5")
        .args(["run", "greet", "--provider", "tls", "-e"])
        .write_stdin("")
        .assert()
        .code(1);
    let err = stderr(&a);
    assert!(
        err.contains(&format!("TLS with https://{addr}/v1 failed")),
        "{err}"
    );
    assert!(!err.contains("Connection failed"), "{err}");
    assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 1);

    // A refused connection is still retried: nothing was sent.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    sb3.run(&[
        "provider",
        "add",
        "closed",
        &format!("http://127.0.0.1:{port}/v1"),
        "--model",
        "m",
    ])
    .success();
    let a = sb3
        .aix()
        .env("AIX_RETRY_BASE_MS", "5")
        .args(["run", "greet", "--provider", "closed", "-e"])
        .write_stdin("")
        .assert()
        .code(1);
    let err = stderr(&a);
    assert!(
        err.contains("Connection failed") && err.contains("try 3 of 3"),
        "{err}"
    );
}

/// A reply that sends its headers, then one byte a second for 30 s.
fn drip(stream: bool) -> Reply {
    let mut steps = vec![Step::Write(
        if stream {
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                .to_string()
        } else {
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n"
                .to_string()
        }
        .into_bytes(),
    )];
    for _ in 0..30 {
        steps.push(if stream {
            Step::Chunk(b":".to_vec())
        } else {
            Step::Write(b" ".to_vec())
        });
        steps.push(Step::Sleep(Duration::from_secs(1)));
    }
    Reply { steps }
}

#[test]
fn max_time_ends_a_drip() {
    let (sb, server) = setup(&[]);
    for mode in ["--stream", "--no-stream"] {
        server.push(drip(mode == "--stream"));
        let start = Instant::now();
        let a = run(&sb, &[mode, "--timeout", "5", "--max-time", "2"]).code(1);
        let took = start.elapsed();
        assert!(took < Duration::from_secs(5), "{mode}: took {took:?}");
        assert!(
            stderr(&a).contains(&format!(
                "Request to {} did not finish within 2 s",
                server.base()
            )),
            "{mode}: {}",
            stderr(&a)
        );
    }
    // The provider setting does the same, and shows in the dry run.
    sb.run(&["config", "set", "custom_providers.local.max_time_secs", "2"])
        .success();
    let dry = aix(&sb)
        .args(["run", "greet", "--provider", "local", "--json"])
        .assert()
        .success();
    let j: serde_json::Value = serde_json::from_slice(&dry.get_output().stdout).unwrap();
    assert_eq!(j["max_time_secs"], 2);
    server.push(drip(false));
    let start = Instant::now();
    let a = run(&sb, &["--no-stream"]).code(1);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(
        stderr(&a).contains("did not finish within 2 s"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn a_closed_pipe_ends_a_stream_quietly() {
    let (sb, server) = setup(&[]);
    let mut pieces = vec!["first line\n".to_string()];
    pieces.extend((0..400).map(|i| format!("more text {i} {}\n", "x".repeat(500))));
    let events: Vec<String> = pieces.iter().map(|p| chunk_event(p)).collect();
    let refs: Vec<&str> = events.iter().map(String::as_str).collect();
    for mode in ["--stream", "--no-stream"] {
        if mode == "--stream" {
            server.push(Reply::sse_pieces(&refs));
        } else {
            server.push(Reply::answer(&pieces.concat()));
        }
        let mut child = std::process::Command::new(BIN)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &sb.root)
            .env("AIX_HOME", &sb.home)
            .env("NO_COLOR", "1")
            .args(["run", "greet", "--provider", "local", "-e", mode])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Like `| head -1`: read one line, then close the pipe.
        let mut out = child.stdout.take().unwrap();
        let mut first = Vec::new();
        let mut byte = [0u8; 1];
        while out.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            first.push(byte[0]);
        }
        drop(out);
        let done = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&first), "first line");
        assert_eq!(
            done.status.code(),
            Some(0),
            "{mode}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
        assert!(
            done.stderr.is_empty(),
            "{mode}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
}

#[test]
fn verbose_computes_a_missing_total() {
    let (sb, server) = setup(&[]);
    server.push(Reply::json(
        200,
        &json!({"choices": [{"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 4, "completion_tokens": 2}}),
    ));
    let a = run(&sb, &["--no-stream", "-v"]).success();
    assert!(
        stderr(&a).contains("tokens: 4 prompt + 2 completion = 6 total"),
        "{}",
        stderr(&a)
    );
    server.push(Reply::sse_pieces(&[
        &chunk_event("hi"),
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":5}}\n\n",
        "data: [DONE]\n\n",
    ]));
    let a = run(&sb, &["--stream", "-v"]).success();
    assert!(
        stderr(&a).contains("tokens: 3 prompt + 5 completion = 8 total"),
        "{}",
        stderr(&a)
    );
}

/// Peak RSS in KiB of `aix run` streaming `mib` MiB: the kernel's
/// high-water mark (`VmHWM`), read from /proc while aix runs.
fn peak_rss_kib(sb: &Sandbox, server: &Server, mib: usize) -> u64 {
    let piece = chunk_event(&"y".repeat(64 * 1024 - 1));
    let mut steps = vec![Step::Write(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec(),
    )];
    for _ in 0..mib * 16 {
        steps.push(Step::Chunk(piece.clone().into_bytes()));
    }
    steps.push(Step::Chunk(b"data: [DONE]\n\n".to_vec()));
    steps.push(Step::EndChunks);
    server.push(Reply { steps });
    let mut child = std::process::Command::new(BIN)
        .args(["run", "greet", "--provider", "local", "-e", "--stream"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &sb.root)
        .env("AIX_HOME", &sb.home)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        // Read before checking for exit: the last read is the closest to it.
        if let Some(kib) = std::fs::read_to_string(&status).ok().and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        }) {
            peak = peak.max(kib);
        }
        if let Some(done) = child.try_wait().unwrap() {
            assert!(done.success());
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(peak > 0, "no reading of {status}");
    peak
}

#[test]
fn run_keeps_no_answer_in_memory() {
    let (sb, server) = setup(&[]);
    let small = peak_rss_kib(&sb, &server, 1);
    let large = peak_rss_kib(&sb, &server, 48);
    eprintln!("peak RSS: {small} KiB for a 1 MiB answer, {large} KiB for 48 MiB");
    assert!(
        large < small + 8 * 1024,
        "peak RSS grew with the answer: {small} KiB for 1 MiB, {large} KiB for 48 MiB"
    );
}

#[test]
fn the_repl_keeps_at_most_a_mebibyte_of_an_answer() {
    let (sb, server) = setup(&[]);
    let big = "z".repeat(1536 * 1024);
    let pieces: Vec<String> = big
        .as_bytes()
        .chunks(256 * 1024)
        .map(|c| chunk_event(std::str::from_utf8(c).unwrap()))
        .collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let mut stream = Reply::sse_pieces(&refs);
    let end = stream.steps.len() - 1;
    stream
        .steps
        .insert(end, Step::Chunk(b"data: [DONE]\n\n".to_vec()));
    server.push(stream);
    server.push(Reply::stream(&["short"]));
    let a = aix(&sb)
        .args(["repl", "--provider", "local"])
        .write_stdin("long one\nnext\n")
        .assert()
        .success();
    assert_eq!(
        stdout(&a).len(),
        big.len() + "\nshort\n".len(),
        "shown whole"
    );
    assert!(
        stderr(&a)
            .contains("the answer is longer than 1 MiB; the conversation keeps only its start"),
        "{}",
        stderr(&a)
    );
    let sent = server.last().json();
    let kept = sent["messages"][1]["content"].as_str().unwrap();
    assert_eq!(kept.len(), 1024 * 1024);
}

#[test]
fn the_repl_shows_echoed_secrets_only_when_asked() {
    let (sb, server) = setup(&[]);
    server.push(Reply::stream(&["you sent sk-wire-can", "ary-42"]));
    let a = aix(&sb)
        .args(["--show-secrets", "repl", "--provider", "local"])
        .write_stdin("hi\n")
        .assert();
    assert!(
        stdout(&a).contains(&format!("you sent {KEY}")),
        "{}",
        stdout(&a)
    );
}
