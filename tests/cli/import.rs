//! `aix import --from llm|aichat|litellm`: other tools' config files read
//! back into a providers.toml that `aix apply` turns into ownership of
//! the same entries (never a second copy of them).

use std::path::{Path, PathBuf};

use insta::assert_snapshot;

use crate::common::*;

const CANARY: &str = "sk-import-canary-0d9f";

/// Providers that every tool maps fully: keys from variables, a models
/// table with ids and limits, headers, a timeout, a proxy.
const MANIFEST: &str = r#"
[providers.work]
base_url = "https://llm.example.com/v1"
api_key = "${env:WORK_KEY}"
default_model = "big"
headers = { X-Title = "aix" }
timeout_secs = 30

[providers.work.models.big]
id = "org/big-1"
context_window = 8192
max_output_tokens = 1024

[providers.work.models.small]

[providers.ollama]
base_url = "http://localhost:11434/v1"
default_model = "llama3.2"
proxy = "http://proxy.local:3128"
connect_timeout_secs = 5

[providers.claude]
base_url = "https://api.anthropic.com/v1"
wire = "messages"
auth_type = "x-api-key"
api_key = "${env:ANTHROPIC_API_KEY}"
default_model = "claude-x"
"#;

/// `aix` with its home at `home` (under the sandbox's root).
fn aix_at(sb: &Sandbox, home: &str, args: &[&str]) -> assert_cmd::assert::Assert {
    sb.aix()
        .env("AIX_HOME", sb.root.join(home))
        .current_dir(&sb.root)
        .args(args)
        .write_stdin("")
        .assert()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The tool's file as `aix apply` writes it from [`MANIFEST`] into a
/// first home: its path and bytes.
fn written_by_aix(sb: &Sandbox, tool: &str) -> (PathBuf, Vec<u8>) {
    let file = format!("{tool}.yaml");
    let m = write(
        &sb.root,
        "first.toml",
        &format!("{MANIFEST}\n[targets.{tool}]\npath = \"{file}\"\n"),
    );
    aix_at(sb, "home1", &["apply", "-y", "-f", m.to_str().unwrap()]).success();
    let path = sb.root.join(&file);
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

/// The golden round trip: apply a manifest, import the file it wrote,
/// apply the import into a fresh home against the same file. The import
/// validates, applies by adopting every entry, plans no changes after,
/// and the file is the same byte for byte. Returns the import's stdout.
fn round_trip(tool: &str) -> String {
    let sb = Sandbox::new();
    let (path, before) = written_by_aix(&sb, tool);
    let a = aix_at(
        &sb,
        "home2",
        &["import", "--from", tool, path.to_str().unwrap()],
    )
    .success();
    let text = stdout(&a);
    let m = write(&sb.root, "providers.toml", &text);
    aix_at(&sb, "home2", &["validate", m.to_str().unwrap()]).success();
    let json: serde_json::Value = serde_json::from_str(&stdout(
        &aix_at(&sb, "home2", &["plan", "--json"]).success(),
    ))
    .unwrap();
    let changes = json["targets"][0]["changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    for c in changes {
        assert_eq!(c["action"], "adopt", "{c}");
    }
    aix_at(&sb, "home2", &["apply", "-y"]).success();
    let plan = aix_at(&sb, "home2", &["plan", "--detailed-exitcode"]).code(0);
    assert!(
        stdout(&plan).starts_with("No changes."),
        "{}",
        stdout(&plan)
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "{tool}'s file");
    text
}

#[test]
fn llm_round_trip_adopts_every_entry() {
    let text = round_trip("llm");
    assert_snapshot!("import_llm_round_trip", text);
}

#[test]
fn aichat_round_trip_adopts_every_entry() {
    let text = round_trip("aichat");
    assert_snapshot!("import_aichat_round_trip", text);
}

#[test]
fn litellm_round_trip_adopts_every_entry() {
    let text = round_trip("litellm");
    assert_snapshot!("import_litellm_round_trip", text);
}

#[test]
fn the_default_place_is_read_and_the_target_names_no_path() {
    let sb = Sandbox::new();
    let dir = sb.root.join("llm-home");
    std::fs::create_dir_all(&dir).unwrap();
    write(
        &dir,
        "extra-openai-models.yaml",
        "- model_id: local/m\n  model_name: m\n  api_base: http://localhost:8080/v1\n  can_stream: true\n",
    );
    let llm = |args: &[&str]| {
        sb.aix()
            .env("AIX_HOME", sb.root.join("h"))
            .env("LLM_USER_PATH", &dir)
            .current_dir(&sb.root)
            .args(args)
            .write_stdin("")
            .assert()
    };
    let a = llm(&["import", "--from", "llm"]).success();
    let text = stdout(&a);
    assert!(text.ends_with("\n[targets.llm]\n"), "{text}");
    write(&sb.root, "providers.toml", &text);
    llm(&["apply", "-y"]).success();
    llm(&["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn entries_aix_did_not_write_are_grouped_by_server() {
    let sb = Sandbox::new();
    let f = write(
        &sb.root,
        "extra-openai-models.yaml",
        "\
- model_id: gpt-4o-mini
  api_base: https://api.example.com/v1
  api_key_name: EXAMPLE_KEY
- model_id: fast
  model_name: example-fast-2
  api_base: https://api.example.com/v1
  api_key_name: EXAMPLE_KEY
- model_id: qwen
  api_base: http://localhost:8080/v1
  headers: {X-Title: mine}
- model_id: plain-openai
",
    );
    let a = aix_at(&sb, "h", &["import", "--from", "llm", f.to_str().unwrap()]).success();
    assert_snapshot!("import_llm_grouped", stdout(&a));
    assert_snapshot!("import_llm_grouped_stderr", stderr(&a));
    // Applied, the old entries stay and aix's are added beside them.
    write(&sb.root, "providers.toml", &stdout(&a));
    aix_at(&sb, "h", &["apply", "-y"]).success();
    let back = std::fs::read_to_string(&f).unwrap();
    for id in [
        "gpt-4o-mini",
        "api.example.com/gpt-4o-mini",
        "localhost-8080/qwen",
    ] {
        assert!(back.contains(&format!("model_id: {id}\n")), "{back}");
    }
    aix_at(&sb, "h", &["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn literal_keys_and_credentials_never_leave_the_file() {
    let sb = Sandbox::new();
    let files = [
        (
            "aichat",
            format!(
                "model: my:m1\nclients:\n- type: openai-compatible\n  name: my\n  api_base: http://my.local/v1\n  api_key: {CANARY}\n  models:\n  - name: m1\n"
            ),
        ),
        (
            "litellm",
            format!(
                "model_list:\n- model_name: lit/m\n  litellm_params:\n    model: openai/m\n    api_base: http://lit.local/v1\n    api_key: {CANARY}\n    extra_headers: {{X-Api-Key: {CANARY}, X-Title: t}}\n"
            ),
        ),
        (
            "llm",
            format!(
                "- model_id: h/m\n  model_name: m\n  api_base: http://h.local/v1\n  headers:\n    Authorization: Bearer {CANARY}\n"
            ),
        ),
    ];
    for (tool, text) in files {
        let f = write(&sb.root, &format!("{tool}.yaml"), &text);
        let a = aix_at(&sb, "h", &["import", "--from", tool, f.to_str().unwrap()]).success();
        let (out, err) = (stdout(&a), stderr(&a));
        assert!(!out.contains(CANARY) && !err.contains(CANARY), "{out}{err}");
        assert!(out.contains("${env:"), "{out}");
        assert!(err.contains("literal"), "{err}");
        assert_snapshot!(format!("import_literal_{tool}_stderr"), err);
        let o = sb.root.join(format!("{tool}.toml"));
        let a = aix_at(
            &sb,
            "h",
            &[
                "import",
                "--from",
                tool,
                f.to_str().unwrap(),
                "-o",
                o.to_str().unwrap(),
            ],
        )
        .success();
        assert!(stdout(&a).is_empty());
        assert!(!stderr(&a).contains(CANARY));
        let written = std::fs::read_to_string(&o).unwrap();
        assert_eq!(written, out, "-o writes what stdout shows");
        aix_at(&sb, "h", &["validate", o.to_str().unwrap()]).success();
    }
}

#[test]
fn entries_aix_cannot_reach_are_skipped_by_name() {
    let sb = Sandbox::new();
    let f = write(
        &sb.root,
        "litellm.yaml",
        "\
model_list:
- model_name: azure-gpt
  litellm_params: {model: azure/gpt-4o, api_base: https://x.openai.azure.com, api_key: os.environ/AZURE_KEY}
- model_name: bedrock-claude
  litellm_params: {model: bedrock/anthropic.claude-3}
- model_name: openai-hosted
  litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}
- model_name: vllm/qwen
  litellm_params: {model: openai/Qwen/Qwen2.5-7B, api_base: http://gpu.local:8000/v1, api_key: none, timeout: 60}
  model_info: {max_input_tokens: 32768}
",
    );
    let a = aix_at(
        &sb,
        "h",
        &["import", "--from", "litellm", f.to_str().unwrap()],
    )
    .success();
    assert_snapshot!("import_litellm_skipped", stdout(&a));
    assert_snapshot!("import_litellm_skipped_stderr", stderr(&a));
    let g = write(
        &sb.root,
        "aichat.yaml",
        "clients:\n- type: gemini\n  name: g\n- type: openai-compatible\n  name: ok\n  api_base: http://ok.local/v1\n  models: [{name: m, max_input_tokens: 4096}]\n",
    );
    let a = aix_at(
        &sb,
        "h",
        &["import", "--from", "aichat", g.to_str().unwrap()],
    )
    .success();
    assert!(
        stderr(&a).contains("client g is of type gemini"),
        "{}",
        stderr(&a)
    );
    assert!(stdout(&a).contains("[providers.ok]"));
    // Nothing importable at all is an error.
    let n = write(
        &sb.root,
        "none.yaml",
        "clients:\n- type: gemini\n  name: g\n",
    );
    let a = aix_at(
        &sb,
        "h",
        &["import", "--from", "aichat", n.to_str().unwrap()],
    )
    .code(1);
    assert!(stdout(&a).is_empty());
    assert!(
        stderr(&a).contains("has no entry aix can import"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn a_missing_file_is_one_line_naming_it() {
    let sb = Sandbox::new();
    let a = sb
        .aix()
        .env("AIX_HOME", sb.root.join("h"))
        .env("AICHAT_CONFIG_DIR", sb.root.join("aichat"))
        .args(["import", "--from", "aichat"])
        .assert()
        .code(1);
    let err = stderr(&a);
    assert_snapshot!(
        "import_missing_default",
        err.replace(&sb.root.display().to_string(), "[ROOT]")
    );
    let a = aix_at(&sb, "h", &["import", "--from", "llm", "nope.yaml"]).code(1);
    let err = stderr(&a);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("nope.yaml") && err.starts_with("error:"),
        "{err}"
    );
    let bad = write(&sb.root, "bad.yaml", "model_list: {a: 1}\n");
    let a = aix_at(
        &sb,
        "h",
        &["import", "--from", "litellm", bad.to_str().unwrap()],
    )
    .code(1);
    let err = stderr(&a);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("bad.yaml: model_list is a mapping"), "{err}");
}

#[test]
fn litellm_needs_a_path() {
    let sb = Sandbox::new();
    let a = aix_at(&sb, "h", &["import", "--from", "litellm"]).code(64);
    assert_snapshot!("import_litellm_no_path", stderr(&a));
    aix_at(&sb, "h", &["import", "--from", "codex"]).code(64);
}

#[test]
fn a_fifo_is_refused() {
    let sb = Sandbox::new();
    let fifo = sb.root.join("llm.yaml");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let a = aix_at(
        &sb,
        "h",
        &["import", "--from", "llm", fifo.to_str().unwrap()],
    )
    .code(1);
    let err = stderr(&a);
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn output_files_are_not_replaced_without_force() {
    let sb = Sandbox::new();
    let (path, _) = written_by_aix(&sb, "llm");
    let o = write(&sb.root, "mine.toml", "# mine\n");
    let args = |extra: &[&'static str]| -> Vec<String> {
        let mut v: Vec<String> = ["import", "--from", "llm", path.to_str().unwrap(), "-o"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.push(o.to_str().unwrap().into());
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        aix_at(&sb, "h", &refs)
    };
    let a = run(args(&[])).code(1);
    assert!(
        stderr(&a).contains("exists; nothing was written"),
        "{}",
        stderr(&a)
    );
    assert!(stderr(&a).contains("--force"));
    assert_eq!(std::fs::read_to_string(&o).unwrap(), "# mine\n");
    let a = run(args(&["--force"])).success();
    assert!(stderr(&a).contains("Wrote 2 providers"), "{}", stderr(&a));
    assert!(
        std::fs::read_to_string(&o)
            .unwrap()
            .contains("[targets.llm]")
    );
    // Not a regular file: refused even with --force.
    let d = sb.root.join("dir.toml");
    std::fs::create_dir(&d).unwrap();
    let a = aix_at(
        &sb,
        "h",
        &[
            "import",
            "--from",
            "llm",
            path.to_str().unwrap(),
            "-o",
            d.to_str().unwrap(),
            "--force",
        ],
    )
    .code(1);
    assert!(stderr(&a).contains("not a regular file"), "{}", stderr(&a));
    // --force alone is a usage error.
    aix_at(&sb, "h", &["import", "--from", "llm", "--force"]).code(64);
}
