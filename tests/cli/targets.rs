//! `[targets.TOOL]`: `aix plan` and `aix apply` writing other LLM tools'
//! config files: golden files per tool, ownership, drift, conflicts,
//! backups, and keys that never reach a file.

use std::path::{Path, PathBuf};

use crate::common::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn run(sb: &Sandbox, cmd: &str, m: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut args = vec![cmd, "-f", m.to_str().unwrap()];
    args.extend_from_slice(extra);
    sb.run(&args)
}

/// Every kind of provider a target has to map: a local one without a
/// key, one with a key from a variable, headers (plain, from a variable,
/// a literal credential that must never be written), a models table, an
/// Anthropic one, and one whose key only aix can read.
const PROVIDERS: &str = r#"
[providers.ollama]
preset = "ollama"
default_model = "llama3.2"

[providers.work]
base_url = "https://llm.example.com/v1"
api_key = "${env:WORK_KEY}"
headers = { X-Title = "aix", X-Team = "${env:TEAM_ID}", X-Secret-Token = "sk-canary-literal" }
timeout_secs = 90
default_model = "big"

[providers.work.models.big]
id = "big-2025"
description = "The big one"
context_window = 128000
max_output_tokens = 8192

[providers.work.models.small]

[providers.claude]
preset = "anthropic"
default_model = "claude-sonnet-4-5"

[providers.vault]
base_url = "https://vault.example.com/v1"
api_key = "${cmd:pass show llm/vault}"
default_model = "m"
"#;

const TOOLS: [(&str, &str); 7] = [
    ("llm", ".config/io.datasette.llm/extra-openai-models.yaml"),
    ("aichat", ".config/aichat/config.yaml"),
    ("litellm", "litellm/config.yaml"),
    ("codex", ".codex/config.toml"),
    ("opencode", ".config/opencode/opencode.json"),
    ("crush", ".config/crush/crush.json"),
    ("continue", ".continue/config.yaml"),
];

fn all_targets() -> String {
    let mut m = PROVIDERS.to_string();
    for (tool, _) in TOOLS {
        m.push_str(&format!("\n[targets.{tool}]\n"));
        if tool == "litellm" {
            m.push_str("path = \"~/litellm/config.yaml\"\n");
        }
    }
    m
}

#[test]
fn every_tool_gets_its_file_and_no_secret() {
    let sb = Sandbox::new();
    let m = write(&sb.root, "providers.toml", &all_targets());
    let a = run(&sb, "plan", &m, &["--detailed-exitcode"]).code(2);
    let plan = stdout(&a);
    assert!(!plan.contains("canary"), "{plan}");
    insta::assert_snapshot!("targets_plan_all_tools", plan);
    for (_, path) in TOOLS {
        assert!(!sb.root.join(path).exists(), "plan wrote {path}");
    }
    let a = run(&sb, "apply", &m, &[]).success();
    assert!(stderr(&a).contains("Apply complete"), "{}", stderr(&a));
    for (tool, path) in TOOLS {
        let text = read(&sb.root.join(path));
        assert!(!text.contains("canary"), "{tool}: {text}");
        assert!(!text.contains("pass show"), "{tool}: {text}");
        insta::assert_snapshot!(format!("targets_file_{tool}"), text);
    }
    // The provider keeps its header in config.json (aix's own store);
    // the records of what went into the tools' files do not.
    let records = sb.config()["aix_manifest"]["targets"].to_string();
    assert!(
        records.contains("WORK_KEY") && !records.contains("canary"),
        "{records}"
    );
    // Applied: nothing more to do, and a second apply writes nothing.
    let out = flat(&stdout(
        &run(&sb, "plan", &m, &["--detailed-exitcode"]).code(0),
    ));
    assert!(
        out.starts_with("No changes. config.json and the target files match the manifest."),
        "{out}"
    );
    assert!(
        out.contains("Target codex: no changes; 8 warnings, listed by `aix plan --json`"),
        "{out}"
    );
    assert!(!out.contains("warning:"), "{out}");
    let before: Vec<String> = TOOLS.iter().map(|(_, p)| read(&sb.root.join(p))).collect();
    run(&sb, "apply", &m, &[]).success();
    let after: Vec<String> = TOOLS.iter().map(|(_, p)| read(&sb.root.join(p))).collect();
    assert_eq!(before, after);
}

#[test]
fn the_plan_as_json_names_each_target_and_masks() {
    let sb = Sandbox::new();
    let m = write(&sb.root, "providers.toml", &all_targets());
    let a = run(&sb, "plan", &m, &["--json"]).success();
    let doc: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    let targets = doc["targets"].as_array().unwrap();
    let mut tools: Vec<&str> = targets
        .iter()
        .map(|t| t["tool"].as_str().unwrap())
        .collect();
    tools.dedup();
    assert_eq!(tools.len(), 7, "{tools:?}");
    // Codex's profiles are files of their own beside config.toml.
    let profiles: Vec<&str> = targets
        .iter()
        .filter_map(|t| t["path"].as_str().filter(|p| p.ends_with(".config.toml")))
        .collect();
    assert_eq!(profiles.len(), 3, "{profiles:?}");
    let llm = targets.iter().find(|t| t["tool"] == "llm").unwrap();
    assert_eq!(llm["changes"][0]["action"], "create");
    assert!(
        llm["path"]
            .as_str()
            .unwrap()
            .ends_with("extra-openai-models.yaml")
    );
    assert!(
        llm["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("X-Secret-Token")),
        "{llm}"
    );
    // 7 targets' entries plus 4 providers.
    assert!(doc["summary"]["add"].as_u64().unwrap() > 4);
    assert!(!stdout(&a).contains("canary"));
}

const LITELLM_OWN: &str = "# my proxy\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\nmodel_list:\n- model_name: mine\n  litellm_params:\n    model: openai/gpt-4o\n    api_key: sk-user-own-literal\nlitellm_settings:\n  drop_params: true\n";

fn litellm_manifest(extra: &str) -> String {
    format!(
        "[providers.ollama]\npreset = \"ollama\"\ndefault_model = \"llama3.2\"\n{extra}\n[targets.litellm]\npath = \"proxy.yaml\"\n"
    )
}

#[test]
fn only_what_aix_wrote_is_touched_and_the_first_version_is_kept() {
    let sb = Sandbox::new();
    let file = write(&sb.root, "proxy.yaml", LITELLM_OWN);
    common_mode(&file, 0o640);
    let m = write(&sb.root, "providers.toml", &litellm_manifest(""));
    let a = run(&sb, "plan", &m, &[]).success();
    let out = flat(&stdout(&a));
    assert!(out.contains("Target litellm: ~/proxy.yaml"), "{out}");
    assert!(!out.contains("comments are not kept"), "{out}");
    run(&sb, "apply", &m, &[]).success();
    let text = read(&file);
    // Only aix's entry is new: the user's text, comments included, is
    // all still there, in order.
    assert!(text.starts_with("# my proxy\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\nmodel_list:\n- model_name: mine\n"), "{text}");
    assert!(
        text.ends_with("litellm_settings:\n  drop_params: true\n"),
        "{text}"
    );
    let doc: serde_json::Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(
        doc["general_settings"]["master_key"],
        "os.environ/LITELLM_MASTER_KEY"
    );
    assert_eq!(doc["litellm_settings"]["drop_params"], true);
    assert_eq!(doc["model_list"][0]["model_name"], "mine");
    assert_eq!(
        doc["model_list"][0]["litellm_params"]["api_key"],
        "sk-user-own-literal"
    );
    assert_eq!(doc["model_list"][1]["model_name"], "ollama/llama3.2");
    assert_eq!(mode(&file), 0o640, "permissions kept");
    let backup = sb.root.join("proxy.yaml.aix-backup");
    assert_eq!(read(&backup), LITELLM_OWN);
    // The user's own entry and its literal key are not shown by a plan.
    let m2 = write(
        &sb.root,
        "providers.toml",
        &litellm_manifest("[providers.b]\nbase_url = \"http://b/v1\"\ndefault_model = \"x\"\n"),
    );
    let out = flat(&stdout(&run(&sb, "plan", &m2, &[]).success()));
    assert!(
        !out.contains("sk-user-own-literal") && !out.contains("mine"),
        "{out}"
    );
    run(&sb, "apply", &m2, &[]).success();
    // The backup is of the first version only.
    assert_eq!(read(&backup), LITELLM_OWN);
    // Removing the target removes aix's entries, and only those.
    let m3 = write(
        &sb.root,
        "providers.toml",
        "[providers.ollama]\npreset = \"ollama\"\n",
    );
    let out = flat(&stdout(&run(&sb, "plan", &m3, &[]).success()));
    assert!(out.contains("(no longer in the manifest)"), "{out}");
    assert!(out.contains("- model_list/ollama/llama3.2"), "{out}");
    run(&sb, "apply", &m3, &["--yes"]).success();
    let doc: serde_json::Value = serde_norway::from_str(&read(&file)).unwrap();
    assert_eq!(doc["model_list"].as_array().unwrap().len(), 1, "{doc}");
    assert_eq!(doc["model_list"][0]["model_name"], "mine");
    let cfg = sb.config();
    assert!(
        cfg["aix_manifest"]
            .get("targets")
            .is_none_or(|t| t.as_object().unwrap().is_empty()),
        "{cfg}"
    );
}

#[test]
fn yaml_laid_out_another_way_is_rewritten_whole_and_the_plan_says_so() {
    let sb = Sandbox::new();
    let own = "# flow style\nmodel_list: [{model_name: mine, litellm_params: {model: openai/x}}]\n";
    let file = write(&sb.root, "proxy.yaml", own);
    let m = write(&sb.root, "providers.toml", &litellm_manifest(""));
    let out = flat(&stdout(&run(&sb, "plan", &m, &[]).success()));
    assert!(out.contains("its comments are not kept"), "{out}");
    assert!(out.contains("~/proxy.yaml.aix-backup"), "{out}");
    run(&sb, "apply", &m, &[]).success();
    let doc: serde_json::Value = serde_norway::from_str(&read(&file)).unwrap();
    assert_eq!(doc["model_list"][0]["model_name"], "mine");
    assert_eq!(doc["model_list"][1]["model_name"], "ollama/llama3.2");
    assert_eq!(read(&sb.root.join("proxy.yaml.aix-backup")), own);
}

fn common_mode(p: &Path, m: u32) {
    set_mode(p, m);
}

#[test]
fn drift_and_conflicts_need_force() {
    let sb = Sandbox::new();
    let m = write(&sb.root, "providers.toml", &litellm_manifest(""));
    // An entry of the same name that aix did not write: a conflict.
    let file = write(
        &sb.root,
        "proxy.yaml",
        "model_list:\n- model_name: ollama/llama3.2\n  litellm_params:\n    model: openai/other\n",
    );
    let out = flat(&stdout(&run(&sb, "plan", &m, &[]).success()));
    assert!(
        out.contains("not written by aix, and differs; --force takes it over"),
        "{out}"
    );
    let a = run(&sb, "apply", &m, &[]).failure();
    let err = stderr(&a);
    assert!(
        err.contains("'model_list/ollama/llama3.2' in ~/proxy.yaml"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert!(
        read(&file).contains("openai/other"),
        "refused: nothing written"
    );
    run(&sb, "apply", &m, &["--force"]).success();
    assert!(read(&file).contains("openai/llama3.2"));
    // Edited by hand since: drift.
    let edited = read(&file).replace("openai/llama3.2", "openai/hand-edit");
    std::fs::write(&file, &edited).unwrap();
    let out = flat(&stdout(
        &run(&sb, "plan", &m, &["--detailed-exitcode"]).code(2),
    ));
    assert!(
        out.contains("edited outside aix since the last apply"),
        "{out}"
    );
    assert!(
        out.contains("litellm_params.model: openai/hand-edit -> openai/llama3.2"),
        "{out}"
    );
    run(&sb, "apply", &m, &[]).failure();
    assert_eq!(read(&file), edited);
    run(&sb, "apply", &m, &["--force"]).success();
    run(&sb, "plan", &m, &["--detailed-exitcode"]).code(0);
    // Deleted by hand: written again.
    std::fs::write(&file, "model_list: []\n").unwrap();
    let out = flat(&stdout(&run(&sb, "plan", &m, &[]).success()));
    assert!(
        out.contains("deleted outside aix; will be written again"),
        "{out}"
    );
    run(&sb, "apply", &m, &[]).success();
    run(&sb, "plan", &m, &["--detailed-exitcode"]).code(0);
}

#[test]
fn an_equal_entry_is_adopted() {
    let sb = Sandbox::new();
    let m = write(&sb.root, "providers.toml", &litellm_manifest(""));
    let file = write(
        &sb.root,
        "proxy.yaml",
        "model_list:\n- model_name: ollama/llama3.2\n  litellm_params:\n    model: openai/llama3.2\n    api_base: http://localhost:11434/v1\n    api_key: none\n",
    );
    let before = read(&file);
    let out = flat(&stdout(&run(&sb, "plan", &m, &[]).success()));
    assert!(out.contains("= model_list/ollama/llama3.2"), "{out}");
    run(&sb, "apply", &m, &[]).success();
    assert_eq!(read(&file), before, "adopting writes nothing");
    let cfg = sb.config();
    let path = file.to_str().unwrap();
    assert!(
        cfg["aix_manifest"]["targets"][path]["entries"]["model_list/ollama/llama3.2"].is_object(),
        "{cfg}"
    );
    // Now owned: removing the provider removes its entry.
    let m2 = write(
        &sb.root,
        "providers.toml",
        "[providers.x]\nbase_url = \"http://x/v1\"\n[targets.litellm]\npath = \"proxy.yaml\"\n",
    );
    let out = flat(&stdout(&run(&sb, "plan", &m2, &[]).success()));
    assert!(out.contains("- model_list/ollama/llama3.2"), "{out}");
}

#[test]
fn codex_keeps_comments_and_the_users_tables() {
    let sb = Sandbox::new();
    let own = "# my codex\nmodel = \"o3\"  # the default\n\n[model_providers.mine]\nname = \"Mine\"\nbase_url = \"http://mine/v1\"\n\n[tools]\nweb_search = true\n";
    let file = write(&sb.root, ".codex/config.toml", own);
    let m = write(
        &sb.root,
        "providers.toml",
        "[providers.local]\nbase_url = \"http://127.0.0.1:8000/v1\"\napi_key_env = \"LOCAL_KEY\"\ndefault_model = \"qwen\"\nquery_params = { api-version = \"1\" }\n\n[targets.codex]\n",
    );
    run(&sb, "apply", &m, &[]).success();
    let kept = |text: &str| {
        for part in [
            "# my codex\nmodel = \"o3\"  # the default\n\n[model_providers.mine]\nname = \"Mine\"\nbase_url = \"http://mine/v1\"\n",
            "[tools]\nweb_search = true\n",
        ] {
            assert!(text.contains(part), "{text}");
        }
    };
    let text = read(&file);
    kept(&text);
    insta::assert_snapshot!("targets_codex_beside_user_tables", text);
    // The profile: `codex --profile local`.
    let profile = read(&sb.root.join(".codex/local.config.toml"));
    assert_eq!(profile, "model = \"qwen\"\nmodel_provider = \"local\"\n");
    // A change rewrites aix's table in place, comments elsewhere kept.
    let m = write(
        &sb.root,
        "providers.toml",
        "[providers.local]\nbase_url = \"http://127.0.0.1:9000/v1\"\napi_key_env = \"LOCAL_KEY\"\ndefault_model = \"qwen\"\n\n[targets.codex]\n",
    );
    let out = flat(&stdout(&run(&sb, "plan", &m, &[]).success()));
    assert!(out.contains("~ model_providers/local"), "{out}");
    assert!(
        out.contains("base_url: http://127.0.0.1:8000/v1 -> http://127.0.0.1:9000/v1"),
        "{out}"
    );
    assert!(out.contains("- query_params.api-version: 1"), "{out}");
    run(&sb, "apply", &m, &[]).success();
    let text = read(&file);
    kept(&text);
    assert!(text.contains("base_url = \"http://127.0.0.1:9000/v1\""));
    assert!(!text.contains("query_params"));
}

#[test]
fn targets_get_only_the_providers_they_name() {
    let sb = Sandbox::new();
    let m = write(
        &sb.root,
        "providers.toml",
        "[providers.a]\nbase_url = \"http://a/v1\"\ndefault_model = \"m\"\n[providers.b]\nbase_url = \"http://b/v1\"\ndefault_model = \"m\"\n\n[targets.llm]\nproviders = [\"b\"]\n",
    );
    run(&sb, "apply", &m, &[]).success();
    let text = read(
        &sb.root
            .join(".config/io.datasette.llm/extra-openai-models.yaml"),
    );
    assert!(
        text.contains("model_id: b/m") && !text.contains("a/m"),
        "{text}"
    );
}

#[test]
fn two_targets_of_one_tool_and_tool_env_variables() {
    let sb = Sandbox::new();
    let m = write(
        &sb.root,
        "providers.toml",
        "[providers.a]\nbase_url = \"http://a/v1\"\ndefault_model = \"m\"\n\n[targets.dev-proxy]\ntool = \"litellm\"\npath = \"dev.yaml\"\n\n[targets.prod-proxy]\ntool = \"litellm\"\npath = \"prod.yaml\"\n\n[targets.llm]\n",
    );
    let a = sb
        .aix()
        .env("LLM_USER_PATH", sb.root.join("llm-dir"))
        .args(["apply", "-f", m.to_str().unwrap()])
        .assert()
        .success();
    assert!(
        stdout(&a).contains("Target dev-proxy (litellm): ~/dev.yaml"),
        "{}",
        stdout(&a)
    );
    assert!(read(&sb.root.join("dev.yaml")).contains("a/m"));
    assert!(read(&sb.root.join("prod.yaml")).contains("a/m"));
    assert!(read(&sb.root.join("llm-dir/extra-openai-models.yaml")).contains("a/m"));
}

#[test]
fn bad_targets_are_refused_with_their_place() {
    let sb = Sandbox::new();
    // After the two lines of a provider table.
    let cases = [
        (
            "[targets.llmm]\n",
            "providers.toml:3:10: error: targets.llmm: `llmm` is not a tool aix writes (did you mean `llm`?)",
        ),
        (
            "[targets.x]\ntool = \"codexx\"\n",
            "providers.toml:4:8: error: targets.x: tool: unknown tool `codexx` (did you mean `codex`?)",
        ),
        (
            "[targets.litellm]\n",
            "providers.toml:3:10: error: targets.litellm: path: litellm has no usual config file",
        ),
        (
            "[targets.llm]\nproviders = [\"nope\"]\n",
            "providers.toml:4:13: error: targets.llm: providers: no manifest declares provider 'nope'",
        ),
        (
            "[targets.llm]\npaht = \"x\"\n",
            "providers.toml:4:1: error: targets.llm: unknown key `paht`",
        ),
        (
            "[targets.a]\ntool = \"llm\"\npath = \"f.yaml\"\n[targets.b]\ntool = \"aichat\"\npath = \"f.yaml\"\n",
            "error: targets.b: its file",
        ),
    ];
    let mut seen = Vec::new();
    for (text, want) in cases {
        let m = write(
            &sb.root,
            "providers.toml",
            &format!("[providers.a]\nbase_url = \"http://a/v1\"\n{text}"),
        );
        let a = run(&sb, "plan", &m, &[]).failure();
        let err = stderr(&a).replace(&format!("{}/", sb.root.display()), "");
        let first = err.lines().next().unwrap_or_default().to_string();
        assert!(err.contains(want), "{text:?}\nwant {want}\ngot {err}");
        seen.push(first);
    }
    insta::assert_snapshot!("targets_errors", seen.join("\n"));
}

#[test]
fn files_that_are_not_files_or_not_parseable_are_left_alone() {
    let sb = Sandbox::new();
    let m = write(&sb.root, "providers.toml", &litellm_manifest(""));
    let dir = sb.root.join("proxy.yaml");
    std::fs::create_dir_all(&dir).unwrap();
    let err = stderr(&run(&sb, "plan", &m, &[]).failure());
    assert!(
        err.contains("proxy.yaml") && err.contains("not a regular file"),
        "{err}"
    );
    std::fs::remove_dir(&dir).unwrap();
    let file = write(&sb.root, "proxy.yaml", "model_list: {a: 1}\n");
    let err = stderr(&run(&sb, "apply", &m, &[]).failure());
    assert!(err.contains("model_list is a mapping, not a list"), "{err}");
    assert_eq!(read(&file), "model_list: {a: 1}\n");
    let file = write(&sb.root, "proxy.yaml", "model_list: [\n");
    let err = stderr(&run(&sb, "apply", &m, &[]).failure());
    assert!(err.contains("not YAML aix can edit"), "{err}");
    assert_eq!(read(&file), "model_list: [\n");
    assert!(
        sb.config_bytes()
            .is_none_or(|b| !String::from_utf8_lossy(&b).contains("targets"))
    );
    #[cfg(unix)]
    {
        std::fs::remove_file(&file).unwrap();
        let fifo = sb.root.join("proxy.yaml");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let err = stderr(&run(&sb, "apply", &m, &[]).failure());
        assert!(err.contains("not a regular file"), "{err}");
    }
}

#[test]
fn a_symlinked_file_is_written_through_its_link() {
    let sb = Sandbox::new();
    let real = write(&sb.root, "dotfiles/proxy.yaml", "model_list: []\n");
    let link = sb.root.join("proxy.yaml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let m = write(&sb.root, "providers.toml", &litellm_manifest(""));
    let out = flat(&stdout(&run(&sb, "apply", &m, &[]).success()));
    assert!(
        out.contains("(a symlink: ~/dotfiles/proxy.yaml is written)"),
        "{out}"
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(read(&real).contains("ollama/llama3.2"));
}

#[test]
fn keys_are_written_as_each_tools_indirection() {
    let sb = Sandbox::new();
    let m = write(&sb.root, "providers.toml", &all_targets());
    sb.aix()
        .env("WORK_KEY", "sk-env-canary-value")
        .args(["apply", "-f", m.to_str().unwrap()])
        .assert()
        .success();
    let want = [
        ("llm", "api_key_name: WORK_KEY"),
        ("aichat", "name: work"),
        ("litellm", "api_key: os.environ/WORK_KEY"),
        ("codex", "env_key = \"WORK_KEY\""),
        ("opencode", "\"apiKey\": \"{env:WORK_KEY}\""),
        ("crush", "\"api_key\": \"$WORK_KEY\""),
        ("continue", "apiKey: ${{ secrets.WORK_KEY }}"),
    ];
    for ((tool, path), (t2, line)) in TOOLS.iter().zip(want) {
        assert_eq!(*tool, t2);
        let text = read(&sb.root.join(path));
        assert!(text.contains(line), "{tool}: {text}");
        assert!(!text.contains("sk-env-canary-value"), "{tool}");
    }
}

/// Drift, deletion and removal behave the same in every format: YAML
/// where the file is the list (llm), TOML (Codex, and its profile file),
/// JSON (opencode).
#[test]
fn ownership_works_alike_in_every_format() {
    let cases = [
        (
            "llm",
            ".config/io.datasette.llm/extra-openai-models.yaml",
            "work/m",
        ),
        ("codex", ".codex/config.toml", "model_providers/work"),
        (
            "opencode",
            ".config/opencode/opencode.json",
            "provider/work",
        ),
        ("continue", ".continue/config.yaml", "models/work/m"),
    ];
    for (tool, path, id) in cases {
        let sb = Sandbox::new();
        let text = |url: &str| {
            format!(
                "[providers.work]\nbase_url = \"{url}\"\nwire = \"responses\"\napi_key_env = \"WORK_KEY\"\ndefault_model = \"m\"\n\n[targets.{tool}]\n"
            )
        };
        let m = write(&sb.root, "providers.toml", &text("http://one.example/v1"));
        run(&sb, "apply", &m, &[]).success();
        let file = sb.root.join(path);
        // Someone edits aix's entry by hand: drift, shown and refused.
        let edited = read(&file).replace("http://one.example/v1", "http://by-hand.example/v1");
        std::fs::write(&file, &edited).unwrap();
        let out = flat(&stdout(
            &run(&sb, "plan", &m, &["--detailed-exitcode"]).code(2),
        ));
        assert!(out.contains(&format!("~ {id}")), "{tool}: {out}");
        assert!(out.contains("edited outside aix"), "{tool}: {out}");
        let err = stderr(&run(&sb, "apply", &m, &[]).failure());
        assert!(err.contains("--force"), "{tool}: {err}");
        assert_eq!(read(&file), edited, "{tool}: refused, so untouched");
        run(&sb, "apply", &m, &["--force"]).success();
        assert!(read(&file).contains("http://one.example/v1"), "{tool}");
        // The manifest changes: a plain update, no --force needed.
        let m = write(&sb.root, "providers.toml", &text("http://two.example/v1"));
        let out = flat(&stdout(&run(&sb, "plan", &m, &[]).success()));
        assert!(
            out.contains(&format!("~ {id}")) && !out.contains("edited outside"),
            "{tool}: {out}"
        );
        run(&sb, "apply", &m, &[]).success();
        assert!(read(&file).contains("http://two.example/v1"), "{tool}");
        run(&sb, "plan", &m, &["--detailed-exitcode"]).code(0);
        // The provider leaves: its entries go (with --yes), the file stays.
        let m = write(
            &sb.root,
            "providers.toml",
            &format!("[providers.other]\nbase_url = \"http://o/v1\"\n\n[targets.{tool}]\n"),
        );
        let out = flat(&stdout(&run(&sb, "plan", &m, &[]).success()));
        assert!(out.contains(&format!("- {id}")), "{tool}: {out}");
        run(&sb, "apply", &m, &[]).failure();
        run(&sb, "apply", &m, &["--yes"]).success();
        assert!(
            !read(&file).contains("two.example"),
            "{tool}: {}",
            read(&file)
        );
        if tool == "codex" {
            // aix made the profile file: emptied, it is removed.
            let profile = sb.root.join(".codex/work.config.toml");
            assert!(!profile.exists(), "the profile went too");
        }
        run(&sb, "plan", &m, &["--detailed-exitcode"]).code(0);
    }
}

#[test]
fn a_target_may_not_name_aixs_own_files() {
    let sb = Sandbox::new();
    for path in ["providers.toml", "aix-home/config.json"] {
        let m = write(
            &sb.root,
            "providers.toml",
            &format!(
                "[providers.a]\nbase_url = \"http://a/v1\"\ndefault_model = \"m\"\n\n[targets.litellm]\npath = \"{path}\"\n"
            ),
        );
        std::fs::create_dir_all(&sb.home).unwrap();
        let before = read(&m);
        let err = stderr(&run(&sb, "apply", &m, &[]).failure());
        assert!(err.contains("is aix's own"), "{path}: {err}");
        assert_eq!(read(&m), before);
    }
}

/// A provider of the Responses API: each tool that can speak it is told
/// to (LiteLLM through `openai/responses/`, as the real proxy needs to
/// send POST /responses), and the two that cannot say so.
#[test]
fn a_responses_provider_is_written_as_each_tool_speaks_it() {
    let sb = Sandbox::new();
    let mut m = "[providers.resp]\nbase_url = \"http://127.0.0.1:8000/v1\"\napi_key_env = \"RESP_KEY\"\nwire = \"responses\"\ndefault_model = \"r1\"\n".to_string();
    for (tool, _) in TOOLS {
        m.push_str(&format!("\n[targets.{tool}]\n"));
        if tool == "litellm" {
            m.push_str("path = \"~/litellm/config.yaml\"\n");
        }
    }
    let m = write(&sb.root, "providers.toml", &m);
    let plan = flat(&stdout(&run(&sb, "plan", &m, &[]).success()));
    assert!(
        plan.contains("providers.resp: aichat has no Responses API client"),
        "{plan}"
    );
    assert!(
        plan.contains("model r1: Continue speaks the Responses API only to api.openai.com"),
        "{plan}"
    );
    assert!(
        !plan.contains("Codex speaks only the Responses API"),
        "{plan}"
    );
    run(&sb, "apply", &m, &[]).success();
    let want = [
        ("llm", "responses: true"),
        ("aichat", "type: openai-compatible"),
        ("litellm", "model: openai/responses/r1"),
        ("codex", "env_key = \"RESP_KEY\""),
        ("opencode", "\"npm\": \"@ai-sdk/openai\""),
        ("crush", "\"type\": \"openai\""),
        ("continue", "provider: openai"),
    ];
    for ((tool, path), (t2, line)) in TOOLS.iter().zip(want) {
        assert_eq!(*tool, t2);
        let text = read(&sb.root.join(path));
        assert!(text.contains(line), "{tool}: {text}");
    }
}

/// aichat calls a client without a `name` by its `type`: aix's client of
/// that name is the same entry (a conflict to take over), never a second
/// one beside it.
#[test]
fn an_unnamed_aichat_client_is_known_by_its_type() {
    let sb = Sandbox::new();
    let file = write(
        &sb.root,
        ".config/aichat/config.yaml",
        "clients:\n- type: openai\n  api_key: sk-user-literal\n",
    );
    let m = write(
        &sb.root,
        "providers.toml",
        "[providers.openai]\nbase_url = \"https://api.openai.com/v1\"\napi_key_env = \"OPENAI_API_KEY\"\ndefault_model = \"gpt-4o\"\n\n[targets.aichat]\n",
    );
    let out = flat(&stdout(&run(&sb, "plan", &m, &[]).success()));
    assert!(out.contains("~ clients/openai"), "{out}");
    assert!(out.contains("not written by aix"), "{out}");
    assert!(!out.contains("sk-user-literal"), "{out}");
    run(&sb, "apply", &m, &["--force"]).success();
    let doc: serde_json::Value = serde_norway::from_str(&read(&file)).unwrap();
    let clients = doc["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 1, "{doc}");
    assert_eq!(clients[0]["name"], "openai");
}

/// A byte-order mark and CRLF line ends survive, in YAML and TOML, and so
/// do the comments after them.
#[test]
fn byte_order_marks_and_crlf_are_kept() {
    for (tool, path, own) in [
        (
            "litellm",
            "proxy.yaml",
            "\u{feff}# c1\r\nmodel_list:\r\n- model_name: mine\r\n  litellm_params: {model: openai/x}\r\n",
        ),
        (
            "codex",
            ".codex/config.toml",
            "\u{feff}# c1\r\nmodel = \"o3\"\r\n",
        ),
    ] {
        let sb = Sandbox::new();
        let file = write(&sb.root, path, own);
        let target = if tool == "litellm" {
            "[targets.litellm]\npath = \"proxy.yaml\"\n"
        } else {
            "[targets.codex]\n"
        };
        let m = write(
            &sb.root,
            "providers.toml",
            &format!(
                "[providers.w]\nbase_url = \"http://w/v1\"\nwire = \"responses\"\ndefault_model = \"m\"\n\n{target}"
            ),
        );
        let out = flat(&stdout(&run(&sb, "plan", &m, &[]).success()));
        assert!(!out.contains("comments are not kept"), "{tool}: {out}");
        run(&sb, "apply", &m, &[]).success();
        let text = read(&file);
        assert!(text.starts_with(own), "{tool}: {text:?}");
        assert!(text.len() > own.len(), "{tool}: {text:?}");
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "{tool}: every line ends in CRLF: {text:?}"
        );
        run(&sb, "plan", &m, &["--detailed-exitcode"]).code(0);
    }
}

/// `query_params` and `extra_body` go to the tools as aix sends them, and
/// the plan shows them as aix shows those fields (they are not secrets).
#[test]
fn query_params_and_extra_body_are_shown_as_aix_shows_them() {
    let sb = Sandbox::new();
    let m = write(
        &sb.root,
        "providers.toml",
        "[providers.g]\nbase_url = \"http://g/v1\"\nwire = \"responses\"\ndefault_model = \"m\"\nquery_params = { key-id = \"team-7\" }\nextra_body = { token_budget = \"low\" }\n\n[targets.codex]\n[targets.crush]\n",
    );
    let out = stdout(&run(&sb, "plan", &m, &[]).success());
    assert!(out.contains("query_params.key-id: team-7"), "{out}");
    assert!(out.contains("extra_body.token_budget: low"), "{out}");
    assert!(out.contains("+ key-id: team-7"), "{out}");
}

/// A file that cannot be written stops the apply before any target file
/// is replaced; a read-only file is not written over.
#[test]
fn one_unwritable_file_leaves_every_file_as_it_was() {
    let sb = Sandbox::new();
    let a = write(&sb.root, "a.yaml", "model_list: []\n");
    write(&sb.root, "blocker", "a file, not a folder\n");
    let m = write(
        &sb.root,
        "providers.toml",
        "[providers.w]\nbase_url = \"http://w/v1\"\ndefault_model = \"m\"\n\n[targets.a]\ntool = \"litellm\"\npath = \"a.yaml\"\n\n[targets.z]\ntool = \"litellm\"\npath = \"blocker/sub/z.yaml\"\n",
    );
    let err = stderr(&run(&sb, "apply", &m, &[]).failure());
    assert!(err.contains("blocker"), "{err}");
    assert_eq!(read(&a), "model_list: []\n", "nothing replaced");
    assert!(
        sb.config_bytes()
            .is_none_or(|b| !String::from_utf8_lossy(&b).contains("\"targets\""))
    );
    let leftovers: Vec<_> = std::fs::read_dir(&sb.root)
        .unwrap()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with('.') && n.ends_with(".tmp")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Read-only: refused at plan time, with the way to allow it.
    let m = write(
        &sb.root,
        "providers.toml",
        "[providers.w]\nbase_url = \"http://w/v1\"\ndefault_model = \"m\"\n\n[targets.litellm]\npath = \"a.yaml\"\n",
    );
    set_mode(&a, 0o444);
    let err = stderr(&run(&sb, "plan", &m, &[]).failure());
    assert!(
        err.contains("read-only") && err.contains("chmod u+w"),
        "{err}"
    );
    run(&sb, "apply", &m, &[]).failure();
    assert_eq!(read(&a), "model_list: []\n");
    set_mode(&a, 0o644);
    run(&sb, "apply", &m, &[]).success();
    assert!(read(&a).contains("w/m"));
}

#[test]
fn codex_profile_names_take_only_what_codex_allows() {
    let sb = Sandbox::new();
    let m = write(
        &sb.root,
        "providers.toml",
        "[providers.\"openrouter.ai\"]\nbase_url = \"https://openrouter.ai/api/v1\"\nwire = \"responses\"\napi_key_env = \"OPENROUTER_API_KEY\"\ndefault_model = \"m\"\n\n[targets.codex]\n",
    );
    let out = flat(&stdout(&run(&sb, "plan", &m, &[]).success()));
    assert!(
        out.contains("its profile is `openrouter-ai` (codex --profile openrouter-ai)"),
        "{out}"
    );
    run(&sb, "apply", &m, &[]).success();
    let profile = read(&sb.root.join(".codex/openrouter-ai.config.toml"));
    assert_eq!(
        profile,
        "model = \"m\"\nmodel_provider = \"openrouter.ai\"\n"
    );
}

/// A dotfiles manager may link a tool's file before the file exists: the
/// file is made where the link points, and the link stays.
#[test]
fn a_link_to_a_file_not_made_yet_is_followed() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.root.join("dotfiles")).unwrap();
    let link = sb.root.join("proxy.yaml");
    std::os::unix::fs::symlink("dotfiles/proxy.yaml", &link).unwrap();
    let m = write(&sb.root, "providers.toml", &litellm_manifest(""));
    let out = stdout(&run(&sb, "apply", &m, &[]).success());
    assert!(
        out.contains("(a symlink: ~/dotfiles/proxy.yaml is written)"),
        "{out}"
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(read(&sb.root.join("dotfiles/proxy.yaml")).contains("ollama/llama3.2"));
    run(&sb, "plan", &m, &["--detailed-exitcode"]).code(0);
    // A loop is refused.
    let sb = Sandbox::new();
    std::os::unix::fs::symlink("proxy.yaml", sb.root.join("proxy.yaml")).unwrap();
    let m = write(&sb.root, "providers.toml", &litellm_manifest(""));
    let err = stderr(&run(&sb, "plan", &m, &[]).failure());
    assert!(err.contains("cannot follow the symlink"), "{err}");
}

#[test]
fn a_provider_without_a_model_is_said_not_guessed() {
    let sb = Sandbox::new();
    let m = write(
        &sb.root,
        "providers.toml",
        "[providers.bare]\nbase_url = \"http://b/v1\"\n\n[targets.llm]\n[targets.opencode]\n",
    );
    let out = flat(&stdout(&run(&sb, "plan", &m, &[]).success()));
    assert!(out.contains("providers.bare: no model to offer (set default_model or a models table); nothing written"), "{out}");
    assert!(out.contains("providers.bare: no model to offer (set default_model or a models table); opencode lists none for it"), "{out}");
    run(&sb, "apply", &m, &[]).success();
    assert!(
        !sb.root
            .join(".config/io.datasette.llm/extra-openai-models.yaml")
            .exists()
    );
    let oc: serde_json::Value =
        serde_json::from_str(&read(&sb.root.join(".config/opencode/opencode.json"))).unwrap();
    assert_eq!(oc["provider"]["bare"]["models"], serde_json::json!({}));
}
