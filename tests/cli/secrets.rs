//! Secrets from where users keep them: `${file:}`, `${cmd:}` (and
//! `${env:}`, `${keyring:}`) as header values and as the provider's key,
//! resolved on the wire, never shown, refreshed once after a 401.

use std::os::unix::fs::PermissionsExt;

use predicates::prelude::*;
use serde_json::json;

use crate::common::*;
use crate::server::{Reply, Server};

const CANARY: &str = "sk-canary-7f3a9";

fn key_file(sb: &Sandbox, mode: u32) -> std::path::PathBuf {
    let f = sb.root.join("work.key");
    std::fs::write(&f, format!("{CANARY}\n")).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
    f
}

fn setup(server: &Server, extra: &[&str]) -> Sandbox {
    provider_p(&server.base(), extra)
}

fn send(sb: &Sandbox, args: &[&str]) -> assert_cmd::assert::Assert {
    send_p(sb, args)
}

fn no_canary(a: &assert_cmd::assert::Assert) {
    for text in [stdout(a), stderr(a)] {
        assert!(!text.contains(CANARY), "{text}");
    }
}

#[test]
fn a_file_reference_is_read_trimmed_and_never_shown() {
    let server = Server::start();
    let sb = Sandbox::new();
    let f = key_file(&sb, 0o600);
    let key_ref = format!("${{file:{}}}", f.display());
    let sb2 = setup(&server, &["--api-key", &key_ref]);
    server.push(Reply::answer(&format!("echo {CANARY}")));
    let out = send(&sb2, &["-v"]).success();
    no_canary(&out);
    assert!(
        stdout(&out).contains("echo (sensitive)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        server.last().header("authorization"),
        Some(format!("Bearer {CANARY}").as_str())
    );
    // Shown as written everywhere people read.
    for args in [
        vec!["run", "greet", "--provider", "p"],
        vec!["provider", "info", "p"],
        vec!["provider", "export"],
        vec!["provider", "list", "--json"],
    ] {
        let a = sb2.run(&args).success();
        no_canary(&a);
    }
    let info = stdout(&sb2.run(&["provider", "info", "p"]).success());
    assert!(
        info.contains(&format!("api_key:              {key_ref} (api_key")),
        "{info}"
    );
    let export = stdout(&sb2.run(&["provider", "export"]).success());
    assert!(
        export.contains(&format!("api_key = \"{key_ref}\"")),
        "{export}"
    );
}

#[test]
fn a_file_others_may_read_is_warned_about_and_a_missing_one_is_an_error() {
    let server = Server::start();
    let sb = Sandbox::new();
    let f = key_file(&sb, 0o644);
    let sb2 = setup(
        &server,
        &["-H", &format!("X-Api-Key:${{file:{}}}", f.display())],
    );
    server.push(Reply::answer("ok"));
    let out = send(&sb2, &[]).success();
    assert!(
        stderr(&out).contains("may be read by others (mode 644)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.last().header("x-api-key"), Some(CANARY));
    std::fs::remove_file(&f).unwrap();
    let before = server.requests().len();
    let err = send(&sb2, &[]).code(1);
    let text = stderr(&err);
    assert!(text.contains("header X-Api-Key of provider 'p'"), "{text}");
    assert!(text.contains("no such file"), "{text}");
    assert_eq!(server.requests().len(), before, "nothing was sent");
}

#[test]
fn a_command_runs_once_and_its_failures_name_it_not_its_output() {
    let server = Server::start();
    let sb = Sandbox::new();
    let count = sb.root.join("runs");
    let cmd = format!("echo run >> {}; echo {CANARY}", count.display());
    let sb2 = setup(
        &server,
        &[
            "--api-key",
            &format!("${{cmd:{cmd}}}"),
            "-H",
            &format!("X-Also:${{cmd:{cmd}}}"),
        ],
    );
    server.push(Reply::answer("ok"));
    no_canary(&send(&sb2, &["-v"]).success());
    assert_eq!(
        std::fs::read_to_string(&count).unwrap(),
        "run\n",
        "once per process"
    );
    let req = server.last();
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {CANARY}").as_str())
    );
    assert_eq!(req.header("x-also"), Some(CANARY));
    // A dry run runs nothing.
    sb2.run(&["run", "greet", "--provider", "p"]).success();
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "run\n");

    // A failing command: its name and status, never what it printed.
    sb2.run(&[
        "provider",
        "update",
        "p",
        "--api-key",
        // It prints the canary without spelling it out.
        "${cmd:printf 'sk-canary-%s' 7f3a9; exit 4}",
    ])
    .success();
    let err = send(&sb2, &[]).code(1);
    no_canary(&err);
    assert!(
        stderr(&err).contains("failed (exit status 4); its output is not shown"),
        "{}",
        stderr(&err)
    );
    // A command that does not finish in time.
    sb2.run(&[
        "provider",
        "update",
        "p",
        "--api-key",
        "${cmd:sleep 5; echo late}",
    ])
    .success();
    let started = std::time::Instant::now();
    let err = sb2
        .aix()
        .env("AIX_CMD_TIMEOUT_SECS", "0.5")
        .args(["run", "greet", "--provider", "p", "-e"])
        .write_stdin("")
        .assert()
        .code(1);
    assert!(
        stderr(&err).contains("did not finish within 0.5 s"),
        "{}",
        stderr(&err)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
}

#[test]
fn a_token_from_a_command_is_fetched_again_once_after_a_401() {
    let server = Server::start();
    let sb = Sandbox::new();
    let n = sb.root.join("n");
    // tok-1 the first time, tok-2 the second.
    let cmd = format!(
        "echo x >> {0}; echo tok-$(wc -l < {0} | tr -d ' ')",
        n.display()
    );
    let sb2 = setup(&server, &["--api-key", &format!("${{cmd:{cmd}}}")]);
    server.push(Reply::json(
        401,
        &json!({"error": {"message": "token expired"}}),
    ));
    server.push(Reply::answer("fresh"));
    let out = send(&sb2, &[]).success();
    assert_eq!(stdout(&out), "fresh\n");
    assert!(
        stderr(&out).contains("answered 401; running the credential's command again"),
        "{}",
        stderr(&out)
    );
    let reqs = server.requests();
    assert_eq!(reqs[0].header("authorization"), Some("Bearer tok-1"));
    assert_eq!(reqs[1].header("authorization"), Some("Bearer tok-2"));
    // Only once: a second 401 is the error.
    server.push(Reply::json(401, &json!({"error": {"message": "no"}})));
    server.push(Reply::json(401, &json!({"error": {"message": "still no"}})));
    send(&sb2, &[])
        .code(1)
        .stderr(predicate::str::contains("401"));
    assert_eq!(server.requests().len(), 4);
    // A plain key gets no second try.
    let sb3 = setup(&server, &[]);
    sb3.aix()
        .args(["api-key", "p"])
        .write_stdin("sk-plain\n")
        .assert()
        .success();
    server.push(Reply::json(401, &json!({"error": {"message": "bad"}})));
    send(&sb3, &[]).code(1);
    assert_eq!(server.requests().len(), 5);
}

#[test]
fn a_literal_key_is_refused_where_a_reference_belongs() {
    let sb = Sandbox::new();
    let a = sb
        .run(&["provider", "add", "p", "http://h/v1", "--api-key", CANARY])
        .code(64);
    no_canary(&a);
    assert!(
        stderr(&a).contains("never the key itself"),
        "{}",
        stderr(&a)
    );
    let m = sb.root.join("m.toml");
    std::fs::write(
        &m,
        format!("[providers.p]\nbase_url = \"http://h/v1\"\napi_key = \"{CANARY}\"\n"),
    )
    .unwrap();
    let v = sb.run(&["validate", m.to_str().unwrap()]).code(1);
    no_canary(&v);
    assert!(
        stdout(&v).contains("providers.p: api_key: must be a reference"),
        "{}",
        stdout(&v)
    );
}

#[test]
fn a_manifests_relative_file_is_made_absolute() {
    let sb = Sandbox::new();
    let dir = sb.root.join("dots");
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    std::fs::write(dir.join("keys/w"), "k\n").unwrap();
    let m = dir.join("providers.toml");
    std::fs::write(
        &m,
        "[providers.p]\nbase_url = \"http://h/v1\"\napi_key = \"${file:keys/w}\"\n",
    )
    .unwrap();
    sb.run(&["apply", "-f", m.to_str().unwrap()]).success();
    let stored = sb.config()["custom_providers"]["p"]["api_key"].clone();
    let want = format!(
        "${{file:{}}}",
        std::path::absolute(dir.join("keys/w")).unwrap().display()
    );
    assert_eq!(stored, want);
    sb.run(&["plan", "-f", m.to_str().unwrap(), "--detailed-exitcode"])
        .code(0);
}

#[test]
fn validate_resolve_and_check_report_references_that_give_nothing() {
    let server = Server::start();
    let sb = setup(
        &server,
        &[
            "--api-key",
            "${cmd:exit 7}",
            "-H",
            "X-K:${env:AIX_T_NOT_SET_ANYWHERE}",
        ],
    );
    let v = sb
        .run(&["validate", sb.config_path().to_str().unwrap(), "--resolve"])
        .code(1);
    let text = stdout(&v);
    assert!(
        text.contains("custom_providers.p.api_key: ${cmd:exit 7} gives no value"),
        "{text}"
    );
    assert!(text.contains("custom_providers.p.headers.X-K"), "{text}");
    sb.run(&["validate", sb.config_path().to_str().unwrap()])
        .success();
    let c = sb.run(&["provider", "check", "p"]).code(1);
    assert!(
        stdout(&c).contains("exit status 7") || stderr(&c).contains("exit status 7"),
        "{}{}",
        stdout(&c),
        stderr(&c)
    );
}

#[test]
#[cfg(not(feature = "keyring"))]
fn a_keyring_reference_without_the_feature_says_how_to_get_it() {
    let server = Server::start();
    let sb = setup(&server, &["--api-key", "${keyring:aix/p}"]);
    send(&sb, &[])
        .code(1)
        .stderr(predicate::str::contains("built without the secret store"));
    sb.aix()
        .args(["api-key", "p", "--keyring"])
        .write_stdin("sk-x\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--features keyring"));
}

/// The canary, kept in each source in turn, through every command that
/// shows a provider or talks to its server: it is never printed.
#[test]
fn the_canary_never_shows_from_any_source() {
    let sb0 = Sandbox::new();
    let file = key_file(&sb0, 0o600);
    let sources = [
        ("env", "${env:AIX_T_CANARY}".to_string()),
        ("file", format!("${{file:{}}}", file.display())),
        ("cmd", "${cmd:printf 'sk-canary-%s' 7f3a9}".to_string()),
    ];
    for (what, reference) in sources {
        let server = Server::start();
        let sb = setup(
            &server,
            &["--api-key", &reference, "-H", &format!("X-Tok:{reference}")],
        );
        let m = sb.root.join("providers.toml");
        std::fs::write(
            &m,
            format!(
                "[providers.q]\nbase_url = \"{}\"\napi_key = \"{reference}\"\nheaders = {{ \"X-Tok\" = \"{reference}\" }}\n",
                server.base()
            ),
        )
        .unwrap();
        let mpath = m.to_str().unwrap().to_string();
        server.push(Reply::answer(&format!("here: {CANARY}")));
        server.push(Reply::stream(&["s: ", CANARY]));
        server.push(Reply::answer(&format!("json {CANARY}")));
        server.push(Reply::json(200, &json!({"data": [{"id": CANARY}]})));
        server.push(Reply::json(200, &json!({"data": [{"id": "m"}]})));
        server.push(Reply::json(
            401,
            &json!({"error": {"message": format!("bad key {CANARY}")}}),
        ));
        let runs: Vec<Vec<&str>> = vec![
            vec!["run", "greet", "--provider", "p", "-e", "-v"],
            vec!["run", "greet", "--provider", "p", "-e", "--stream", "-v"],
            vec!["run", "greet", "--provider", "p", "-e", "--json"],
            vec!["provider", "models", "p"],
            vec!["provider", "check", "p"],
            vec!["run", "greet", "--provider", "p", "-e"],
            vec!["run", "greet", "--provider", "p"],
            vec!["run", "greet", "--provider", "p", "--json"],
            vec!["provider", "info", "p"],
            vec!["provider", "info", "p", "--json"],
            vec!["provider", "list", "--json"],
            vec!["provider", "export"],
            vec!["config", "list"],
            vec!["plan", "-f", &mpath],
            vec!["plan", "-f", &mpath, "--json"],
            vec!["validate", &mpath, "--resolve"],
        ];
        for args in runs {
            let a = sb
                .aix()
                .env("AIX_T_CANARY", CANARY)
                .env("AIX_RETRY_BASE_MS", "2")
                .args(&args)
                .write_stdin("")
                .assert();
            for text in [stdout(&a), stderr(&a)] {
                assert!(!text.contains(CANARY), "{what}: {args:?}: {text}");
            }
        }
        // The REPL, piped.
        server.push(Reply::stream(&["repl ", CANARY]));
        let a = sb
            .aix()
            .env("AIX_T_CANARY", CANARY)
            .args(["repl", "--provider", "p"])
            .write_stdin("hello\n")
            .assert()
            .success();
        no_canary(&a);
        assert!(
            stdout(&a).contains("repl (sensitive)"),
            "{what}: {}",
            stdout(&a)
        );
        // The requests carried it.
        let first = &server.requests()[0];
        assert_eq!(first.header("x-tok"), Some(CANARY), "{what}");
    }
}

/// With the `keyring` feature (`.ci/run` runs this with it): the key goes
/// to the kernel's user keyring, config.json records only the reference,
/// and a run sends the key.
#[test]
#[cfg(feature = "keyring")]
fn a_key_in_the_keyring_reaches_the_wire() {
    let server = Server::start();
    // A name of its own: the user keyring outlives the test.
    let name = format!(
        "kr{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_000
    );
    let sb = Sandbox::new();
    sb.run(&["provider", "add", &name, &server.base(), "--model", "m"])
        .success();
    sb.run(&["create", "greet", "Hello"]).success();
    sb.aix()
        .args(["api-key", &name, "--keyring"])
        .write_stdin(format!("{CANARY}\n"))
        .assert()
        .success();
    let config = String::from_utf8(sb.config_bytes().unwrap()).unwrap();
    assert!(!config.contains(CANARY), "{config}");
    assert!(
        config.contains(&format!("${{keyring:aix/{name}}}")),
        "{config}"
    );
    server.push(Reply::answer("ok"));
    let out = sb
        .aix()
        .args(["run", "greet", "--provider", &name, "-e", "-v"])
        .write_stdin("")
        .assert()
        .success();
    no_canary(&out);
    assert_eq!(
        server.last().header("authorization"),
        Some(format!("Bearer {CANARY}").as_str())
    );
}

/// `-f providers.toml` from the manifest's own folder (no `/` in the path):
/// the relative file is made absolute too.
#[test]
fn a_bare_manifest_name_still_makes_file_references_absolute() {
    let sb = Sandbox::new();
    let dir = sb.root.join("dots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("k"), "v\n").unwrap();
    std::fs::write(
        dir.join("providers.toml"),
        "[providers.p]\nbase_url = \"http://h/v1\"\napi_key = \"${file:k}\"\n",
    )
    .unwrap();
    sb.aix()
        .current_dir(&dir)
        .args(["apply", "-f", "providers.toml"])
        .assert()
        .success();
    let want = format!(
        "${{file:{}}}",
        std::path::absolute(dir.join("k")).unwrap().display()
    );
    assert_eq!(sb.config()["custom_providers"]["p"]["api_key"], want);
    sb.aix()
        .current_dir(&dir)
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(0);
}
