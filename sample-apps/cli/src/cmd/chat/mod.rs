//! `chat`: a line-based interactive chat on the resolved chatflow.
//!
//! One loop on the main thread handles two sources merged into one channel: lines from stdin (a reader thread) and
//! the SDK's events (its subscription callback). The loop never blocks on the network for longer than an SDK call;
//! sends are queued by the SDK and confirmed by events, so a lost connection shows as "offline" and queued
//! messages go out when it is back.
//!
//! With `--json`, the chat speaks JSON Lines instead of text: every SDK event and the outcome of every line.
//!
//! Works the same when stdin is not a terminal (tests, `printf 'hi\n/quit\n' | chatflow chat`): no prompt, no
//! colours, the visitor's own lines are echoed as `you: …`, and at the end of input the chat waits (bounded,
//! `--drain-secs`) for queued messages to be delivered before it exits.

mod commands;
mod json;
mod render;

use std::io::{BufRead, IsTerminal};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatflow_core::events::{ChatEvent, EventListener};

use super::resolve_flow;
use crate::cli::ChatArgs;
use crate::context::Ctx;
use crate::error::CliResult;

pub use render::Chat;

/// What the loop receives.
pub enum Input {
    Line(String),
    Eof,
    Event(ChatEvent),
}

/// Whether the loop goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

struct Forward(mpsc::Sender<Input>);

impl EventListener for Forward {
    fn on_event(&self, event: ChatEvent) {
        // The loop is gone once the chat ends; nothing to do then.
        let _ = self.0.send(Input::Event(event));
    }
}

fn spawn_stdin_reader(tx: mpsc::Sender<Input>) {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            match line {
                Ok(l) => {
                    if tx.send(Input::Line(l)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = tx.send(Input::Eof);
    });
}

pub fn run(ctx: &Ctx, a: &ChatArgs) -> CliResult<u8> {
    let flow = resolve_flow(ctx, &a.target)?;
    let tty = std::io::stdin().is_terminal() && ctx.out.stdout_tty;
    let mut chat = Chat::new(ctx, flow, tty);
    chat.open(a.conversation.conversation.as_deref(), a.new, a.target.offline)?;

    let (tx, rx) = mpsc::channel();
    let _subscription = ctx.client.subscribe(Arc::new(Forward(tx.clone())))?;
    chat.intro(a.history)?;
    spawn_stdin_reader(tx);

    loop {
        chat.prompt();
        let Ok(input) = rx.recv() else { break };
        let flow = match input {
            Input::Line(line) => chat.on_line(&line)?,
            Input::Event(e) => {
                chat.on_event(e);
                Flow::Continue
            }
            Input::Eof => {
                // Ctrl-D on a terminal means "leave" (like /quit); the end of piped input waits for the queue.
                if !tty {
                    drain(&mut chat, &rx, Duration::from_secs(a.drain_secs));
                }
                Flow::Quit
            }
        };
        if flow == Flow::Quit {
            break;
        }
    }
    chat.goodbye()?;
    Ok(0)
}

/// End of input: keep rendering events until nothing is left to send (or `within` passed).
fn drain(chat: &mut Chat, rx: &mpsc::Receiver<Input>, within: Duration) {
    let deadline = Instant::now() + within;
    while chat.has_pending_sends() && Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Input::Event(e)) => chat.on_event(e),
            Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // Events already delivered are shown before leaving; confirmations whose event is still on its way are read
    // from the store.
    while let Ok(Input::Event(e)) = rx.try_recv() {
        chat.on_event(e);
    }
    chat.settle();
}
