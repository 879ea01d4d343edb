//! What the visitor types: an answer to a pending question, a `/command`, a quick-reply number, or a message.

use chatflow_core::protocol::QuickReply;

use super::render::{Chat, Question};
use super::Flow;
use crate::cmd::search;
use crate::error::{CliError, CliResult, Kind};
use crate::views::{ConsentView, MessageView};

const HELP: &str = "\
  TEXT             send a message
  N                pick quick reply N of the last bot question
  /history [N]     the last N messages (default 20) with their state
  /search TEXT     search the knowledge base
  /consent         show the consent state; /consent accept | /consent decline
  /email ADDRESS   give your email to the team
  /pause, /resume  go offline (messages queue up) and back online
  /typing [off]    show the team you are typing (what an app sends while the user types), or stop
  /survey N [TEXT] answer the satisfaction survey (sent when the team closes the chat): rating N, optional comment
  /file PATH       send a file (image, PDF, …); it is uploaded before the messages typed after it
  /quit            leave (queued messages are kept and sent next time)";

impl Chat<'_> {
    /// Handles one line. Errors of one action (a refused send, an unreachable server) are shown and the chat goes
    /// on; only a failing terminal or store ends it.
    pub fn on_line(&mut self, line: &str) -> CliResult<Flow> {
        self.line_entered();
        match self.handle(line.trim()) {
            Ok(flow) => Ok(flow),
            Err(e) if e.kind == Kind::Internal => Err(e),
            Err(e) => {
                self.emit(serde_json::json!({ "event": "error", "error": e }));
                let mut text = self.st.red(&format!("error: {}", e.message));
                if e.kind == Kind::Consent {
                    text.push_str(&self.st.dim("\n(type /consent accept to agree)"));
                }
                self.say(&text);
                Ok(Flow::Continue)
            }
        }
    }

    fn handle(&mut self, text: &str) -> CliResult<Flow> {
        if let Some(q) = self.questions.front().copied() {
            if !text.starts_with('/') {
                self.answer(q, text)?;
                return Ok(Flow::Continue);
            }
        }
        if text.is_empty() {
            return Ok(Flow::Continue);
        }
        if let Some(cmd) = text.strip_prefix('/') {
            return self.command(cmd);
        }
        if let Ok(n) = text.parse::<usize>() {
            // The buttons the conversation offers now (none once the visitor said anything after them).
            let offer = self.state.as_ref().map(|s| s.details.quick_replies.as_slice()).unwrap_or_default();
            if let Some(reply) = n.checked_sub(1).and_then(|i| offer.get(i)).cloned() {
                self.send(&reply.label.clone(), Some(&reply))?;
                return Ok(Flow::Continue);
            }
        }
        self.send(text, None)?;
        Ok(Flow::Continue)
    }

    fn next_question(&mut self) {
        self.questions.pop_front();
        if let Some(q) = self.questions.front().copied() {
            self.ask(q);
        }
    }

    fn answer(&mut self, q: Question, text: &str) -> CliResult<()> {
        let id = self.flow.chatflow_id;
        let yes = matches!(text.to_ascii_lowercase().as_str(), "y" | "yes");
        let no = matches!(text.to_ascii_lowercase().as_str(), "n" | "no");
        match q {
            Question::Consent | Question::OptIn if !yes && !no => {
                let line = self.st.yellow("please answer y or n");
                self.say(&line);
                return Ok(());
            }
            Question::Consent => {
                let version = Some(self.flow.consent.process_data_text_version.clone());
                let (state, line) = if yes {
                    (self.ctx.client.accept_consent(id, version)?, self.st.green("✓ thank you: consent recorded"))
                } else {
                    let state = self.ctx.client.decline_consent(id, version)?;
                    let line = self.st.yellow(
                        "declined: sending is disabled (the knowledge base still works; /consent accept to change)",
                    );
                    (state, line)
                };
                self.say(&line);
                self.emit(serde_json::json!({ "event": "consent", "consent": ConsentView::from(&state) }));
                self.ctx.client.resume()?;
            }
            Question::OptIn => {
                let state = self.ctx.client.set_communication_opt_in(id, yes)?;
                self.emit(serde_json::json!({ "event": "consent", "consent": ConsentView::from(&state) }));
                self.ctx.client.resume()?;
            }
            Question::Email if text.is_empty() => {}
            Question::Email => {
                self.ctx.block_on(self.ctx.client.provide_email(text.to_owned()))?;
                let line = self.st.dim("✓ email saved");
                self.say(&line);
            }
        }
        self.next_question();
        Ok(())
    }

    fn command(&mut self, cmd: &str) -> CliResult<Flow> {
        let (name, rest) = cmd.split_once(' ').map_or((cmd, ""), |(n, r)| (n, r.trim()));
        match name {
            "quit" | "exit" | "q" => return Ok(Flow::Quit),
            "help" | "h" | "?" => self.say(HELP),
            "history" => {
                let n = if rest.is_empty() {
                    20
                } else {
                    rest.parse()
                        .map_err(|_| CliError::new(Kind::Usage, format!("/history N: `{rest}` is not a number")))?
                };
                self.history(n)?;
            }
            "search" if rest.is_empty() => return Err(CliError::new(Kind::Usage, "/search TEXT: what to search for?")),
            "search" => {
                let report = search::search(self.ctx, &self.flow, rest, None, 5, false)?;
                let text = report.render_hits(&self.st);
                self.say(&text);
                self.emit(serde_json::json!({ "event": "search", "search": report }));
            }
            "consent" => self.consent(rest)?,
            "email" if rest.is_empty() => return Err(CliError::new(Kind::Usage, "/email ADDRESS: which address?")),
            "email" => {
                self.ctx.block_on(self.ctx.client.provide_email(rest.to_owned()))?;
                let line = self.st.dim("✓ email saved");
                self.say(&line);
            }
            "pause" => {
                self.paused = true;
                self.ctx.client.pause();
                let line = self.st.dim("paused: messages are queued until /resume");
                self.say(&line);
            }
            "resume" => {
                self.paused = false;
                self.ctx.client.resume()?;
            }
            "typing" => self.typing(rest)?,
            "survey" => self.survey(rest)?,
            "file" if rest.is_empty() => return Err(CliError::new(Kind::Usage, "/file PATH: which file?")),
            "file" => self.send_file(rest)?,
            other => {
                return Err(CliError::new(Kind::Usage, format!("unknown command /{other}; /help lists them")));
            }
        }
        Ok(Flow::Continue)
    }

    /// A line-based chat sees no keystrokes, so the signal an app sends while its user types is a command here.
    fn typing(&mut self, arg: &str) -> CliResult<()> {
        let typing = match arg {
            "" | "on" => true,
            "off" => false,
            other => return Err(CliError::new(Kind::Usage, format!("/typing {other}: use /typing or /typing off"))),
        };
        let Some(c) = self.conversation.clone() else {
            return Err(CliError::new(Kind::Usage, "/typing: no conversation yet: your first message starts one"));
        };
        self.ctx.client.set_typing(&c.id, typing)?;
        self.emit(serde_json::json!({ "event": "typing_sent", "conversation_id": c.id, "typing": typing }));
        Ok(())
    }

    /// Answers the survey the conversation state shows waiting, through the send queue (it waits there while
    /// offline).
    fn survey(&mut self, args: &str) -> CliResult<()> {
        const USAGE: &str = "/survey N [COMMENT]: answer the satisfaction survey, e.g. /survey 5 quick and kind";
        let Some(c) = self.conversation.clone() else {
            return Err(CliError::new(Kind::Usage, format!("{USAGE} (no conversation yet)")));
        };
        let (rating, comment) = args.split_once(' ').map_or((args, ""), |(r, c)| (r, c.trim()));
        let rating: i32 =
            rating.parse().map_err(|_| CliError::new(Kind::Usage, format!("{USAGE} (`{rating}` is not a rating)")))?;
        let Some(seq) = self.state.as_ref().and_then(|s| s.details.pending_survey.as_ref()).map(|p| p.seq) else {
            let why = "no survey waiting for an answer in this conversation: it comes when the team closes the chat";
            return Err(CliError::new(Kind::Usage, why));
        };
        let comment = (!comment.is_empty()).then(|| comment.to_owned());
        let echo = self.ctx.client.answer_survey(&c.id, seq, rating, comment)?;
        self.sent(&echo);
        let view = MessageView::from(&echo);
        self.emit(serde_json::json!({ "event": "survey_answered", "conversation_id": c.id, "message": view }));
        let text = view.render(&self.st);
        self.say(text.trim_end());
        Ok(())
    }

    fn history(&mut self, n: i32) -> CliResult<()> {
        let Some(c) = self.conversation.clone() else {
            let line = self.st.dim("no conversation yet: your first message starts one");
            self.say(&line);
            return Ok(());
        };
        let page = self.ctx.block_on(self.ctx.client.messages(&c.id, None, n))?;
        self.emit(serde_json::json!({ "event": "history", "conversation_id": c.id,
            "messages": page.iter().map(MessageView::from).collect::<Vec<_>>() }));
        let mut text = self.st.dim(&format!("— last {} message(s) of conversation {} —", page.len(), c.id));
        text.push('\n');
        for m in &page {
            text.push_str(&MessageView::from(m).render(&self.st));
        }
        self.say(text.trim_end());
        Ok(())
    }

    fn consent(&mut self, action: &str) -> CliResult<()> {
        let id = self.flow.chatflow_id;
        let version = Some(self.flow.consent.process_data_text_version.clone());
        let state = match action {
            "" | "status" => self.ctx.client.consent_state(id)?,
            "accept" => self.ctx.client.accept_consent(id, version)?,
            "decline" => self.ctx.client.decline_consent(id, version)?,
            other => {
                return Err(CliError::new(
                    Kind::Usage,
                    format!("/consent {other}: use /consent, /consent accept or /consent decline"),
                ))
            }
        };
        if matches!(action, "accept" | "decline") {
            // A decision answers the pending question too.
            self.questions.retain(|q| *q != Question::Consent);
            self.ctx.client.resume()?;
        }
        let view = ConsentView::from(&state);
        let text = view.render(&self.st);
        self.say(text.trim_end());
        self.emit(serde_json::json!({ "event": "consent", "consent": view }));
        Ok(())
    }

    /// Sends a file through the send queue (copied and checked at once; uploaded in its turn).
    fn send_file(&mut self, path: &str) -> CliResult<()> {
        let name = crate::cmd::send::file_name_of(path)?;
        let conversation = self.ensure_conversation()?;
        let source = chatflow_core::attachments::FileSource::Path(path.into());
        let echo = self.ctx.client.send_attachment(&conversation.id, source, &name, None, None)?;
        self.sent(&echo);
        self.emit(serde_json::json!({ "event": "queued", "message": MessageView::from(&echo) }));
        let line = format!("{}: {}", self.st.cyan("you"), crate::views::attachment_line(&echo.attachments[0]));
        self.say(&line);
        Ok(())
    }

    /// The chat's conversation, opened (and its state followed) on first use.
    fn ensure_conversation(&mut self) -> CliResult<chatflow_core::model::ChatConversation> {
        Ok(match &self.conversation {
            Some(c) => c.clone(),
            None => {
                let c = self
                    .ctx
                    .block_on(self.ctx.client.open_conversation(self.flow.chatflow_id))
                    .map_err(|e| CliError::from(e).context("cannot start the conversation"))?;
                let line = self.st.dim(&format!("conversation {} started", c.id));
                self.say(&line);
                self.conversation = Some(c.clone());
                self.follow(&c.id)?;
                c
            }
        })
    }

    /// Sends a message (or a quick reply), opening the conversation on the first one.
    fn send(&mut self, text: &str, quick_reply: Option<&QuickReply>) -> CliResult<()> {
        let conversation = self.ensure_conversation()?;
        let echo = match quick_reply {
            Some(r) => self.ctx.client.send_quick_reply(&conversation.id, r)?,
            None => self.ctx.client.send(&conversation.id, text)?,
        };
        self.sent(&echo);
        self.emit(serde_json::json!({ "event": "queued", "message": MessageView::from(&echo) }));
        if !self.tty || quick_reply.is_some() {
            let line = format!("{}: {text}", self.st.cyan("you"));
            self.say(&line);
        }
        if self.offline_shown || self.paused {
            let line = self.st.yellow("  … queued: will be sent when back online");
            self.say(&line);
        }
        Ok(())
    }
}
