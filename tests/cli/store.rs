//! config.json on disk: parse errors, modes, atomicity, locking, concurrency.

use std::process::{Command as Proc, Stdio};

use predicates::prelude::*;

use crate::common::*;

#[test]
fn unparsable_config_is_reported_and_never_overwritten() {
    let sb = Sandbox::new();
    let broken = "{\n  \"custom_providers\": {\n    \"a\": {\"base_url\": \"http://a\",}\n  }\n}\n";
    sb.write_config(broken);
    let path = sb.config_path().display().to_string();
    for args in [
        &["provider", "add", "b", "http://b"][..],
        &["provider", "list"],
        &["config", "set", "x", "1"],
        &["provider", "remove", "a"],
    ] {
        sb.aix()
            .args(args)
            .write_stdin("")
            .assert()
            .code(1)
            .stderr(predicate::str::contains(format!("error: {path}:3:")))
            .stderr(predicate::str::contains("invalid JSON"))
            .stderr(predicate::str::contains("never overwrites"));
        assert_eq!(sb.config_bytes().unwrap(), broken.as_bytes());
    }
    sb.write_config("[1, 2]");
    sb.run(&["provider", "add", "b", "http://b"])
        .code(1)
        .stderr(predicate::str::contains(
            "must be a JSON object, not an array",
        ));
    assert_eq!(sb.config_bytes().unwrap(), b"[1, 2]");
    sb.write_config("\u{feff}garbage\u{0}");
    sb.run(&["provider", "list"]).code(1);
}

#[test]
fn non_utf8_config_is_an_error_not_a_rewrite() {
    let sb = Sandbox::new();
    sb.write_config("");
    std::fs::write(sb.config_path(), b"{\"a\": \"\xff\xfe\"}").unwrap();
    sb.run(&["provider", "add", "b", "http://b"])
        .code(1)
        .stderr(predicate::str::contains(":1:"));
    assert_eq!(sb.config_bytes().unwrap(), b"{\"a\": \"\xff\xfe\"}");
}

#[test]
fn missing_or_blank_config_is_empty() {
    let sb = Sandbox::new();
    sb.run(&["provider", "list", "--json"])
        .success()
        .stdout("[]\n");
    assert!(!sb.home.exists(), "reading does not create the home");
    sb.write_config("\n");
    sb.run(&["provider", "add", "a", "http://a"]).success();
    assert_eq!(sb.config()["custom_providers"]["a"]["base_url"], "http://a");
}

#[test]
fn modes_are_created_tight_and_fixed_once() {
    let sb = Sandbox::new();
    sb.run(&["provider", "add", "a", "http://a"]).success();
    assert_eq!(mode(&sb.home), 0o700);
    assert_eq!(mode(&sb.config_path()), 0o600);

    set_mode(&sb.config_path(), 0o644);
    set_mode(&sb.home, 0o755);
    let a = sb.run(&["provider", "add", "b", "http://b"]).success();
    let err = stderr(&a);
    assert!(
        err.contains("tightened permissions") && err.contains("from 644 to 600"),
        "{err}"
    );
    assert!(err.contains("from 755 to 700"), "{err}");
    assert_eq!(mode(&sb.config_path()), 0o600);
    assert_eq!(mode(&sb.home), 0o700);
    let again = sb.run(&["provider", "add", "c", "http://c"]).success();
    assert!(!stderr(&again).contains("tightened"), "said once only");
}

#[test]
fn reads_do_not_rewrite() {
    let sb = Sandbox::new();
    sb.write_config(FOREIGN);
    for args in [
        &["provider", "list"][..],
        &["provider", "info", "keep"],
        &["config", "list"],
        &["config", "get", "alpha"],
        &["provider", "list", "--all", "--json"],
    ] {
        sb.run(args).success();
    }
    assert_eq!(sb.config_bytes().unwrap(), FOREIGN.as_bytes());
}

#[test]
fn symlinked_config_is_refused_for_writes() {
    let sb = Sandbox::new();
    sb.write_config("");
    let real = sb.root.join("real.json");
    std::fs::write(&real, FOREIGN).unwrap();
    std::fs::remove_file(sb.config_path()).unwrap();
    std::os::unix::fs::symlink(&real, sb.config_path()).unwrap();
    sb.run(&["provider", "info", "keep"]).success();
    sb.run(&["provider", "add", "b", "http://b"])
        .code(1)
        .stderr(predicate::str::contains("is a symbolic link"));
    assert!(
        std::fs::symlink_metadata(sb.config_path())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&real).unwrap(), FOREIGN.as_bytes());
}

#[test]
fn held_lock_times_out_with_the_lock_path() {
    let sb = Sandbox::new();
    sb.write_config(FOREIGN);
    let lock_path = sb.home.join("config.json.lock");
    let lock = std::fs::File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    let started = std::time::Instant::now();
    sb.aix()
        .env("AIX_LOCK_TIMEOUT_MS", "300")
        .args(["provider", "add", "b", "http://b"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "waiting for the lock on {}",
            lock_path.display()
        )));
    assert!(started.elapsed().as_millis() >= 300);
    assert_eq!(sb.config_bytes().unwrap(), FOREIGN.as_bytes());
    drop(lock);
    sb.run(&["provider", "add", "b", "http://b"]).success();
}

#[test]
fn forty_parallel_adds_all_land() {
    let sb = Sandbox::new();
    sb.write_config(FOREIGN);
    let children: Vec<_> = (0..40)
        .map(|i| {
            Proc::new(BIN)
                .env("AIX_HOME", &sb.home)
                .env("NO_COLOR", "1")
                .args([
                    "provider",
                    "add",
                    &format!("p{i:02}"),
                    &format!("http://h{i}.local/v1"),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let cfg = sb.config();
    let providers = cfg["custom_providers"].as_object().unwrap();
    assert_eq!(
        providers.len(),
        41,
        "every add landed, plus the existing one"
    );
    for i in 0..40 {
        assert_eq!(
            providers[&format!("p{i:02}")]["base_url"],
            format!("http://h{i}.local/v1")
        );
    }
    assert_eq!(cfg["zeta_tool"]["x"][0], 1);
    assert_eq!(cfg["api_keys"]["keep"], "sk-keep-canary");
    let leftovers: Vec<_> = std::fs::read_dir(&sb.home)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
