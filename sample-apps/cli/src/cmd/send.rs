//! `send TEXT`: queue one message in the current conversation of the resolved chatflow and wait until the server
//! stored it (or, with `--no-wait`, return once it is safely queued).

use std::time::Duration;

use serde::Serialize;

use super::{conversation_for, resolve_flow, wait_delivered, wait_team_reply};
use crate::cli::SendArgs;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, Kind};
use crate::output::{Render, Style};
use crate::views::MessageView;

#[derive(Debug, Serialize)]
pub struct SendReport {
    pub chatflow_id: i64,
    pub conversation_id: String,
    pub message: MessageView,
    /// The server stored it (it has a seq).
    pub delivered: bool,
    /// With `--wait-reply`: the team's answer, if one came in time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<MessageView>,
}

impl Render for SendReport {
    fn render(&self, st: &Style) -> String {
        let mut s = match (self.delivered, self.message.seq) {
            (true, Some(seq)) => {
                format!("{} #{seq} in conversation {}\n", st.green("sent"), st.dim(&self.conversation_id))
            }
            _ => format!(
                "{} in conversation {} (delivered by the next command that connects)\n",
                st.yellow("queued"),
                st.dim(&self.conversation_id)
            ),
        };
        if let Some(r) = &self.reply {
            s.push_str(&r.render(st));
        }
        s
    }
}

pub fn run(ctx: &Ctx, a: &SendArgs) -> CliResult<u8> {
    let text = a.text.join(" ");
    if text.trim().is_empty() {
        return Err(CliError::new(Kind::Usage, "the message is empty"));
    }
    let flow = resolve_flow(ctx, &a.target)?;
    let conversation = conversation_for(ctx, &flow, a.conversation.conversation.as_deref(), a.new, a.target.offline)?;
    let echo = ctx.client.send(&conversation.id, &text)?;
    let (message, delivered) =
        if a.no_wait { (echo, false) } else { (wait_delivered(ctx, &echo, Duration::from_secs(a.timeout))?, true) };
    let reply = match (a.wait_reply, message.seq) {
        (Some(secs), Some(seq)) => {
            let r = wait_team_reply(ctx, &conversation.id, seq, Duration::from_secs(secs))?;
            if r.is_none() {
                ctx.out.warn(&format!("no reply from the team within {secs}s"));
            }
            r
        }
        _ => None,
    };
    ctx.out.show(&SendReport {
        chatflow_id: flow.chatflow_id,
        conversation_id: conversation.id,
        message: MessageView::from(&message),
        delivered,
        reply: reply.as_ref().map(MessageView::from),
    });
    Ok(0)
}
