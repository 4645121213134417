//! `aix create|list|show|delete`.

use predicates::prelude::*;

use crate::common::*;

#[test]
fn create_list_show_delete() {
    let sb = Sandbox::new();
    sb.run(&[
        "create",
        "sum",
        "Summarize {input} in {n} words. Keep {{braces}}.",
        "-d",
        "Summaries",
        "-s",
        "Be terse.",
    ])
    .success()
    .stderr(predicate::str::contains(
        "Saved prompt 'sum' (parameters: input, n)",
    ));
    let file = sb.home.join("prompts/sum.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("template = ") && text.contains("system = \"Be terse.\""),
        "{text}"
    );
    assert_eq!(mode(&file), 0o600);

    let list = sb.run(&["list"]).success();
    let out = stdout(&list);
    assert!(
        out.starts_with("NAME")
            && out.contains("sum")
            && out.contains("input, n")
            && out.contains("Summaries"),
        "{out}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&sb.run(&["list", "--json"]).success())).unwrap();
    assert_eq!(json[0]["params"], serde_json::json!(["input", "n"]));
    assert_eq!(json[0]["format"], "toml");

    sb.run(&["show", "sum"])
        .success()
        .stdout(predicate::str::contains("--- system ---\nBe terse."))
        .stdout(predicate::str::contains("Keep {{braces}}."));
    sb.run(&["create", "sum", "other"])
        .code(1)
        .stderr(predicate::str::contains("prompt 'sum' already exists"))
        .stderr(predicate::str::contains("--force"));
    sb.run(&["create", "sum", "replaced {x}", "--force"])
        .success();
    sb.run(&["show", "sum", "--json"])
        .success()
        .stdout(predicate::str::contains("\"template\": \"replaced {x}\""));
    sb.run(&["delete", "sum"])
        .success()
        .stderr(predicate::str::contains("Deleted prompt 'sum'"));
    assert!(!file.exists());
    sb.run(&["delete", "sum"])
        .code(1)
        .stderr(predicate::str::contains("Prompt 'sum' not found"))
        .stderr(predicate::str::contains("aix list"));
    sb.run(&["list"])
        .success()
        .stdout("")
        .stderr(predicate::str::contains("no prompts yet"));
}

#[test]
fn template_from_file_and_refusals() {
    let sb = Sandbox::new();
    let tpl = sb.root.join("t.txt");
    std::fs::write(&tpl, "Line one {a}\nLine two {b}\n").unwrap();
    sb.run(&["create", "f", &format!("@{}", tpl.display())])
        .success()
        .stderr(predicate::str::contains("parameters: a, b"));
    sb.run(&["create", "at", "@@handle {x}"]).success();
    sb.run(&["show", "at"])
        .success()
        .stdout(predicate::str::contains("@handle {x}"));
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["create", "bad", "Hello {name"],
            64,
            "line 1, column 7: '{' is not closed",
        ),
        (
            &["create", "bad", "x\n} y"],
            64,
            "line 2, column 1: '}' without a matching '{'",
        ),
        (&["create", "bad", "{ spaced }"], 64, "is not a placeholder"),
        (&["create", "../evil", "x"], 64, "'/'"),
        (&["create", ".hidden", "x"], 64, "may not start with '.'"),
        (
            &["create", "bad", "@/no/such/file"],
            64,
            "cannot read template file",
        ),
        (&["show", "../etc"], 64, "prompt name"),
        (&["run", "nope"], 1, "Prompt 'nope' not found"),
    ];
    for (args, code, words) in cases {
        let a = sb.run(args).code(*code);
        assert!(stderr(&a).contains(words), "{args:?}: {}", stderr(&a));
    }
    assert!(!sb.home.join("prompts/bad.toml").exists());
    assert!(!sb.root.join("evil.toml").exists());
}

#[test]
fn earlier_aix_prompts_are_listed_and_read_only() {
    let sb = Sandbox::new();
    let dir = sb.home.join("prompts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("translate.yaml"),
        "name: translate\ndescription: Translate text\nmodel: m-old\n",
    )
    .unwrap();
    std::fs::write(dir.join("translate.txt"), "Translate to {lang}: {text}").unwrap();
    let out = stdout(&sb.run(&["list"]).success());
    assert!(
        out.contains("translate") && out.contains("lang, text") && out.contains("earlier AIX"),
        "{out}"
    );
    sb.run(&[
        "run",
        "translate",
        "-p",
        "lang=fr",
        "-p",
        "text=hi",
        "--provider",
        "groq",
    ])
    .success()
    .stdout(predicate::str::contains("Translate to fr: hi"))
    .stdout(predicate::str::contains("model:    m-old"));
    sb.run(&["delete", "translate"])
        .code(1)
        .stderr(predicate::str::contains("does not delete it"));
    assert!(dir.join("translate.yaml").exists());
}
