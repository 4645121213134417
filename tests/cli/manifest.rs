//! `aix plan`, `aix apply` and `aix provider export` with real manifests.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::common::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const TWO: &str = r#"
[providers.ollama]
base_url = "http://localhost:11434/v1"
default_model = "llama3.2"

[providers.work]
base_url = "https://llm.example.com/v1"
auth_type = "api-key"
headers = { "X-API-Key" = "${env:WORK_LLM_KEY}", Authorization = "Bearer sk-manifest-canary" }
"#;

fn plan(sb: &Sandbox, m: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut args = vec!["plan", "-f", m.to_str().unwrap()];
    args.extend_from_slice(extra);
    sb.run(&args)
}

fn apply(sb: &Sandbox, m: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut args = vec!["apply", "-f", m.to_str().unwrap()];
    args.extend_from_slice(extra);
    sb.run(&args)
}

#[test]
fn plan_apply_plan() {
    let sb = Sandbox::new();
    let m = write(&sb.root, "providers.toml", TWO);
    let a = plan(&sb, &m, &["--detailed-exitcode"]).code(2);
    let out = stdout(&a);
    assert!(out.contains("+ ollama") && out.contains("+ work"), "{out}");
    assert!(
        out.ends_with("Plan: 2 to add, 0 to change, 0 to destroy.\n"),
        "{out}"
    );
    assert!(out.contains("Authorization: (sensitive)") && !out.contains("canary"));
    assert!(out.contains("X-API-Key: ${env:WORK_LLM_KEY}"));
    plan(&sb, &m, &[]).success();
    assert!(sb.config_bytes().is_none(), "plan writes nothing");

    apply(&sb, &m, &[])
        .success()
        .stderr(predicate::str::contains(
            "Apply complete: 2 added, 0 changed, 0 destroyed.",
        ));
    let cfg = sb.config();
    assert_eq!(
        cfg["custom_providers"]["ollama"]["default_model"],
        "llama3.2"
    );
    assert_eq!(
        cfg["aix_manifest"]["providers"]["work"]["source"],
        m.display().to_string()
    );
    let bytes = sb.config_bytes().unwrap();
    apply(&sb, &m, &[])
        .success()
        .stdout("No changes. config.json matches the manifest.\n");
    plan(&sb, &m, &["--detailed-exitcode"])
        .code(0)
        .stdout(predicate::str::starts_with("No changes."));
    assert_eq!(
        sb.config_bytes().unwrap(),
        bytes,
        "a second apply does not rewrite"
    );

    let list = stdout(&sb.run(&["provider", "list"]).success());
    assert!(
        list.lines()
            .any(|l| l.starts_with("ollama") && l.ends_with("manifest")),
        "{list}"
    );
}

#[test]
fn plan_json_has_a_format_version() {
    let sb = Sandbox::new();
    let m = write(&sb.root, "p.toml", TWO);
    let a = plan(&sb, &m, &["--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["format_version"], "1");
    assert_eq!(
        v["summary"],
        serde_json::json!({"add": 2, "change": 0, "destroy": 0, "adopt": 0})
    );
    assert_eq!(v["changes"][1]["name"], "work");
    assert_eq!(
        v["changes"][1]["after"]["headers"]["Authorization"],
        "(sensitive)"
    );
    assert!(
        v["changes"][0]["source"]
            .as_str()
            .unwrap()
            .ends_with("p.toml:2:12")
    );
    assert!(!stdout(&a).contains("canary"));
}

#[test]
fn apply_json_accounts_for_what_was_applied() {
    let sb = Sandbox::new();
    let m = write(&sb.root, "p.toml", TWO);
    let planned = stdout(&plan(&sb, &m, &["--json"]).success());
    let a = apply(&sb, &m, &["--json"])
        .success()
        .stderr(predicate::str::contains(
            "Apply complete: 2 added, 0 changed, 0 destroyed.",
        ));
    let out = stdout(&a);
    let mut v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["applied"], true);
    assert!(!out.contains("canary") && !out.contains("Plan:"), "{out}");
    // The rest is the document `plan --json` printed before.
    v.as_object_mut().unwrap().remove("applied");
    assert_eq!(
        v,
        serde_json::from_str::<serde_json::Value>(&planned).unwrap()
    );
    assert!(sb.config()["custom_providers"]["work"].is_object());

    let again = stdout(&apply(&sb, &m, &["--json"]).success());
    let v: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(v["applied"], false);
    assert_eq!(v["changes"], serde_json::json!([]));
}

#[test]
fn ownership_cli_providers_are_never_touched() {
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "mine", "http://mine/v1"])
        .success();
    let m = write(&sb.root, "p.toml", TWO);
    apply(&sb, &m, &[]).success();
    // An empty manifest destroys what it owns, and nothing else.
    let empty = write(&sb.root, "empty.toml", "# nothing\n");
    let a = plan(&sb, &empty, &[]).success();
    assert!(stdout(&a).contains("Plan: 0 to add, 0 to change, 2 to destroy."));
    assert!(!stdout(&a).contains("mine"));
    apply(&sb, &empty, &[])
        .code(1)
        .stderr(predicate::str::contains(
            "apply would destroy 2 providers: 'ollama', 'work'",
        ))
        .stderr(predicate::str::contains("--yes"));
    assert!(
        sb.config()["custom_providers"]["ollama"].is_object(),
        "refused apply changed nothing"
    );
    apply(&sb, &empty, &["--yes"]).success();
    let cfg = sb.config();
    assert_eq!(
        cfg["custom_providers"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["mine"]
    );
    // --prune-unowned removes it too, and says why.
    plan(&sb, &empty, &["--prune-unowned"])
        .success()
        .stdout(predicate::str::contains(
            "- mine  (not owned by the manifest; removed by --prune-unowned)",
        ));
    apply(&sb, &empty, &["--prune-unowned", "--yes"]).success();
    assert!(
        sb.config()["custom_providers"]
            .as_object()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn adopt_when_equal_conflict_when_not() {
    let sb = Sandbox::new();
    sb.run(&[
        "provider",
        "add",
        "ollama",
        "http://localhost:11434/v1",
        "-m",
        "llama3.2",
    ])
    .success();
    let m = write(
        &sb.root,
        "p.toml",
        "[providers.ollama]\nbase_url = \"http://localhost:11434/v1\"\ndefault_model = \"llama3.2\"\n",
    );
    plan(&sb, &m, &[])
        .success()
        .stdout(predicate::str::contains(
            "= ollama  (already matches the manifest",
        ))
        .stdout(predicate::str::contains(
            "Plan: 0 to add, 0 to change, 0 to destroy, 1 to adopt.",
        ));
    apply(&sb, &m, &[])
        .success()
        .stderr(predicate::str::contains("1 adopted"));
    assert_eq!(
        sb.config()["aix_manifest"]["providers"]["ollama"]["fingerprint"]
            .as_str()
            .unwrap()
            .len(),
        16
    );

    sb.run(&["provider", "add", "other", "http://hand/v1"])
        .success();
    let m2 = write(
        &sb.root,
        "p2.toml",
        "[providers.ollama]\nbase_url = \"http://localhost:11434/v1\"\ndefault_model = \"llama3.2\"\n\n[providers.other]\nbase_url = \"http://manifest/v1\"\n",
    );
    plan(&sb, &m2, &[])
        .success()
        .stdout(predicate::str::contains(
            "~ other  (exists already, not owned by the manifest, and differs",
        ))
        .stdout(predicate::str::contains(
            "base_url: \"http://hand/v1\" -> \"http://manifest/v1\"",
        ));
    let before = sb.config_bytes().unwrap();
    apply(&sb, &m2, &[])
        .code(1)
        .stderr(predicate::str::contains(
            "would overwrite or delete edits made outside the manifest: 'other'",
        ))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(sb.config_bytes().unwrap(), before);
    apply(&sb, &m2, &["--force"]).success();
    assert_eq!(
        sb.config()["custom_providers"]["other"]["base_url"],
        "http://manifest/v1"
    );
}

#[test]
fn drift_is_shown_and_needs_force() {
    let sb = Sandbox::new();
    let m = write(&sb.root, "p.toml", TWO);
    apply(&sb, &m, &[]).success();
    sb.run(&[
        "config",
        "set",
        "custom_providers.ollama.default_model",
        "edited-by-hand",
    ])
    .success();
    plan(&sb, &m, &["--detailed-exitcode"])
        .code(2)
        .stdout(predicate::str::contains(
            "~ ollama  (changed outside aix since the last apply; --force overwrites)",
        ))
        .stdout(predicate::str::contains(
            "default_model: \"edited-by-hand\" -> \"llama3.2\"",
        ));
    apply(&sb, &m, &[])
        .code(1)
        .stderr(predicate::str::contains("'ollama'"));
    assert_eq!(
        sb.config()["custom_providers"]["ollama"]["default_model"],
        "edited-by-hand"
    );
    apply(&sb, &m, &["--force"]).success();
    assert_eq!(
        sb.config()["custom_providers"]["ollama"]["default_model"],
        "llama3.2"
    );
    // Deleted by hand: re-created without --force.
    sb.run(&["provider", "remove", "work"])
        .success()
        .stderr(predicate::str::contains("managed by p.toml"));
    plan(&sb, &m, &[])
        .success()
        .stdout(predicate::str::contains(
            "+ work  (deleted outside aix; will be re-created)",
        ));
    apply(&sb, &m, &[]).success();
    // A manifest change to a drifted provider that left the manifest needs both.
    sb.run(&["config", "set", "custom_providers.work.default_model", "x"])
        .success();
    let only_ollama = write(
        &sb.root,
        "o.toml",
        "[providers.ollama]\nbase_url = \"http://localhost:11434/v1\"\ndefault_model = \"llama3.2\"\n",
    );
    apply(&sb, &only_ollama, &["--yes"]).code(1);
    apply(&sb, &only_ollama, &["--yes", "--force"]).success();
    assert!(sb.config()["custom_providers"].get("work").is_none());
}

#[test]
fn several_files_merge_and_clash() {
    let sb = Sandbox::new();
    let a = write(
        &sb.root,
        "base.toml",
        "[providers.a]\nbase_url = \"http://a\"\n",
    );
    let b = write(
        &sb.root,
        "laptop.toml",
        "[providers.b]\nbase_url = \"http://b\"\n",
    );
    sb.run(&["plan", "-f", a.to_str().unwrap(), "-f", b.to_str().unwrap()])
        .success()
        .stdout(predicate::str::contains("Plan: 2 to add"));
    let clash = write(
        &sb.root,
        "clash.toml",
        "\n[providers.a]\nbase_url = \"http://other\"\n",
    );
    sb.run(&[
        "apply",
        "-f",
        a.to_str().unwrap(),
        "-f",
        clash.to_str().unwrap(),
    ])
    .code(1)
    .stderr(predicate::str::contains(format!(
        "{}:2:12: error: provider 'a' is already defined at {}:1:12",
        clash.display(),
        a.display()
    )));
    assert!(sb.config_bytes().is_none());
    // $AIX_MANIFEST, colon-separated, and ./providers.toml by default.
    sb.aix()
        .env("AIX_MANIFEST", format!("{}:{}", a.display(), b.display()))
        .arg("plan")
        .assert()
        .success()
        .stdout(predicate::str::contains("Plan: 2 to add"));
    sb.aix()
        .current_dir(&sb.root)
        .arg("plan")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot read providers.toml"))
        .stderr(predicate::str::contains("-f FILE"));
    write(&sb.root, "providers.toml", TWO);
    sb.aix()
        .current_dir(&sb.root)
        .arg("plan")
        .assert()
        .success()
        .stdout(predicate::str::contains("+ work"));
}

#[test]
fn bad_manifests_name_the_place_and_change_nothing() {
    let sb = Sandbox::new();
    sb.write_config(FOREIGN);
    let cases = [
        (
            "[providers.a]\nbase_ur = \"http://x\"\n",
            ":2:1: error: providers.a: unknown key `base_ur`",
            "did you mean `base_url`?",
        ),
        (
            "[providers.a]\nbase_url = \"localhost\"\n",
            ":2:12: error: providers.a: base_url: base URL \"localhost\" is not absolute",
            "",
        ),
        (
            "[providers.a]\nbase_url = \"http://x\"\nheaders = { X = \"a\\r\\nb\" }\n",
            ":3:17: error: providers.a: headers: value of header \"X\" contains a carriage return",
            "",
        ),
        (
            "[providers.\"a b\"]\nbase_url = \"http://x\"\n",
            ":1:12: error: provider name \"a b\"",
            "",
        ),
        ("[providers.a\n", ":1:", ""),
    ];
    for (text, want, hint) in cases {
        let m = write(&sb.root, "bad.toml", text);
        for cmd in ["plan", "apply"] {
            let a = sb.run(&[cmd, "-f", m.to_str().unwrap()]).code(1);
            let err = stderr(&a);
            assert!(
                err.contains(&format!("{}{want}", m.display())),
                "{text:?}: {err}"
            );
            assert!(err.contains(hint), "{text:?}: {err}");
        }
        assert_eq!(sb.config_bytes().unwrap(), FOREIGN.as_bytes());
    }
}

#[test]
fn export_then_apply_reproduces_the_providers() {
    let sb = Sandbox::new();
    sb.run(&[
        "provider",
        "add",
        "ollama",
        "http://localhost:11434/v1",
        "-m",
        "llama3.2",
        "-H",
        "X-Custom: v",
    ])
    .success();
    sb.run(&[
        "provider",
        "add",
        "my.host",
        "https://h/v1",
        "--auth-type",
        "api-key",
        "-H",
        "X-API-Key: sk-literal-canary",
        "--timeout",
        "30",
    ])
    .success();
    sb.aix()
        .args(["api-key", "ollama"])
        .write_stdin("k\n")
        .assert()
        .success();
    let a = sb.run(&["provider", "export"]).success();
    let text = stdout(&a);
    assert!(!text.contains("canary"), "{text}");
    assert!(stderr(&a).contains("${env:AIX_MY_HOST_X_API_KEY}"));
    assert!(stderr(&a).contains("API keys are not exported"));
    let m = write(&sb.root, "exported.toml", &text);

    let fresh = Sandbox::new();
    fresh.run(&["apply", "-f", m.to_str().unwrap()]).success();
    let (old, new) = (sb.config(), fresh.config());
    assert_eq!(
        old["custom_providers"]["ollama"],
        new["custom_providers"]["ollama"]
    );
    assert_eq!(
        new["custom_providers"]["my.host"]["headers"]["X-API-Key"],
        "${env:AIX_MY_HOST_X_API_KEY}"
    );
    assert_eq!(new["custom_providers"]["my.host"]["timeout_secs"], 30);
    // Applying the export over the original adopts both (the literal
    // secret differs, so that one is a conflict).
    sb.run(&["plan", "-f", m.to_str().unwrap()])
        .success()
        .stdout(predicate::str::contains("= ollama"))
        .stdout(predicate::str::contains("~ my.host"));
    sb.run(&["provider", "export", "ollama"]).success().stdout(
        predicate::str::contains("[providers.ollama]")
            .and(predicate::str::contains("my.host").not()),
    );
    sb.run(&["provider", "export", "nope"])
        .code(1)
        .stderr(predicate::str::contains("Custom provider 'nope' not found"));
}

#[test]
fn every_example_plans_applies_and_settles() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let sets: Vec<Vec<PathBuf>> = vec![
        vec![examples.join("ollama.toml")],
        vec![examples.join("vllm.toml")],
        vec![examples.join("llamacpp.toml")],
        vec![examples.join("openrouter.toml")],
        vec![examples.join("azure.toml")],
        vec![examples.join("openai-reasoning.toml")],
        vec![examples.join("private-ca.toml")],
        vec![examples.join("models.toml")],
        vec![examples.join("anthropic.toml")],
        vec![examples.join("responses.toml")],
        vec![examples.join("targets.toml")],
        vec![
            examples.join("overlay/base.toml"),
            examples.join("overlay/laptop.toml"),
        ],
    ];
    for set in sets {
        let sb = Sandbox::new();
        let mut args: Vec<String> = vec![];
        for f in &set {
            args.push("-f".into());
            args.push(f.display().to_string());
        }
        let with = |cmd: &str| {
            let mut a = vec![cmd.to_string()];
            a.extend(args.clone());
            a
        };
        sb.aix()
            .args(with("plan"))
            .arg("--detailed-exitcode")
            .assert()
            .code(2);
        sb.aix().args(with("apply")).assert().success();
        sb.aix()
            .args(with("plan"))
            .arg("--detailed-exitcode")
            .assert()
            .code(0);
    }
}

#[test]
fn plan_output_snapshot() {
    let sb = Sandbox::new();
    let m = write(
        &sb.root,
        "p.toml",
        r#"
[providers.keep]
base_url = "http://keep/v1"

[providers.changing]
base_url = "http://old/v1"
default_model = "m1"
headers = { X-A = "1", Authorization = "Bearer secret-one" }

[providers.leaving]
base_url = "http://leaving/v1"

[providers.drifting]
base_url = "http://drift/v1"
"#,
    );
    apply(&sb, &m, &[]).success();
    sb.run(&["provider", "add", "adoptable", "http://adopt/v1"])
        .success();
    sb.run(&["provider", "add", "clashing", "http://hand/v1"])
        .success();
    sb.run(&[
        "config",
        "set",
        "custom_providers.drifting.default_model",
        "hand-edit",
    ])
    .success();
    let m = write(
        &sb.root,
        "p.toml",
        r#"
[providers.keep]
base_url = "http://keep/v1"

[providers.changing]
base_url = "http://new/v1"
headers = { X-B = "2", Authorization = "Bearer secret-two" }
timeout_secs = 120

[providers.drifting]
base_url = "http://drift/v1"

[providers.adoptable]
base_url = "http://adopt/v1"

[providers.clashing]
base_url = "http://manifest/v1"

[providers.brand-new]
base_url = "https://new.example.com/v1"
default_model = "fresh"
auth_type = "api-key"
headers = { "X-API-Key" = "${env:NEW_KEY}" }
"#,
    );
    let out = stdout(&plan(&sb, &m, &[]).success());
    insta::assert_snapshot!(out);
}
