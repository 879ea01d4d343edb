//! The interactive chat as a person uses it — in a pseudo-terminal (util-linux `script(1)`, BSD `script` on macOS):
//! type a message, see it sent and read by the team, see the agent's reply (and typing), answer the consent prompt,
//! quit. Also the chat driven through a pipe (scripts), and the scripted tour the demo runs.
//!
//! Waits are bounded (generous ceilings for a loaded machine); nothing asserts a duration.

mod support;

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use serde_json::Value;
use support::{cli_bin, seed_path, stderr, Env};

const WAIT: Duration = Duration::from_secs(60);

/// `chatflow ARGS` in a pseudo-terminal; everything it prints is collected.
struct Pty {
    child: Child,
    stdin: ChildStdin,
    screen: Arc<Mutex<String>>,
}

impl Pty {
    fn spawn(env: &Env, args: &str) -> Pty {
        let bin = cli_bin();
        let command = format!("'{}' {args}", bin.display());
        let mut cmd = Command::new("script");
        if cfg!(target_os = "linux") {
            // -q quiet, -e child's exit code, -f flush at once, -c the command; no typescript file.
            cmd.args(["-q", "-e", "-f", "-c", &command, "/dev/null"]);
        } else {
            cmd.args(["-q", "/dev/null", "sh", "-c", &command]);
        }
        let mut child = cmd
            .env("CHATFLOW_CONFIG", env.config_path())
            .env("CHATFLOW_DATA_DIR", env.data_dir())
            .env("TERM", "xterm")
            .env_remove("NO_COLOR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run script(1) (util-linux) to get a pseudo-terminal: {e}"));
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = child.stdout.take().expect("stdout");
        let screen = Arc::new(Mutex::new(String::new()));
        let sink = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Pty { child, stdin, screen }
    }

    /// Types a line and presses Enter (a carriage return, as a terminal sends).
    fn type_line(&mut self, line: &str) {
        self.stdin.write_all(format!("{line}\r").as_bytes()).unwrap();
        self.stdin.flush().unwrap();
    }

    /// The screen without colours.
    fn text(&self) -> String {
        strip_ansi(&self.screen.lock().unwrap())
    }

    /// Waits (bounded) until `needle` appears after byte `from` of the text; returns where it ends.
    fn wait_for(&self, needle: &str, from: usize) -> usize {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text();
            if let Some(i) = text.get(from..).and_then(|t| t.find(needle)) {
                return from + i + needle.len();
            }
            assert!(Instant::now() < deadline, "`{needle}` never appeared; screen:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_exit(mut self) -> i32 {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "the chat did not exit; screen:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        if c != '\r' {
            out.push(c);
        }
    }
    out
}

fn agent_reply(env: &Env, text: &str) {
    env.cli().arg("agent-reply").arg("--seed").arg(seed_path()).args(["--typing-ms", "300", text]).assert().success();
}

#[test]
fn a_person_chats_in_a_terminal() {
    let env = Env::start();
    let mut pty = Pty::spawn(&env, "chat");
    let at = pty.wait_for("Hi! This is Support. How can we help?", 0);
    let raw = pty.screen.lock().unwrap().clone();
    assert!(raw.contains("\x1b["), "colours on a terminal");
    let at = pty.wait_for("› ", at);

    pty.type_line("Hello, my order is late");
    let at = pty.wait_for("✓ sent #1", at);

    agent_reply(&env, "Sorry about that! Let me check.");
    // agent-reply reads first, as a person in the inbox does.
    let at = pty.wait_for("✓✓ read #1", at);
    let at = pty.wait_for("is typing…", at);
    let at = pty.wait_for(": Sorry about that! Let me check.", at);

    pty.type_line("/history 5");
    let at = pty.wait_for("you: Hello, my order is late", at);

    // Offline: queued with an indicator, sent when back.
    pty.type_line("/pause");
    let at = pty.wait_for("offline — messages will be sent when back", at);
    pty.type_line("sent while offline");
    let at = pty.wait_for("queued: will be sent when back online", at);
    pty.type_line("/resume");
    pty.wait_for("✓ sent #3", at);

    pty.type_line("/quit");
    assert_eq!(pty.wait_exit(), 0);
    let h = env.json(&["history"]);
    let bodies: Vec<&str> = h["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["Hello, my order is late", "Sorry about that! Let me check.", "sent while offline"]);
}

#[test]
fn a_message_shown_sent_turns_read_when_the_team_reads_it() {
    let env = Env::start();
    let mut pty = Pty::spawn(&env, "chat");
    let at = pty.wait_for("› ", 0);
    pty.type_line("Is anyone there?");
    let start = pty.wait_for("conversation ", at);
    let end = pty.wait_for(" started", start);
    let conversation = pty.text()[start..end - " started".len()].to_owned();
    let at = pty.wait_for("✓ sent #1", end);
    pty.type_line("Hello?");
    let at = pty.wait_for("✓ sent #2", at);

    // Each read receipt moves the mark of the messages it covers, and only those.
    env.agent_read(&conversation, 1);
    let at = pty.wait_for("✓✓ read #1", at);
    env.agent_read(&conversation, 2);
    pty.wait_for("✓✓ read #2", at);

    pty.type_line("/quit");
    let screen = pty.text();
    assert_eq!(pty.wait_exit(), 0);
    assert_eq!(screen.matches("✓ sent #1").count(), 1, "{screen}");
    assert_eq!(screen.matches("✓✓ read").count(), 2, "one line per read receipt: {screen}");
}

#[test]
fn bot_quick_replies_are_picked_by_number() {
    let env = Env::with_bot();
    let mut pty = Pty::spawn(&env, "chat --tag bot");
    let at = pty.wait_for("Welcome to the fruit bot!", 0);
    let at = pty.wait_for("› ", at);
    pty.type_line("hi");
    let at = pty.wait_for("Apples or bananas?", at);
    let at = pty.wait_for("[2] Bananas", at);
    pty.type_line("2");
    let at = pty.wait_for("you: Bananas", at);
    pty.wait_for("Thanks, noted!", at);
    pty.type_line("/quit");
    let screen = pty.text();
    assert_eq!(pty.wait_exit(), 0);
    assert_eq!(screen.matches("Welcome to the fruit bot!").count(), 1, "the stored welcome is not shown twice");
    let h = env.json(&["history", "--tag", "bot"]);
    let picked = h["messages"].as_array().unwrap().iter().find(|m| m["body"] == "Bananas").cloned().unwrap();
    assert_eq!(picked["quick_reply_id"], "b");
}

#[test]
fn the_terminal_chat_asks_for_consent_first() {
    let env = Env::start();
    let mut pty = Pty::spawn(&env, "chat --tag billing");
    let at = pty.wait_for("Acme stores your messages", 0);
    let at = pty.wait_for("agree? [y/n]", at);
    pty.type_line("maybe");
    let at = pty.wait_for("please answer y or n", at);
    pty.type_line("y");
    let at = pty.wait_for("consent recorded", at);
    pty.type_line("hello billing");
    pty.wait_for("✓ sent #1", at);
    pty.type_line("/quit");
    assert_eq!(pty.wait_exit(), 0);
    assert_eq!(env.json(&["consent", "--tag", "billing"])["consent"]["status"], "accepted");
}

#[test]
fn the_chat_reads_lines_from_a_pipe() {
    let env = Env::start();
    // End of input: the chat waits for the queue to drain, then exits.
    let out = env.cli().args(["chat", "--drain-secs", "60"]).write_stdin("first line\nsecond line\n").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!text.contains('\x1b'), "no colours in a pipe: {text}");
    assert!(text.contains("you: first line") && text.contains("you: second line"), "{text}");
    assert!(text.contains("✓ sent #2"), "{text}");

    // Commands work too; a reply is shown with the history.
    agent_reply(&env, "Got both.");
    env.cli().arg("chat").write_stdin("/history\n/nonsense\n/quit\n").assert().success().stdout(
        predicate::str::contains(": Got both.")
            .and(predicate::str::contains("unknown command /nonsense"))
            .and(predicate::str::contains("earlier in conversation")),
    );

    // Consent refusals are explained, and the chat goes on.
    env.cli().args(["chat", "--tag", "billing"]).write_stdin("n\nhello\n/consent\n").assert().success().stdout(
        predicate::str::contains("declined: sending is disabled")
            .and(predicate::str::contains("declined consent on chatflow 4"))
            .and(predicate::str::contains("consent to process data on chatflow 4: declined")),
    );
}

#[test]
fn the_chat_speaks_json_lines_with_json() {
    let env = Env::start();
    let out = env
        .cli()
        .args(["--json", "chat"])
        .write_stdin("/typing\nhello json\n/typing\n/typing sideways\n/nonsense\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds[0], "chatflow", "{kinds:?}");
    assert_eq!(events[0]["chatflow"]["chatflow_id"], 1);
    let queued = events.iter().find(|e| e["event"] == "queued").expect("queued");
    assert_eq!(queued["message"]["body"], "hello json");
    assert!(
        events.iter().any(|e| e["event"] == "messages"
            && e["messages"].as_array().unwrap().iter().any(|m| m["body"] == "hello json" && m["state"] == "sent")),
        "{kinds:?}"
    );
    let errors: Vec<&Value> = events.iter().filter(|e| e["event"] == "error").collect();
    assert_eq!(errors.len(), 3, "/typing before a conversation, /typing sideways, /nonsense: {kinds:?}");
    assert!(errors.iter().all(|e| e["error"]["kind"] == "usage"), "{errors:?}");
    assert!(errors[0]["error"]["message"].as_str().unwrap().contains("no conversation yet"), "{errors:?}");
    let typing = events.iter().find(|e| e["event"] == "typing_sent").expect("typing_sent");
    assert_eq!(typing["typing"], true);
    assert_eq!(typing["conversation_id"], queued["message"]["conversation_id"]);
}

#[test]
fn the_tour_prints_every_step() {
    let env = Env::start();
    env.cli().arg("tour").arg("--seed").arg(seed_path()).assert().success().stdout(
        predicate::str::contains("[1/7] resolve the mobile tag `support`")
            .and(predicate::str::contains("why: chatflow 1 \"Support\": highest priority"))
            .and(predicate::str::contains("Hi! This is Support. How can we help?"))
            .and(predicate::str::contains("[3/7] consent"))
            .and(predicate::str::contains("[4/7] knowledge-base search"))
            .and(predicate::str::contains("stored by the server as #1"))
            .and(predicate::str::contains("How can I help with your order?"))
            .and(predicate::str::contains("delivered after reconnect as #3"))
            .and(predicate::str::contains("tour complete")),
    );

    // JSON Lines, one object per step, on a chatflow with explicit consent.
    let out = env.cli().arg("--json").args(["tour", "--tag", "billing", "--seed"]).arg(seed_path()).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let steps: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(names, ["resolve", "welcome", "consent", "kb_search", "send", "reply", "offline_send"]);
    assert_eq!(steps[2]["before"], "awaiting_decision");
    assert_eq!(steps[2]["after"], "accepted");
    assert_eq!(steps[5]["message"]["author_kind"], "agent");
    assert_eq!(steps[6]["queued_while_paused"], true);
    assert_eq!(steps[6]["message"]["state"], "sent");
}
