//! `aix validate` and `aix schema`.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::common::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn every_example_validates() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let sb = Sandbox::new();
    for f in [
        "ollama.toml",
        "vllm.toml",
        "llamacpp.toml",
        "openrouter.toml",
        "azure.toml",
        "openai-reasoning.toml",
        "private-ca.toml",
        "models.toml",
        "anthropic.toml",
        "responses.toml",
        "overlay/base.toml",
        "overlay/laptop.toml",
    ] {
        let path = examples.join(f);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("#:schema ../"),
            "{f} carries the #:schema directive"
        );
        sb.run(&["validate", path.to_str().unwrap(), "--strict"])
            .success()
            .stderr(predicate::str::contains(
                "valid: 0 errors, 0 warnings in 1 file",
            ));
    }
}

#[test]
fn broken_manifests_point_at_the_place() {
    let sb = Sandbox::new();
    let cases: &[(&str, &str)] = &[
        (
            "[providers.a]\nbase_url = 5\n",
            ":2:12: error: providers.a: base_url: must be a string, not a number",
        ),
        (
            "[providers.a]\nbase_url = \"http://x\"\ndefualt_model = \"m\"\n",
            ":3:1: error: providers.a: unknown key `defualt_model`",
        ),
        (
            "[providers.a]\nbase_url = \"http://x/v1?key=1\"\n",
            ":2:12: error: providers.a: base_url: base URL \"http://x/v1?...\" has a query or fragment",
        ),
        (
            "[providers.a]\nbase_url = \"http://x\"\nheaders = { \"Bad Header\" = \"v\" }\n",
            ":3:13: error: providers.a: headers: header name \"Bad Header\"",
        ),
        (
            "[providers.a]\nbase_url = \"http://x\"\nheaders = { X = \"${env:oops\" }\n",
            ":3:17: error: providers.a: headers: value of header \"X\": `${env:` is not closed",
        ),
        (
            "[providers.a]\nbase_url = \"http://x\"\napi_key_env = \"9LIVES\"\n",
            ":3:15: error: providers.a: api_key_env:",
        ),
        (
            "[providers.a]\nbase_url = \"http://x\"\ntimeout_secs = 100000\n",
            ":3:16: error: providers.a: timeout_secs: must be a whole number of seconds from 1 to 86400, not 100000",
        ),
        (
            "[providers]\na = 1\n",
            ":2:5: error: providers.a: 1 is not of type \"object\"",
        ),
        (
            "[providers.a]\nbase_url = \"http://x\"\nbase_url = \"http://y\"\n",
            ":3:1: error:",
        ),
        ("x = [1,\n", ":1:8: error: unclosed array"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let f = write(&sb.root, &format!("case{i}.toml"), text);
        let a = sb.run(&["validate", f.to_str().unwrap()]).code(1);
        let out = stdout(&a);
        assert!(
            out.contains(&format!("{}{want}", f.display())),
            "{text:?}:\n{out}"
        );
        assert!(stderr(&a).contains("validation failed"));
    }
    // The misspelt key gets a suggestion.
    let f = write(
        &sb.root,
        "typo.toml",
        "[providers.a]\nbase_url = \"http://x\"\ndefualt_model = \"m\"\n",
    );
    sb.run(&["validate", f.to_str().unwrap()])
        .code(1)
        .stdout(predicate::str::contains(
            "hint: did you mean `default_model`?",
        ));
}

#[test]
fn duplicates_across_files_and_literal_credentials() {
    let sb = Sandbox::new();
    let a = write(
        &sb.root,
        "a.toml",
        "[providers.x]\nbase_url = \"http://a\"\n",
    );
    let b = write(
        &sb.root,
        "b.toml",
        "[providers.x]\nbase_url = \"http://b\"\nheaders = { Authorization = \"Bearer sk-lit-canary\" }\n",
    );
    let out = stdout(
        &sb.run(&["validate", a.to_str().unwrap(), b.to_str().unwrap()])
            .code(1),
    );
    assert!(
        out.contains(&format!(
            "{}:1:12: error: provider 'x' is already defined at {}:1:12",
            b.display(),
            a.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{}:3:29: warning: providers.x: headers.Authorization holds a literal credential",
            b.display()
        )),
        "{out}"
    );
    assert!(!out.contains("canary"));
    // A warning alone passes, unless --strict.
    sb.run(&["validate", b.to_str().unwrap()])
        .success()
        .stderr(predicate::str::contains(
            "valid: 0 errors, 1 warning in 1 file",
        ));
    sb.run(&["validate", b.to_str().unwrap(), "--strict"])
        .code(1);
    // plan shows the warning and goes on; an error stops it with the same words.
    sb.run(&["plan", "-f", b.to_str().unwrap()])
        .success()
        .stderr(predicate::str::contains("holds a literal credential"));
    sb.run(&["plan", "-f", a.to_str().unwrap(), "-f", b.to_str().unwrap()])
        .code(1)
        .stderr(predicate::str::contains("already defined at"))
        .stderr(predicate::str::contains(
            "the manifest has 1 error; nothing was planned or applied",
        ));
}

#[test]
fn json_output() {
    let sb = Sandbox::new();
    let f = write(
        &sb.root,
        "m.toml",
        "[providers.a]\nbase_ur = \"http://x\"\n[providers.b]\nbase_url = \"ftp://x\"\n",
    );
    let a = sb.run(&["validate", f.to_str().unwrap(), "--json"]).code(1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    // The misspelt base_url is one problem (not also "base_url is
    // required"); providers.b's scheme is the second.
    assert_eq!(v["errors"], 2);
    assert_eq!(v["files"], 1);
    assert_eq!(v["problems"][1]["line"], 4);
    let p = &v["problems"][0];
    assert_eq!(
        (p["line"].as_u64(), p["column"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(p["severity"], "error");
    assert_eq!(p["hint"], "did you mean `base_url`?");
}

#[test]
fn config_json_is_checked_too() {
    let sb = Sandbox::new();
    sb.write_config(FOREIGN);
    sb.run(&["validate", sb.config_path().to_str().unwrap()])
        .success();
    sb.write_config("{\n  \"custom_providers\": {\n    \"p\": {\"base_url\": \"http://x/\", \"vendor_field\": 1},\n    \"q\": {\"base_url\": \"gopher://x\"}\n  },\n  \"api_keys\": {\"p\": 5},\n  \"max_tokens\": 0,\n  \"other_tool\": [1, 2]\n}\n");
    let out = stdout(
        &sb.run(&["validate", sb.config_path().to_str().unwrap()])
            .code(1),
    );
    let path = sb.config_path().display().to_string();
    for want in [
        // aix uses a base_url it can normalise; validate only warns.
        format!("{path}:3:23: warning: custom_providers.p.base_url is not in normal form"),
        format!("{path}:4:23: error: custom_providers.q: base_url:"),
        format!("{path}:6:21: error: api_keys.p: 5 is not of type \"string\""),
        format!("{path}:7:17: error: max_tokens must be a positive whole number, not 0"),
    ] {
        assert!(out.contains(&want), "{want}\n{out}");
    }
    assert!(
        !out.contains("vendor_field") && !out.contains("other_tool"),
        "foreign keys are fine: {out}"
    );
    sb.write_config("{\n  \"a\": 1,\n}\n");
    sb.run(&["validate", sb.config_path().to_str().unwrap()])
        .code(1)
        .stdout(predicate::str::contains(
            ":3:1: error: invalid JSON: trailing comma",
        ));
}

#[test]
fn default_files_and_kinds() {
    let sb = Sandbox::new();
    sb.aix()
        .current_dir(&sb.root)
        .arg("validate")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nothing to validate"));
    write(
        &sb.root,
        "providers.toml",
        "[providers.a]\nbase_url = \"http://a\"\n",
    );
    sb.run(&["provider", "add", "b", "http://b"]).success();
    sb.aix()
        .current_dir(&sb.root)
        .arg("validate")
        .assert()
        .success()
        .stderr(predicate::str::contains("in 2 files"));
    let odd = write(
        &sb.root,
        "manifest.conf",
        "[providers.a]\nbase_url = \"http://a\"\n",
    );
    sb.run(&["validate", odd.to_str().unwrap()])
        .code(64)
        .stderr(predicate::str::contains("--kind"));
    sb.run(&["validate", odd.to_str().unwrap(), "--kind", "manifest"])
        .success();
    sb.run(&["validate", "/no/such.toml"])
        .code(1)
        .stdout(predicate::str::contains("cannot read the file"));
}

#[test]
fn schema_command_prints_the_committed_files() {
    let sb = Sandbox::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    for (kind, file) in [
        ("manifest", "providers.schema.json"),
        ("config", "config.schema.json"),
    ] {
        let committed = std::fs::read_to_string(dir.join(file)).unwrap();
        sb.run(&["schema", kind]).success().stdout(committed);
    }
    sb.run(&["schema"])
        .success()
        .stdout(predicate::str::contains("aix providers.toml"));
}
