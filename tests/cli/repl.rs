//! `aix repl`: scripted through stdin, and on a pseudo-terminal for the
//! interactive parts (line editing, history, Ctrl-C, Ctrl-D).

use std::time::Duration;

use predicates::prelude::*;
use serde_json::json;

use crate::common::*;
use crate::server::{Reply, Server, Step, chunk_event};

fn setup() -> (Sandbox, Server) {
    let sb = Sandbox::new();
    let server = Server::start();
    sb.run(&["provider", "add", "local", &server.base(), "--model", "m1"])
        .success();
    (sb, server)
}

fn script(sb: &Sandbox, input: &str) -> assert_cmd::assert::Assert {
    sb.aix()
        .env("AIX_RETRY_BASE_MS", "5")
        .args(["repl", "--provider", "local"])
        .write_stdin(input)
        .assert()
}

#[test]
fn turns_build_one_conversation() {
    let (sb, server) = setup();
    server.push(Reply::stream(&["first ", "answer"]));
    server.push(Reply::stream(&["second answer"]));
    let a = script(&sb, "hello\nand then?\n").success();
    assert_eq!(stdout(&a), "first answer\nsecond answer\n");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[0].json()["stream"],
        true,
        "the REPL streams by default"
    );
    assert_eq!(
        reqs[1].json()["messages"],
        json!([
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": "and then?"}
        ])
    );
}

#[test]
fn commands_change_what_goes_on_the_wire() {
    let (sb, server) = setup();
    sb.run(&["create", "greet", "Say hi to {who}", "-s", "Be warm."])
        .success();
    // Four streamed turns (one, two, the prompt, its retry), then one whole.
    for _ in 0..4 {
        server.push(Reply::stream(&["ok"]));
    }
    server.push(Reply::answer("whole"));
    let input = "/model m2\none\n/system Be brief.\ntwo\n/reset\n/prompt greet who=Ann\n/retry\n/stream off\nthree\n";
    script(&sb, input).success();
    let reqs: Vec<serde_json::Value> = server.requests().iter().map(|r| r.json()).collect();
    assert_eq!(reqs[0]["model"], "m2");
    assert_eq!(
        reqs[1]["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(
        reqs[1]["messages"].as_array().unwrap().len(),
        4,
        "system + one + answer + two"
    );
    // After /reset only the system message and the prompt remain.
    assert_eq!(
        reqs[2]["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi to Ann"}])
    );
    assert_eq!(
        reqs[3]["messages"], reqs[2]["messages"],
        "/retry resends the same turn"
    );
    assert_eq!(reqs[4]["stream"], false);
    assert_eq!(reqs[4]["messages"].as_array().unwrap().len(), 4);
}

#[test]
fn errors_print_like_run_and_the_repl_goes_on() {
    let (sb, server) = setup();
    server.push(Reply::json(401, &json!({"error": {"message": "bad key"}})));
    server.push(Reply::stream(&["recovered"]));
    let a = script(&sb, "first\n/modle m3\n/provider nope\nsecond\n").code(1);
    let err = stderr(&a);
    assert!(err.contains("error: 401 Unauthorized: bad key"), "{err}");
    assert!(
        err.contains("hint: set the key with `aix api-key local`"),
        "{err}"
    );
    assert!(
        err.contains("error: unknown command /modle") && err.contains("did you mean /model?"),
        "{err}"
    );
    assert!(err.contains("Custom provider 'nope' not found"), "{err}");
    assert!(err.contains("3 turns or commands failed"), "{err}");
    assert_eq!(stdout(&a), "recovered\n");
    // The failed turn is not in the conversation.
    assert_eq!(
        server.last().json()["messages"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn params_history_save_and_key() {
    let (sb, server) = setup();
    server.push(Reply::stream(&["an answer"]));
    let json_file = sb.root.join("conv.json");
    let input = format!(
        "question\n/params\n/history\n/save {}\n/key sk-repl-canary\n/help\n/exit\nnot sent\n",
        json_file.display()
    );
    let a = script(&sb, &input).success();
    let out = stdout(&a);
    assert!(
        out.contains("provider:    local")
            && out.contains("model:       m1")
            && out.contains("turns:       1"),
        "{out}"
    );
    assert!(
        out.contains("[user]\nquestion\n\n[assistant]\nan answer"),
        "{out}"
    );
    assert!(out.contains("/retry"), "help lists the commands");
    assert!(!out.contains("canary") && !stderr(&a).contains("canary"));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_file).unwrap()).unwrap();
    assert_eq!(
        saved["messages"][1],
        json!({"role": "assistant", "content": "an answer"})
    );
    assert_eq!(sb.config()["api_keys"]["local"], "sk-repl-canary");
    assert_eq!(server.requests().len(), 1, "nothing after /exit");
}

#[test]
fn multi_line_input() {
    let (sb, server) = setup();
    server.push(Reply::stream(&["a"]));
    server.push(Reply::stream(&["b"]));
    script(
        &sb,
        "line one \\\nline two\n\"\"\"\nblock\n  indented\n\"\"\"\n",
    )
    .success();
    let reqs = server.requests();
    assert_eq!(
        reqs[0].json()["messages"][0]["content"],
        "line one \nline two"
    );
    assert_eq!(
        reqs[1].json()["messages"][2]["content"],
        "block\n  indented"
    );
}

#[test]
fn starting_options() {
    let (sb, server) = setup();
    sb.run(&["create", "p", "x", "-s", "From the prompt."])
        .success();
    server.push(Reply::stream(&["ok"]));
    sb.aix()
        .args([
            "repl",
            "--provider",
            "custom:local",
            "-m",
            "m9",
            "--prompt",
            "p",
        ])
        .write_stdin("hi\n")
        .assert()
        .success();
    let req = server.last().json();
    assert_eq!(req["model"], "m9");
    assert_eq!(req["messages"][0]["content"], "From the prompt.");
    sb.run(&["repl", "--provider", "ghost"])
        .code(1)
        .stderr(predicate::str::contains(
            "Custom provider 'ghost' not found",
        ));
}

mod pty {
    use super::*;
    use rexpect::process::WaitStatus;
    use rexpect::session::{PtySession, spawn_command};

    fn spawn(sb: &Sandbox) -> PtySession {
        let mut cmd = sb.tty_command(&["repl", "--provider", "local"]);
        cmd.env("NO_COLOR", "1");
        spawn_command(cmd, Some(15_000)).unwrap()
    }

    fn exited(p: &PtySession) -> i32 {
        match p.process().wait().unwrap() {
            WaitStatus::Exited(_, code) => code,
            other => panic!("not a normal exit: {other:?}"),
        }
    }

    #[test]
    fn streamed_answer_history_and_ctrl_d() {
        let (sb, server) = setup();
        server.push(Reply::stream(&["Stre", "amed reply"]));
        server.push(Reply::stream(&["private reply"]));
        let mut p = spawn(&sb);
        p.exp_string("local/m1> ").unwrap();
        p.send_line("tell me").unwrap();
        p.exp_string("Streamed reply").unwrap();
        p.exp_string("local/m1> ").unwrap();
        p.send_line(" hidden thought").unwrap();
        p.exp_string("private reply").unwrap();
        p.exp_string("local/m1> ").unwrap();
        p.send_line("/key sk-pty-canary").unwrap();
        p.exp_string("Saved the API key").unwrap();
        p.exp_string("local/m1> ").unwrap();
        p.send_line("/model other").unwrap();
        p.exp_string("local/other> ").unwrap();
        p.send_control('d').unwrap();
        assert_eq!(exited(&p), 0);
        let history = sb.home.join("history");
        let text = std::fs::read_to_string(&history).unwrap();
        assert!(
            text.contains("tell me") && text.contains("/model other"),
            "{text}"
        );
        assert!(
            !text.contains("hidden thought"),
            "a leading space keeps a line out: {text}"
        );
        assert!(
            !text.contains("canary"),
            "keys never reach the history: {text}"
        );
        assert_eq!(mode(&history), 0o600);
    }

    #[test]
    fn ctrl_c_cancels_only_the_answer() {
        let (sb, server) = setup();
        let mut slow = Reply::sse_pieces(&[&chunk_event("partial words")]);
        slow.steps.truncate(2);
        server.push(slow.then(vec![Step::Stall(Duration::from_secs(8))]));
        server.push(Reply::stream(&["after the cancel"]));
        let mut p = spawn(&sb);
        p.exp_string("local/m1> ").unwrap();
        p.send_line("a slow one").unwrap();
        p.exp_string("partial words").unwrap();
        p.send_control('c').unwrap();
        p.exp_string("answer cancelled").unwrap();
        p.exp_string("local/m1> ").unwrap();
        p.send_line("next question").unwrap();
        p.exp_string("after the cancel").unwrap();
        p.exp_string("local/m1> ").unwrap();
        // Ctrl-C at the prompt clears the line; the REPL stays.
        p.send("half typed").unwrap();
        p.send_control('c').unwrap();
        p.exp_string("local/m1> ").unwrap();
        p.send_control('d').unwrap();
        assert_eq!(exited(&p), 0);
        let last = server.last().json();
        assert_eq!(
            last["messages"],
            json!([{"role": "user", "content": "next question"}]),
            "the cancelled turn is not kept"
        );
    }
}
