//! Aliases and fallback chains: planned and applied like providers, run
//! with `-m ALIAS`, and the next target tried only on a failure before
//! any output.

use insta::assert_snapshot;
use predicates::prelude::*;
use serde_json::json;

use crate::common::*;
use crate::server::{Reply, Server, Step, chunk_event};

/// Providers `a` and `b` at two servers, the aliases, and prompt `greet`.
fn setup(a: &str, b: &str) -> (Sandbox, std::path::PathBuf) {
    let sb = Sandbox::new();
    let m = sb.root.join("providers.toml");
    std::fs::write(
        &m,
        format!(
            r#"[providers.a]
base_url = "{a}"

[providers.a.models.big]
id = "a-big-1"

[providers.b]
base_url = "{b}"

[aliases]
fast = "a/m1"
smart = ["a/big", "b/org/small"]
chain = ["smart", "b/last"]
"#
        ),
    )
    .unwrap();
    sb.run(&["apply", "-f", m.to_str().unwrap()]).success();
    sb.run(&["create", "greet", "Hello"]).success();
    (sb, m)
}

fn run(sb: &Sandbox, args: &[&str]) -> assert_cmd::assert::Assert {
    sb.aix()
        .env("AIX_RETRY_BASE_MS", "2")
        .args(["run", "greet", "-e"])
        .args(args)
        .write_stdin("")
        .assert()
}

#[test]
fn an_alias_runs_its_target_without_provider() {
    let (s1, s2) = (Server::start(), Server::start());
    let (sb, _) = setup(&s1.base(), &s2.base());
    s1.push(Reply::answer("one"));
    run(&sb, &["-m", "fast"]).success().stdout("one\n");
    assert_eq!(s1.last().json()["model"], "m1");
    // A target's model may be a models-table key, and ids may hold '/'.
    s1.push(Reply::answer("big"));
    run(&sb, &["-m", "smart"]).success().stdout("big\n");
    assert_eq!(s1.last().json()["model"], "a-big-1");
    assert!(s2.requests().is_empty());
    // The dry run shows the first target and says what follows.
    sb.run(&["run", "greet", "-m", "chain"])
        .success()
        .stdout(predicate::str::contains("model:    a-big-1 (models.big)"))
        .stderr(predicate::str::contains(
            "alias 'chain': a/a-big-1 first; on a failure before any output, then b/org/small, then b/last",
        ));
    // With --provider, only that provider's targets.
    s2.push(Reply::answer("two"));
    run(&sb, &["-m", "smart", "--provider", "b"])
        .success()
        .stdout("two\n");
    assert_eq!(s2.last().json()["model"], "org/small");
}

#[test]
fn a_5xx_or_a_refused_connection_before_output_tries_the_next_target() {
    let (s1, s2) = (Server::start(), Server::start());
    let (sb, _) = setup(&s1.base(), &s2.base());
    for _ in 0..3 {
        s1.push(Reply::json(
            503,
            &json!({"error": {"message": "overloaded"}}),
        ));
    }
    s2.push(Reply::stream(&["from ", "b"]));
    let out = run(&sb, &["-m", "smart", "--stream"]).success();
    assert_eq!(stdout(&out), "from b\n");
    let err = stderr(&out);
    assert!(
        err.contains("a/a-big-1 failed before answering: 503"),
        "{err}"
    );
    assert!(err.contains("trying b/org/small"), "{err}");
    assert_eq!(s1.requests().len(), 3, "a's own retries came first");
    assert_eq!(s2.last().json()["model"], "org/small");

    // A provider that refuses connections.
    let (sb, _) = setup("http://127.0.0.1:9/v1", &s2.base());
    s2.push(Reply::answer("b again"));
    run(&sb, &["-m", "smart"])
        .success()
        .stdout("b again\n")
        .stderr(predicate::str::contains("connection refused"));

    // Every target failing: the last error is the run's.
    let (sb, _) = setup("http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1");
    run(&sb, &["-m", "chain"])
        .code(1)
        .stderr(predicate::str::contains("trying b/last"))
        .stderr(predicate::str::contains("is the server running?"));
}

#[test]
fn other_failures_and_failures_after_output_do_not_switch() {
    let (s1, s2) = (Server::start(), Server::start());
    let (sb, _) = setup(&s1.base(), &s2.base());
    // A 401 is this provider's problem: no switch.
    s1.push(Reply::json(401, &json!({"error": {"message": "bad key"}})));
    run(&sb, &["-m", "smart"])
        .code(1)
        .stderr(predicate::str::contains("401"))
        .stderr(predicate::str::contains("trying").not());
    // The stream started, then broke: what was written stays, no switch.
    s1.push(Reply::sse_pieces(&[&chunk_event("half ")]));
    run(&sb, &["-m", "smart", "--stream"])
        .code(1)
        .stdout("half \n")
        .stderr(predicate::str::contains("ended before [DONE]"))
        .stderr(predicate::str::contains("trying").not());
    assert!(s2.requests().is_empty());
}

#[test]
fn aliases_are_planned_owned_and_drift_is_shown() {
    let (s1, s2) = (Server::start(), Server::start());
    let sb = Sandbox::new();
    let m = sb.root.join("providers.toml");
    let text = format!(
        "[providers.a]\nbase_url = \"{}\"\n\n[providers.b]\nbase_url = \"{}\"\n\n[aliases]\nfast = \"a/m1\"\nsmart = [\"a/big\", \"b/small\"]\n",
        s1.base(),
        s2.base()
    );
    std::fs::write(&m, &text).unwrap();
    let path = m.to_str().unwrap();
    let redact = |t: String| {
        t.replace(&s1.base(), "http://A/v1")
            .replace(&s2.base(), "http://B/v1")
    };
    assert_snapshot!(
        "aliases_plan_create",
        redact(stdout(&sb.run(&["plan", "-f", path]).success()))
    );
    sb.run(&["apply", "-f", path]).success();
    sb.run(&["plan", "-f", path, "--detailed-exitcode"]).code(0);
    assert_eq!(sb.config()["aliases"]["fast"], "a/m1");
    // An alias of one's own is never touched.
    sb.run(&["config", "set", "aliases.mine", "b/x"]).success();
    // Edited by hand: drift, and apply wants --force.
    sb.run(&["config", "set", "aliases.fast", "b/other"])
        .success();
    // One alias changed, one removed from the manifest.
    std::fs::write(
        &m,
        text.replace("smart = [\"a/big\", \"b/small\"]\n", "")
            .replace("fast = \"a/m1\"", "fast = [\"a/m2\", \"b/m2\"]"),
    )
    .unwrap();
    let plan = redact(stdout(&sb.run(&["plan", "-f", path]).success()));
    assert_snapshot!("aliases_plan_drift_and_destroy", plan);
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&sb.run(&["plan", "-f", path, "--json"]).success())).unwrap();
    let kinds: Vec<&str> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["alias", "alias"]);
    sb.run(&["apply", "-f", path, "--yes"]).code(1);
    sb.run(&["apply", "-f", path, "--yes", "--force"]).success();
    let c = sb.config();
    assert_eq!(c["aliases"]["fast"], json!(["a/m2", "b/m2"]));
    assert!(c["aliases"].get("smart").is_none());
    assert_eq!(c["aliases"]["mine"], "b/x");
    sb.run(&["plan", "-f", path, "--detailed-exitcode"]).code(0);
    // The export carries the aliases and plans as no changes (the hand
    // alias `mine` is adopted).
    let export = stdout(&sb.run(&["provider", "export"]).success());
    assert!(
        export.contains("[aliases]\nfast = [\"a/m2\", \"b/m2\"]\nmine = \"b/x\"\n"),
        "{export}"
    );
    std::fs::write(&m, &export).unwrap();
    let plan = stdout(&sb.run(&["plan", "-f", path]).success());
    assert!(plan.contains("= alias mine"), "{plan}");
    sb.run(&["apply", "-f", path]).success();
    sb.run(&["plan", "-f", path, "--detailed-exitcode"]).code(0);
}

#[test]
fn validate_refuses_bad_targets_with_their_place() {
    let sb = Sandbox::new();
    let m = sb.root.join("m.toml");
    std::fs::write(
        &m,
        "[providers.a]\nbase_url = \"http://h/v1\"\n\n[aliases]\nok = \"a/m\"\nghost = \"nowhere/m\"\nloop1 = \"loop2\"\nloop2 = [\"a/m\", \"loop1\"]\nempty = []\nbuiltin = \"openai/gpt-4o\"\n",
    )
    .unwrap();
    let path = m.to_str().unwrap();
    let v = sb.run(&["validate", path]).code(1);
    assert_snapshot!(
        "aliases_validate",
        format!("{}{}", stdout(&v), stderr(&v)).replace(path, "m.toml")
    );
    sb.run(&["plan", "-f", path]).code(1);
    assert!(sb.config_bytes().is_none());
}

#[test]
fn a_hand_written_alias_that_cannot_expand_is_a_clear_error() {
    let sb = Sandbox::new();
    sb.run(&["create", "greet", "Hello"]).success();
    // `config set` refuses it, naming the problem.
    sb.run(&["config", "set", "aliases.x", "y"])
        .code(1)
        .stderr(predicate::str::contains(
            "refused: aliases: alias \"x\" names \"y\", which is no alias",
        ));
    sb.run(&["config", "set", "aliases.g", "ghost/m"])
        .code(1)
        .stderr(predicate::str::contains(
            "provider 'ghost', which config.json does not have",
        ));
    // Written by hand anyway: validate reports it, and a run says what is wrong.
    sb.write_config(r#"{"aliases": {"x": "y"}}"#);
    let v = sb
        .run(&["validate", sb.config_path().to_str().unwrap()])
        .code(1);
    assert!(
        stdout(&v).contains("aliases.x: alias \"x\" names \"y\""),
        "{}",
        stdout(&v)
    );
    sb.run(&["run", "greet", "-m", "x"])
        .code(1)
        .stderr(predicate::str::contains(
            "config.json: aliases: alias \"x\" names \"y\", which is no alias",
        ));
}

#[test]
fn the_repls_model_command_takes_an_alias() {
    let (s1, s2) = (Server::start(), Server::start());
    let (sb, _) = setup(&s1.base(), &s2.base());
    s1.push(Reply::stream(&["on a"]));
    s2.push(Reply::stream(&["on b"]));
    // Started at b, `/model fast` moves to a/m1; back at b, a plain model
    // name stays at b.
    sb.aix()
        .args(["repl", "--provider", "b", "-m", "x"])
        .write_stdin("/model fast\nhello\n/provider b\n/model y\nagain\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("on a"))
        .stdout(predicate::str::contains("on b"));
    assert_eq!(s1.last().json()["model"], "m1");
    assert_eq!(s2.last().json()["model"], "y");
}

#[test]
fn a_timeout_before_the_answer_tries_the_next_target() {
    let (s1, s2) = (Server::start(), Server::start());
    let (sb, _) = setup(&s1.base(), &s2.base());
    // a never answers (its stall outlives the 1 s timeout); b does.
    s1.push(Reply {
        steps: vec![Step::Stall(std::time::Duration::from_secs(5))],
    });
    s2.push(Reply::answer("b in time"));
    let started = std::time::Instant::now();
    run(&sb, &["-m", "smart", "--timeout", "1"])
        .success()
        .stdout("b in time\n")
        .stderr(predicate::str::contains("timed out after 1 s"))
        .stderr(predicate::str::contains("trying b/org/small"));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn aix_models_lists_aliases_with_their_chains() {
    let (s1, s2) = (Server::start(), Server::start());
    let (sb, _) = setup(&s1.base(), &s2.base());
    let out = stdout(&sb.run(&["models"]).success());
    assert!(
        out.lines()
            .any(|l| l.starts_with("chain") && l.contains("a/big, then b/org/small, then b/last")),
        "{out}"
    );
    let listed: serde_json::Value =
        serde_json::from_str(&stdout(&sb.run(&["models", "b", "--json"]).success())).unwrap();
    let names: Vec<&str> = listed["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["chain", "smart"], "the aliases with a target at b");
    assert_eq!(
        listed["aliases"][1]["targets"],
        json!(["a/big", "b/org/small"])
    );
}
