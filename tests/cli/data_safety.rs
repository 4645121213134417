//! Data safety of the config store: nothing in config.json is lost or
//! silently changed by a write, every outside read is bounded, exported
//! secrets never share a variable, and checks catch typos.

use std::collections::BTreeSet;
use std::fs::File;
use std::process::{Command as Proc, Stdio};
use std::time::Duration;

use predicates::prelude::*;

use crate::common::*;
use crate::server::{Reply, Server};

/// stderr with the sandbox's paths replaced, for snapshots.
fn stable(sb: &Sandbox, text: &str) -> String {
    text.replace(&sb.home.display().to_string(), "[HOME]")
        .replace(&sb.root.display().to_string(), "[ROOT]")
}

// ---- provider export: one variable per secret -------------------------

const CLASHING: &str = r#"{"custom_providers": {
  "a.b": {"base_url": "http://a.b", "auth_type": "api-key", "headers": {"X-Key": "lit-one"}},
  "a-b": {"base_url": "http://a-b", "auth_type": "api-key", "headers": {"X-Key": "lit-two"}},
  "a": {"base_url": "http://a", "auth_type": "api-key", "headers": {"B-X-Key": "lit-three"}}
}}"#;

/// The `${env:NAME}` names in a text, in order.
fn env_refs(text: &str) -> Vec<String> {
    text.split("${env:")
        .skip(1)
        .map(|rest| rest.split('}').next().unwrap().to_string())
        .collect()
}

#[test]
fn export_gives_every_secret_its_own_variable() {
    let sb = Sandbox::new();
    sb.write_config(CLASHING);
    let a = sb.run(&["provider", "export"]).success();
    let out = stdout(&a);
    assert!(!out.contains("lit-"), "{out}");
    let vars = env_refs(&out);
    assert_eq!(vars.len(), 3, "{out}");
    let unique: BTreeSet<&String> = vars.iter().collect();
    assert_eq!(unique.len(), 3, "variables must differ: {vars:?}");
    assert_eq!(
        vars,
        ["AIX_A_B_X_KEY", "AIX_A_B_X_KEY_2", "AIX_A_B_X_KEY_3"],
        "deterministic: file order keeps the plain name"
    );
    let err = stderr(&a);
    assert!(
        err.contains("warning: a-b: header X-Key (AIX_A_B_X_KEY is taken by a.b: header X-Key, so this one is numbered) holds a literal secret; exported as ${env:AIX_A_B_X_KEY_2}"),
        "{err}"
    );
    assert!(err.contains("set AIX_A_B_X_KEY_3"), "{err}");

    // The exported manifest, applied with the three variables set, gives
    // each provider its own secret back.
    std::fs::write(sb.root.join("providers.toml"), &out).unwrap();
    let other = Sandbox::new();
    other
        .aix()
        .current_dir(&sb.root)
        .env("AIX_A_B_X_KEY", "s1")
        .env("AIX_A_B_X_KEY_2", "s2")
        .env("AIX_A_B_X_KEY_3", "s3")
        .args(["apply"])
        .assert()
        .success();
    let doc = other.config();
    let header = |p: &str, h: &str| doc["custom_providers"][p]["headers"][h].clone();
    assert_eq!(header("a.b", "X-Key"), "${env:AIX_A_B_X_KEY}");
    assert_eq!(header("a-b", "X-Key"), "${env:AIX_A_B_X_KEY_2}");
    assert_eq!(header("a", "B-X-Key"), "${env:AIX_A_B_X_KEY_3}");
}

#[test]
fn validate_suggests_distinct_variables_for_literal_credentials() {
    let sb = Sandbox::new();
    let m = sb.root.join("m.toml");
    std::fs::write(
        &m,
        "[providers.\"a.b\"]\nbase_url = \"http://a\"\nheaders = { X-Key = \"lit\" }\n\n[providers.a-b]\nbase_url = \"http://b\"\nheaders = { X-Key = \"lit\" }\n",
    )
    .unwrap();
    let a = sb.run(&["validate", m.to_str().unwrap()]).success();
    let out = stdout(&a);
    assert!(out.contains("${env:AIX_A_B_X_KEY}\""), "{out}");
    assert!(out.contains("${env:AIX_A_B_X_KEY_2}\""), "{out}");
}

// ---- wrong-typed known keys and duplicate keys ---------------------------

#[test]
fn wrong_typed_known_keys_are_never_written_over() {
    let cases = [
        (
            "{\n  \"custom_providers\": [1, 2, 3]\n}\n",
            ":2:23: custom_providers must be an object of providers, not an array",
        ),
        (
            "{\n  \"api_keys\": \"x\",\n  \"custom_providers\": {}\n}\n",
            ":2:15: api_keys must be an object of strings, not a string",
        ),
        (
            "{\n  \"custom_providers\": {\n    \"p\": 5\n  }\n}\n",
            ":3:10: custom_providers.p must be an object (a provider), not a number",
        ),
        (
            "{\"aix_manifest\": {\"providers\": true}}",
            ":1:32: aix_manifest.providers must be an object, not a boolean",
        ),
    ];
    for (text, want) in cases {
        let sb = Sandbox::new();
        sb.write_config(text);
        for args in [
            &["provider", "add", "n", "http://n"][..],
            &["config", "set", "default_model", "m"],
            &["config", "set", "api_keys.n", "k"],
        ] {
            let a = sb.run(args).code(1);
            let err = stderr(&a);
            assert!(
                err.contains(&format!("{}{want}", sb.config_path().display())),
                "{args:?}: {err}"
            );
            assert!(err.contains("nothing was written"), "{err}");
            assert_eq!(sb.config_bytes().unwrap(), text.as_bytes(), "{args:?}");
        }
        sb.aix()
            .args(["api-key", "openai"])
            .write_stdin("sk-x\n")
            .assert()
            .code(1);
        assert_eq!(sb.config_bytes().unwrap(), text.as_bytes());
        // validate names the same place.
        let a = sb.run(&["validate"]).code(1);
        let (place, message) = want.split_once(": ").unwrap();
        assert!(
            stdout(&a).contains(&format!("{place}: error: {message}")),
            "{}",
            stdout(&a)
        );
    }
}

#[test]
fn wrong_typed_key_error_snapshot_and_explicit_repair() {
    let sb = Sandbox::new();
    sb.write_config("{\n  \"custom_providers\": [1, 2, 3]\n}\n");
    let a = sb.run(&["provider", "add", "n", "http://n"]).code(1);
    insta::assert_snapshot!(stable(&sb, &stderr(&a)));
    // Replacing exactly that key is a deliberate repair and is allowed.
    sb.run(&["config", "unset", "custom_providers"]).success();
    sb.run(&["provider", "add", "n", "http://n"]).success();
    assert_eq!(sb.config()["custom_providers"]["n"]["base_url"], "http://n");
}

const DUPLICATED: &str = "{\n  \"custom_providers\": {\n    \"a\": {\"base_url\": \"http://first\"},\n    \"a\": {\"base_url\": \"http://second\"}\n  }\n}\n";

#[test]
fn duplicate_keys_block_writes_and_are_reported() {
    let sb = Sandbox::new();
    sb.write_config(DUPLICATED);
    for args in [
        &["provider", "add", "b", "http://b"][..],
        &["config", "set", "default_model", "m"],
        &["provider", "remove", "a"],
    ] {
        let a = sb.run(args).code(1);
        let err = stderr(&a);
        assert!(
            err.contains(&format!(
                "{}:4:5: key \"a\" appears twice in custom_providers (lines 3 and 4)",
                sb.config_path().display()
            )),
            "{args:?}: {err}"
        );
        assert_eq!(sb.config_bytes().unwrap(), DUPLICATED.as_bytes());
    }
    let a = sb.run(&["provider", "add", "b", "http://b"]).code(1);
    insta::assert_snapshot!(stable(&sb, &stderr(&a)));
    let a = sb.run(&["validate"]).code(1);
    assert!(
        stdout(&a)
            .contains(":4:5: error: key \"a\" appears twice in custom_providers: lines 3 and 4"),
        "{}",
        stdout(&a)
    );
    // Duplicates at the top level and inside other tools' data count too.
    sb.write_config("{\"x\": {\"y\": 1, \"y\": 2}}");
    sb.run(&["config", "set", "z", "1"])
        .code(1)
        .stderr(predicate::str::contains("key \"y\" appears twice in x"));
}

// ---- exact numbers -------------------------------------------------------

#[test]
fn numbers_survive_every_write_exactly() {
    let sb = Sandbox::new();
    let text = r#"{"big": 123456789012345678901234567890, "neg": -98765432109876543210987, "exact": 1.10, "exp": 1e400, "upper": 2.5E-7, "tiny": 5e-324, "list": [18446744073709551616, 0.1000000000000000055511151231257827]}"#;
    sb.write_config(text);
    sb.run(&["provider", "add", "n", "http://n"]).success();
    sb.run(&["config", "set", "counter", "100000000000000000000"])
        .success();
    let after = String::from_utf8(sb.config_bytes().unwrap()).unwrap();
    for number in [
        "123456789012345678901234567890",
        "-98765432109876543210987",
        "1.10",
        "1e400",
        "2.5E-7",
        "5e-324",
        "18446744073709551616",
        "0.1000000000000000055511151231257827",
        "100000000000000000000",
    ] {
        assert!(after.contains(number), "{number} lost: {after}");
    }
    let a = sb.run(&["config", "get", "big"]).success();
    assert_eq!(stdout(&a), "123456789012345678901234567890\n");
}

// ---- aix create race ----------------------------------------------------

#[test]
fn exactly_one_of_twenty_parallel_creates_wins() {
    let sb = Sandbox::new();
    sb.run(&["create", "warmup", "x"]).success();
    for round in 0..3 {
        let name = format!("same{round}");
        let children: Vec<_> = (0..20)
            .map(|i| {
                Proc::new(BIN)
                    .env_clear()
                    .env("HOME", &sb.root)
                    .env("AIX_HOME", &sb.home)
                    .env("NO_COLOR", "1")
                    .args(["create", &name, &format!("writer {i}")])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let winners = outputs.iter().filter(|o| o.status.success()).count();
        assert_eq!(winners, 1, "round {round}: {winners} creates succeeded");
        for o in outputs.iter().filter(|o| !o.status.success()) {
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                err.contains(&format!("prompt '{name}' already exists")),
                "{err}"
            );
        }
        let saved = std::fs::read_to_string(sb.home.join(format!("prompts/{name}.toml"))).unwrap();
        assert!(saved.contains("writer "), "{saved}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(sb.home.join("prompts"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// ---- bounded reads ------------------------------------------------------

fn mkfifo(path: &std::path::Path) {
    let ok = Proc::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

#[test]
fn a_fifo_config_is_refused_not_waited_on() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(&sb.home).unwrap();
    set_mode(&sb.home, 0o700);
    mkfifo(&sb.config_path());
    for args in [
        &["provider", "list"][..],
        &["provider", "add", "n", "http://n"],
        &["config", "get", "x"],
    ] {
        let a = sb
            .aix()
            .args(args)
            .timeout(Duration::from_secs(20))
            .write_stdin("")
            .assert()
            .code(1);
        let err = stderr(&a);
        assert!(
            err.contains("it is a FIFO, not a regular file"),
            "{args:?}: {err}"
        );
    }
    let a = sb
        .aix()
        .args(["validate"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(1);
    assert!(stdout(&a).contains("a FIFO"), "{}", stdout(&a));
}

#[test]
fn a_fifo_prompt_is_refused_not_waited_on() {
    let sb = Sandbox::new();
    sb.run(&["create", "ok", "x"]).success();
    mkfifo(&sb.home.join("prompts/fifo.toml"));
    let a = sb
        .aix()
        .args(["show", "fifo"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(1);
    assert!(stderr(&a).contains("a FIFO"), "{}", stderr(&a));
}

/// Runs aix with /dev/zero as stdin; its exit code and stderr.
fn with_zero_stdin(sb: &Sandbox, args: &[&str]) -> (Option<i32>, String) {
    let out = Proc::new(BIN)
        .env_clear()
        .env("HOME", &sb.root)
        .env("AIX_HOME", &sb.home)
        .env("NO_COLOR", "1")
        .args(args)
        .stdin(File::open("/dev/zero").unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn endless_inputs_are_capped() {
    let sb = Sandbox::new();
    // create NAME @FILE
    let a = sb
        .aix()
        .args(["create", "z", "@/dev/zero"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(64);
    assert!(
        stderr(&a).contains("template file /dev/zero: it is larger than the 8 MiB limit"),
        "{}",
        stderr(&a)
    );
    assert!(!sb.home.join("prompts/z.toml").exists());
    // plan -f FILE
    let a = sb
        .aix()
        .args(["plan", "-f", "/dev/zero"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1);
    assert!(
        stderr(&a).contains("larger than the 64 MiB limit"),
        "{}",
        stderr(&a)
    );
    // aix api-key NAME < /dev/zero
    sb.run(&["provider", "add", "p", "http://p"]).success();
    let before = sb.config_bytes();
    let (code, err) = with_zero_stdin(&sb, &["api-key", "p"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("longer than the 64 KiB limit; nothing was changed"),
        "{err}"
    );
    assert_eq!(sb.config_bytes(), before);
    // {input} from stdin
    sb.run(&["create", "sum", "Summarise {input}"]).success();
    let (code, err) = with_zero_stdin(&sb, &["run", "sum", "--provider", "p", "--model", "m"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("standard input: it is larger than the 8 MiB limit"),
        "{err}"
    );
}

#[test]
fn an_oversized_config_is_refused_with_the_limit() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(&sb.home).unwrap();
    set_mode(&sb.home, 0o700);
    let f = File::create(sb.config_path()).unwrap();
    f.set_len((64 << 20) + 1).unwrap();
    let a = sb.run(&["provider", "list"]).code(1);
    assert!(
        stderr(&a).contains("larger than the 64 MiB limit"),
        "{}",
        stderr(&a)
    );
}

// ---- config checks ------------------------------------------------------

#[test]
fn unknown_provider_fields_are_refused_with_a_suggestion() {
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "vllm", "http://v"]).success();
    let before = sb.config_bytes();
    let a = sb
        .run(&["config", "set", "custom_providers.vllm.defualt_model", "x"])
        .code(1);
    insta::assert_snapshot!(stable(&sb, &stderr(&a)));
    assert_eq!(sb.config_bytes(), before);
    sb.run(&["config", "set", "custom_providers.vllm.default_model", "x"])
        .success();
    // Typed by hand: validate warns, --strict fails, both say what was meant.
    sb.write_config(
        "{\"custom_providers\": {\"vllm\": {\"base_url\": \"http://v\", \"defualt_model\": \"x\"}}}",
    );
    let a = sb.run(&["validate"]).success();
    let out = stdout(&a);
    assert!(
        out.contains("warning: custom_providers.vllm: unknown provider field `defualt_model`"),
        "{out}"
    );
    assert!(out.contains("did you mean default_model?"), "{out}");
    let a = sb.run(&["validate", "--strict"]).code(1);
    assert!(stdout(&a).contains("did you mean default_model?"));
    // A field another tool put there is kept by aix's own writes.
    sb.run(&["provider", "add", "other", "http://o"]).success();
    assert_eq!(
        sb.config()["custom_providers"]["vllm"]["defualt_model"],
        "x"
    );
}

#[test]
fn near_misses_of_known_keys_warn_and_secret_names_are_masked() {
    let sb = Sandbox::new();
    let a = sb
        .run(&["config", "set", "api_key.ollama", "sk-typo-canary"])
        .success();
    assert!(
        stderr(&a).contains("warning: api_key is not a key aix knows; did you mean api_keys?"),
        "{}",
        stderr(&a)
    );
    let a = sb
        .run(&["config", "set", "custom_provider.x.base_url", "http://x"])
        .success();
    assert!(stderr(&a).contains("did you mean custom_providers?"));
    for args in [
        &["config", "get", "api_key.ollama"][..],
        &["config", "get", "api_key"],
        &["config", "get", "api_key", "--json"],
        &["config", "list"],
        &["config", "list", "--json"],
    ] {
        let a = sb.run(args).success();
        let out = stdout(&a);
        assert!(!out.contains("canary"), "{args:?}: {out}");
        assert!(out.contains("(sensitive)"), "{args:?}: {out}");
    }
    for (name, value) in [
        ("token", "t-canary"),
        ("my_password", "p-canary"),
        ("secret", "s-canary"),
    ] {
        sb.run(&["config", "set", name, value]).success();
        let a = sb.run(&["config", "get", name]).success();
        assert_eq!(stdout(&a), "(sensitive)\n");
    }
    let a = sb
        .run(&["--show-secrets", "config", "get", "api_key.ollama"])
        .success();
    assert_eq!(stdout(&a), "sk-typo-canary\n");
    let a = sb.run(&["validate"]).success();
    let out = stdout(&a);
    assert!(
        out.contains("warning: `api_key` is not a key aix knows"),
        "{out}"
    );
    assert!(out.contains("did you mean api_keys?"), "{out}");
    assert!(!out.contains("canary"));
}

// ---- hand-edited base_url and broken providers ---------------------------

#[test]
fn a_trailing_slash_is_used_as_normalised() {
    let sb = Sandbox::new();
    let server = Server::start();
    sb.write_config(&format!(
        "{{\"custom_providers\": {{\"slash\": {{\"base_url\": \"{}/\", \"default_model\": \"m\"}}}}}}",
        server.base()
    ));
    let a = sb.run(&["provider", "list"]).success();
    assert!(
        stdout(&a).contains(&format!("slash  {}  ", server.base())),
        "{}",
        stdout(&a)
    );
    server.push(Reply::answer("hi"));
    sb.run(&["create", "hello", "Hello"]).success();
    sb.aix()
        .args(["run", "hello", "-e", "--provider", "slash"])
        .write_stdin("")
        .assert()
        .success()
        .stdout(predicate::str::contains("hi"));
    assert_eq!(server.last().path, "/v1/chat/completions");
    // Editing the provider, or anything else, works.
    sb.run(&[
        "config",
        "set",
        "custom_providers.slash.default_model",
        "m2",
    ])
    .success();
    sb.run(&["config", "set", "default_model", "m3"]).success();
    let a = sb.run(&["validate"]).success();
    assert!(
        stdout(&a).contains("warning: custom_providers.slash.base_url is not in normal form"),
        "{}",
        stdout(&a)
    );
}

#[test]
fn broken_providers_are_listed_with_their_error() {
    let sb = Sandbox::new();
    sb.write_config(
        r#"{"custom_providers": {"bad": {"base_url": "ftp://x"}, "creds": {"base_url": "http://u:pw-canary@h"}, "ok": {"base_url": "http://ok"}}}"#,
    );
    let a = sb.run(&["provider", "list"]).success();
    let (out, err) = (stdout(&a), stderr(&a));
    assert!(out.contains("bad "), "{out}");
    assert!(out.contains("(broken)"), "{out}");
    assert!(out.contains("ok "), "{out}");
    assert!(
        err.contains("provider 'bad' cannot be used: config.json: custom_providers.bad.base_url: base URL \"ftp://x\" uses ftp://"),
        "{err}"
    );
    assert!(
        !out.contains("canary") && !err.contains("canary"),
        "{out}{err}"
    );
    let a = sb.run(&["provider", "list", "--json"]).success();
    let items: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    let bad = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "bad")
        .expect("bad is listed");
    assert!(bad["error"].as_str().unwrap().contains("ftp://"));
    // Unrelated writes are not blocked by the broken entries.
    sb.run(&["config", "set", "default_model", "m"]).success();
    sb.run(&["provider", "add", "new", "http://new"]).success();
    sb.run(&["config", "set", "custom_providers.ok.default_model", "m"])
        .success();
}
