//! The config files `aix apply` writes for other tools (`[targets.TOOL]`),
//! read by the real tools: llm, aichat, Codex, opencode, Continue and the
//! LiteLLM proxy, each pinned and installed by `bench/peer_tools.sh` /
//! `bench/peer_litellm.sh`, which export the executable as
//! `AIX_TOOL_<NAME>`. The server is `bench/mock_openai.py` (`start_mock`),
//! which answers "pong from mock" and logs every request as a JSON line
//! (`AIX_TEST_MOCK_URL`, `AIX_TEST_MOCK_LOG`).
//!
//! Each test: a sandbox (HOME and AIX_HOME in a temp folder, the tool's own
//! config variable pointed into it), a manifest whose provider is the mock
//! with `api_key = "${env:VAR}"` and a plain header carrying a tag unique
//! to the run, the target, `aix apply` (with VAR set to a canary key, which
//! aix must not write), then the tool's own one-shot command with VAR set.
//! It proves that the answer came back through the tool, that the mock saw
//! the canary as the key and the tag as the header (the requests are told
//! apart by the model id, unique per run, so tests can run side by side on
//! one mock), and that the canary is in no file aix wrote.
//!
//! As the other peer tests, these are ignored by a plain `cargo test`;
//! asked for with `-- --ignored`, a missing tool, variable or mock is a
//! failure, never a skip. Every run of a tool has a time limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

/// Why these tests are not run by default.
const NEEDS: &str = "needs the real tools and the mock: bash .ci/run installs and starts them (bench/peer_tools.sh), or export AIX_TOOL_* and AIX_TEST_MOCK_* and pass -- --ignored";

/// What the mock answers, whatever it is asked.
const ANSWER: &str = "pong from mock";

/// No run of a tool should take long; one that hangs is killed and fails
/// here instead of holding CI.
const LIMIT: Duration = Duration::from_secs(120);

/// How long the LiteLLM proxy may take to answer after it was started
/// (about 13 s on the 2-core dev machine).
const PROXY_START: Duration = Duration::from_secs(150);

#[derive(Clone)]
struct Mock {
    /// Its base URL, with `/v1`.
    url: String,
    /// Its request log (a JSON line per request).
    log: PathBuf,
}

/// The mock from `url` and `log` (AIX_TEST_MOCK_URL, AIX_TEST_MOCK_LOG),
/// checked to answer `GET /models`.
fn mock(url: Option<String>, log: Option<String>) -> Result<Mock, String> {
    let url = url.filter(|u| !u.is_empty()).ok_or_else(|| {
        "AIX_TEST_MOCK_URL is not set: these tests need bench/mock_openai.py (start_mock in bench/peer_tools.sh starts it; bash .ci/run does)".to_string()
    })?;
    let log = log.filter(|l| !l.is_empty()).ok_or_else(|| {
        "AIX_TEST_MOCK_LOG is not set: it is the mock's request log (start_mock in bench/peer_tools.sh exports it)".to_string()
    })?;
    let url = url.trim_end_matches('/').to_string();
    ureq::get(&format!("{url}/models"))
        .call()
        .map_err(|e| format!("the mock at {url} did not answer: {e}"))?;
    Ok(Mock {
        url,
        log: PathBuf::from(log),
    })
}

/// The executable named by the variable `var` (its value `value`).
fn tool_path(var: &str, value: Option<String>) -> Result<PathBuf, String> {
    let path = value.filter(|v| !v.is_empty()).ok_or_else(|| {
        format!("{var} is not set: it names the tool's executable (bench/peer_tools.sh's install functions, or install_litellm in bench/peer_litellm.sh, export it; bash .ci/run does)")
    })?;
    let path = PathBuf::from(path);
    if !path.is_file() {
        return Err(format!(
            "{var}={} is not a file: install the tool again (bench/peer_tools.sh)",
            path.display()
        ));
    }
    Ok(path)
}

fn tool(var: &str) -> PathBuf {
    tool_path(var, std::env::var(var).ok()).unwrap_or_else(|e| panic!("{e}"))
}

/// A tag unique to this test run: the model id the mock is sent, and the
/// value of the `X-Aix-Test` header.
fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{name}-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000_000
    )
}

/// 16 random bytes as hex.
fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a tool printed.
struct Ran {
    stdout: String,
    stderr: String,
}

/// A process group started by a test, killed (the whole group, so an npm
/// wrapper's native child goes too) when dropped.
struct Group(std::process::Child);

impl Group {
    fn kill(&mut self) {
        let pgid = self.0.id();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `exe args...` in `cwd` with only PATH, HOME and `env` set, stdin empty,
/// its output in files (so a lingering child cannot hold a pipe open),
/// killed after [`LIMIT`]. Panics, showing the output, unless it exits 0.
fn run_tool(exe: &Path, args: &[&str], home: &Path, env: &[(&str, String)], cwd: &Path) -> Ran {
    use std::os::unix::process::CommandExt;
    let outdir = tempfile::tempdir().unwrap();
    let (out, err) = (outdir.path().join("out"), outdir.path().join("err"));
    let mut cmd = Command::new(exe);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .process_group(0);
    let shown = format!("{} {}", exe.display(), args.join(" "));
    let mut group = Group(
        cmd.spawn()
            .unwrap_or_else(|e| panic!("could not start {shown}: {e}")),
    );
    let start = Instant::now();
    let status = loop {
        if let Some(s) = group.0.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Whatever the tool left behind in its group goes now.
    group.kill();
    let ran = Ran {
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
    };
    match status {
        None => panic!(
            "{shown} did not finish within {LIMIT:?}\nstdout:\n{}\nstderr:\n{}",
            ran.stdout, ran.stderr
        ),
        Some(s) if !s.success() => panic!(
            "{shown} failed ({s})\nstdout:\n{}\nstderr:\n{}",
            ran.stdout, ran.stderr
        ),
        Some(_) => ran,
    }
}

/// One test's sandbox and the names it uses.
struct Case {
    sb: Sandbox,
    mock: Mock,
    /// The model id (and the `X-Aix-Test` header's value), unique per run.
    model: String,
    /// The key the tool is given, which aix must never write.
    canary: String,
}

fn case(name: &str) -> Case {
    let mock = mock(
        std::env::var("AIX_TEST_MOCK_URL").ok(),
        std::env::var("AIX_TEST_MOCK_LOG").ok(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let model = unique(name);
    Case {
        sb: Sandbox::new(),
        mock,
        canary: format!("sk-canary-{}", random_hex()),
        model,
    }
}

impl Case {
    /// A provider `name` at the mock whose key is `${env:var}`, the run's
    /// model and tag header, speaking `wire`.
    fn provider(&self, name: &str, var: &str, wire: &str) -> String {
        format!(
            "[providers.{name}]\nbase_url = \"{}\"\napi_key = \"${{env:{var}}}\"\ndefault_model = \"{}\"\nwire = \"{wire}\"\nheaders = {{ X-Aix-Test = \"{}\" }}\n",
            self.mock.url, self.model, self.model
        )
    }

    /// Writes `manifest` as providers.toml in the sandbox and runs `aix
    /// apply` with `env` (the key's variable set to the canary, so aix
    /// could write it if it were careless). Returns what apply printed.
    fn apply(&self, manifest: &str, env: &[(&str, String)]) -> String {
        let path = self.sb.root.join("providers.toml");
        std::fs::write(&path, manifest).unwrap();
        let a = self
            .sb
            .aix()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .timeout(LIMIT)
            .args(["apply", "-f", path.to_str().unwrap()])
            .write_stdin("")
            .assert()
            .success();
        let (out, err) = (stdout(&a), stderr(&a));
        assert!(err.contains("Apply complete"), "{out}\n{err}");
        assert!(!out.contains(&self.canary) && !err.contains(&self.canary));
        let config = String::from_utf8(self.sb.config_bytes().unwrap()).unwrap();
        assert!(!config.contains(&self.canary), "{config}");
        // The plan's prose is wrapped: checks read it as one line.
        flat(&out)
    }

    /// `path` was written by aix, names `var` (the key is a reference) and
    /// holds no canary.
    fn written(&self, path: &Path, var: Option<&str>) -> String {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(text.contains(&self.model), "{}:\n{text}", path.display());
        assert!(
            !text.contains(&self.canary),
            "{} holds the key:\n{text}",
            path.display()
        );
        if let Some(var) = var {
            assert!(text.contains(var), "{}:\n{text}", path.display());
        }
        text
    }

    /// The mock's requests for this run's model.
    fn requests(&self) -> Vec<Value> {
        let log = std::fs::read_to_string(&self.mock.log)
            .unwrap_or_else(|e| panic!("the mock's log {}: {e}", self.mock.log.display()));
        log.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|r| r["body"]["model"].as_str() == Some(self.model.as_str()))
            .collect()
    }

    /// The answer came back through the tool, and each request the mock
    /// got for this run (at least one, on `path`) carried the canary in
    /// `Authorization: Bearer` and the tag header.
    fn proves(&self, answer: &str, path: &str) {
        assert!(answer.contains(ANSWER), "the tool answered:\n{answer}");
        let requests = self.requests();
        assert!(
            !requests.is_empty(),
            "the mock got no request for model {}",
            self.model
        );
        for r in &requests {
            let seen = format!("{} {} {}", r["method"], r["path"], r["headers"]);
            let header = |name: &str| {
                r["headers"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| v.as_str())
                    .map(String::from)
            };
            assert_eq!(
                header("authorization"),
                Some(format!("Bearer {}", self.canary)),
                "{seen}"
            );
            assert_eq!(
                header("x-aix-test").as_deref(),
                Some(self.model.as_str()),
                "{seen}"
            );
            assert!(
                r["path"].as_str().unwrap().ends_with(path),
                "{path} expected: {seen}"
            );
        }
    }
}

/// A LiteLLM proxy started on `config` with a generated master key and
/// `env`, in its own process group (stopped when dropped).
struct Proxy {
    url: String,
    key: String,
    log: PathBuf,
    _group: Group,
}

fn start_proxy(sb: &Sandbox, config: &Path, env: &[(&str, String)]) -> Proxy {
    use std::os::unix::process::CommandExt;
    let exe = tool("AIX_TOOL_LITELLM");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let key = format!("sk-aix-{}", random_hex());
    let log = sb.root.join("litellm.log");
    let port_s = port.to_string();
    let mut cmd = Command::new(&exe);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &sb.root)
        .env("LITELLM_MASTER_KEY", &key)
        // The bundled cost map, not a download at start.
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["--config", config.to_str().unwrap()])
        .args(["--host", "127.0.0.1", "--port", &port_s])
        .current_dir(&sb.root)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(sb.root.join("litellm.err")).unwrap())
        .process_group(0);
    let mut group = Group(
        cmd.spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", exe.display())),
    );
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    let shown = || {
        format!(
            "{}{}",
            std::fs::read_to_string(&log).unwrap_or_default(),
            std::fs::read_to_string(sb.root.join("litellm.err")).unwrap_or_default()
        )
    };
    loop {
        let up = ureq::get(&format!("{url}/v1/models"))
            .header("authorization", &format!("Bearer {key}"))
            .config()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .call();
        if up.is_ok() {
            break;
        }
        if let Some(s) = group.0.try_wait().unwrap() {
            panic!(
                "the LiteLLM proxy exited ({s}) before it answered; its output:\n{}",
                shown()
            );
        }
        if start.elapsed() > PROXY_START {
            panic!(
                "the LiteLLM proxy did not answer within {PROXY_START:?}; its output:\n{}",
                shown()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Proxy {
        url,
        key,
        log,
        _group: group,
    }
}

impl Proxy {
    /// `POST /v1/chat/completions` for `model` with the master key: the
    /// answer's text.
    fn ask(&self, model: &str) -> String {
        let body = serde_json::json!({
            "model": model,
            "messages": [{"role": "user", "content": "hi"}],
        });
        let mut resp = ureq::post(&format!("{}/v1/chat/completions", self.url))
            .header("authorization", &format!("Bearer {}", self.key))
            .header("content-type", "application/json")
            .config()
            .timeout_global(Some(LIMIT))
            .build()
            .send(body.to_string())
            .unwrap_or_else(|e| {
                panic!(
                    "the proxy did not answer for {model}: {e}\nits log:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                )
            });
        let text = resp.body_mut().read_to_string().unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        doc["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or_else(|| panic!("no answer: {text}"))
            .to_string()
    }
}

/// What the test writes into LiteLLM's file before aix does: the proxy's
/// own settings, which aix (owning only `model_list`) must keep.
const LITELLM_OWN: &str = "general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n";

/// `llm keys set VAR --value CANARY` (llm reads keys from its own store,
/// as the plan's note says), then `llm -m MODEL hi`.
fn ask_llm(c: &Case, var: &str, model: &str, env: &[(&str, String)]) -> String {
    let llm = tool("AIX_TOOL_LLM");
    run_tool(
        &llm,
        &["keys", "set", var, "--value", &c.canary],
        &c.sb.root,
        env,
        &c.sb.root,
    );
    run_tool(&llm, &["-m", model, "hi"], &c.sb.root, env, &c.sb.root).stdout
}

#[test]
#[ignore = "needs the real tools and the mock: bash .ci/run installs and starts them (bench/peer_tools.sh), or export AIX_TOOL_* and AIX_TEST_MOCK_* and pass -- --ignored"]
fn peer_tools_llm() {
    let c = case("llm");
    let dir = c.sb.root.join("llm-user");
    let var = "PEER_LLM_KEY";
    let manifest = format!("{}\n[targets.llm]\n", c.provider("peer", var, "chat"));
    let out = c.apply(
        &manifest,
        &[
            ("LLM_USER_PATH", dir.display().to_string()),
            (var, c.canary.clone()),
        ],
    );
    assert!(out.contains("llm keys set PEER_LLM_KEY"), "{out}");
    c.written(&dir.join("extra-openai-models.yaml"), Some(var));
    let env = [("LLM_USER_PATH", dir.display().to_string())];
    let answer = ask_llm(&c, var, &format!("peer/{}", c.model), &env);
    c.proves(&answer, "/v1/chat/completions");
}

#[test]
#[ignore = "needs the real tools and the mock: bash .ci/run installs and starts them (bench/peer_tools.sh), or export AIX_TOOL_* and AIX_TEST_MOCK_* and pass -- --ignored"]
fn peer_tools_aichat() {
    let c = case("aichat");
    let dir = c.sb.root.join("aichat-config");
    // aichat reads client NAME's key from NAME_API_KEY, upper-cased.
    let var = "PEER_API_KEY";
    let manifest = format!("{}\n[targets.aichat]\n", c.provider("peer", var, "chat"));
    let env = [
        ("AICHAT_CONFIG_DIR", dir.display().to_string()),
        (var, c.canary.clone()),
    ];
    let out = c.apply(&manifest, &env);
    assert!(!out.contains("aichat reads this client's key"), "{out}");
    c.written(&dir.join("config.yaml"), None);
    let aichat = tool("AIX_TOOL_AICHAT");
    let model = format!("peer:{}", c.model);
    let ran = run_tool(&aichat, &["-m", &model, "hi"], &c.sb.root, &env, &c.sb.root);
    c.proves(&ran.stdout, "/v1/chat/completions");
}

#[test]
#[ignore = "needs the real tools and the mock: bash .ci/run installs and starts them (bench/peer_tools.sh), or export AIX_TOOL_* and AIX_TEST_MOCK_* and pass -- --ignored"]
fn peer_tools_codex() {
    let c = case("codex");
    let dir = c.sb.root.join("codex-home");
    let var = "PEER_CODEX_KEY";
    // Codex speaks only the Responses API.
    let manifest = format!(
        "{}\n[targets.codex]\n",
        c.provider("peer", var, "responses")
    );
    let env = [
        ("CODEX_HOME", dir.display().to_string()),
        (var, c.canary.clone()),
    ];
    let out = c.apply(&manifest, &env);
    assert!(
        !out.contains("Codex speaks only the Responses API"),
        "{out}"
    );
    c.written(&dir.join("config.toml"), Some(var));
    c.written(&dir.join("peer.config.toml"), None);
    let codex = tool("AIX_TOOL_CODEX");
    let ran = run_tool(
        &codex,
        &["exec", "--skip-git-repo-check", "--profile", "peer", "hi"],
        &c.sb.root,
        &env,
        &c.sb.root,
    );
    c.proves(&ran.stdout, "/v1/responses");
}

#[test]
#[ignore = "needs the real tools and the mock: bash .ci/run installs and starts them (bench/peer_tools.sh), or export AIX_TOOL_* and AIX_TEST_MOCK_* and pass -- --ignored"]
fn peer_tools_opencode() {
    let c = case("opencode");
    let var = "PEER_OPENCODE_KEY";
    let manifest = format!("{}\n[targets.opencode]\n", c.provider("peer", var, "chat"));
    let xdg = |d: &str| c.sb.root.join(d).display().to_string();
    let env = [
        ("XDG_CONFIG_HOME", xdg("xdg-config")),
        ("XDG_DATA_HOME", xdg("xdg-data")),
        ("XDG_STATE_HOME", xdg("xdg-state")),
        ("XDG_CACHE_HOME", xdg("xdg-cache")),
        (var, c.canary.clone()),
    ];
    c.apply(&manifest, &env);
    c.written(
        &c.sb.root.join("xdg-config/opencode/opencode.json"),
        Some(var),
    );
    let opencode = tool("AIX_TOOL_OPENCODE");
    let model = format!("peer/{}", c.model);
    // In the sandbox: opencode also reads an opencode.json found above
    // the folder it runs in.
    let ran = run_tool(
        &opencode,
        &["run", "-m", &model, "hi"],
        &c.sb.root,
        &env,
        &c.sb.root,
    );
    c.proves(&ran.stdout, "/v1/chat/completions");
}

#[test]
#[ignore = "needs the real tools and the mock: bash .ci/run installs and starts them (bench/peer_tools.sh), or export AIX_TOOL_* and AIX_TEST_MOCK_* and pass -- --ignored"]
fn peer_tools_continue() {
    let c = case("continue");
    let var = "PEER_CONTINUE_KEY";
    let manifest = format!("{}\n[targets.continue]\n", c.provider("peer", var, "chat"));
    let env = [(var, c.canary.clone())];
    c.apply(&manifest, &env);
    let file = c.sb.root.join(".continue/config.yaml");
    c.written(&file, Some(var));
    let cn = tool("AIX_TOOL_CONTINUE");
    let ran = run_tool(
        &cn,
        &["-p", "hi", "--config", file.to_str().unwrap()],
        &c.sb.root,
        &env,
        &c.sb.root,
    );
    c.proves(&ran.stdout, "/v1/chat/completions");
}

#[test]
#[ignore = "needs the real tools and the mock: bash .ci/run installs and starts them (bench/peer_tools.sh), or export AIX_TOOL_* and AIX_TEST_MOCK_* and pass -- --ignored"]
fn peer_tools_litellm() {
    let c = case("litellm");
    let var = "PEER_LITELLM_KEY";
    let file = c.sb.root.join("litellm/config.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, LITELLM_OWN).unwrap();
    let manifest = format!(
        "{}\n[targets.litellm]\npath = \"litellm/config.yaml\"\n",
        c.provider("peer", var, "responses")
    );
    let env = [(var, c.canary.clone())];
    c.apply(&manifest, &env);
    let text = c.written(&file, Some(var));
    let doc: Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(
        doc["general_settings"]["master_key"], "os.environ/LITELLM_MASTER_KEY",
        "{text}"
    );
    assert!(text.contains("openai/responses/"), "{text}");
    let proxy = start_proxy(&c.sb, &file, &env);
    // Asked for a chat completion, the proxy speaks the provider's wire,
    // the Responses API (the test of both targets below covers chat).
    let answer = proxy.ask(&format!("peer/{}", c.model));
    c.proves(&answer, "/v1/responses");
    assert!(!answer.contains(&c.canary));
}

/// The "done when" of targets: one manifest, two targets, one apply, and
/// both tools answer through the same provider.
#[test]
#[ignore = "needs the real tools and the mock: bash .ci/run installs and starts them (bench/peer_tools.sh), or export AIX_TOOL_* and AIX_TEST_MOCK_* and pass -- --ignored"]
fn peer_tools_llm_and_litellm_from_one_apply() {
    let c = case("both");
    let var = "WORK_KEY";
    let dir = c.sb.root.join("llm-user");
    let file = c.sb.root.join("litellm/config.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, LITELLM_OWN).unwrap();
    let manifest = format!(
        "{}\n[targets.llm]\n\n[targets.litellm]\npath = \"~/litellm/config.yaml\"\nproviders = [\"work\"]\n",
        c.provider("work", var, "chat")
    );
    let llm_env = [("LLM_USER_PATH", dir.display().to_string())];
    c.apply(&manifest, &[llm_env[0].clone(), (var, c.canary.clone())]);
    c.written(&dir.join("extra-openai-models.yaml"), Some(var));
    c.written(&file, Some(var));
    let name = format!("work/{}", c.model);
    let answer = ask_llm(&c, var, &name, &llm_env);
    c.proves(&answer, "/v1/chat/completions");
    let before = c.requests().len();
    let proxy = start_proxy(&c.sb, &file, &[(var, c.canary.clone())]);
    let answer = proxy.ask(&name);
    c.proves(&answer, "/v1/chat/completions");
    assert!(c.requests().len() > before, "the proxy's request is logged");
}

#[test]
fn a_missing_tool_or_mock_is_an_error_not_a_skip() {
    let e = mock(None, Some("log".into())).err().unwrap();
    assert!(e.contains("AIX_TEST_MOCK_URL is not set"), "{e}");
    let e = mock(Some("http://127.0.0.1:1/v1".into()), None)
        .err()
        .unwrap();
    assert!(e.contains("AIX_TEST_MOCK_LOG is not set"), "{e}");
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = mock(
        Some(format!("http://127.0.0.1:{port}/v1")),
        Some("log".into()),
    )
    .err()
    .unwrap();
    assert!(e.contains("did not answer"), "{e}");
    let e = tool_path("AIX_TOOL_LLM", None).unwrap_err();
    assert!(e.contains("AIX_TOOL_LLM is not set"), "{e}");
    let e = tool_path("AIX_TOOL_LLM", Some("/nonexistent/llm".into())).unwrap_err();
    assert!(e.contains("is not a file"), "{e}");
    assert!(NEEDS.contains("--ignored"));
}

#[test]
fn every_peer_tools_test_is_ignored_with_the_reason() {
    let source = include_str!("peer_tools.rs");
    let tests = source.matches("\nfn peer_tools_").count();
    let marked = source
        .matches(&format!("#[ignore = \"{NEEDS}\"]\nfn peer_tools_"))
        .count();
    assert!(tests >= 7, "{tests}");
    assert_eq!(tests, marked);
}
