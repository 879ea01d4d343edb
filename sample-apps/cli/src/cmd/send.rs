//! `send TEXT`: queue one message in the current conversation of the resolved chatflow and wait until the server
//! stored it (or, with `--no-wait`, return once it is safely queued).

use std::time::Duration;

use serde::Serialize;

use super::{conversation_for, resolve_flow, wait_delivered, wait_team_reply};
use chatflow_core::attachments::{FileSource, OutgoingFile};

use crate::cli::{DownloadArgs, SendArgs};
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
    if text.trim().is_empty() && a.file.is_empty() {
        return Err(CliError::new(Kind::Usage, "the message is empty"));
    }
    let files = a
        .file
        .iter()
        .map(|p| {
            let name = file_name_of(&p.to_string_lossy())?;
            Ok(OutgoingFile { source: FileSource::Path(p.clone()), file_name: name, mime_type: a.mime.clone() })
        })
        .collect::<CliResult<Vec<_>>>()?;
    let flow = resolve_flow(ctx, &a.target)?;
    let conversation = conversation_for(ctx, &flow, a.conversation.conversation.as_deref(), a.new, a.target.offline)?;
    let echo = if files.is_empty() {
        ctx.client.send(&conversation.id, &text)?
    } else {
        let caption = Some(text.trim().to_owned()).filter(|t| !t.is_empty());
        ctx.client.send_attachments(&conversation.id, files, caption)?
    };
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

/// The name a file is sent under: the last part of its path.
pub fn file_name_of(path: &str) -> CliResult<String> {
    std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| CliError::new(Kind::Usage, format!("`{path}` does not name a file")))
}

#[derive(Debug, Serialize)]
pub struct DownloadReport {
    pub attachment_id: String,
    pub path: String,
    pub size: u64,
}

impl Render for DownloadReport {
    fn render(&self, st: &Style) -> String {
        format!("{} {} ({} bytes)\n", st.green("saved"), self.path, self.size)
    }
}

/// `download ATTACHMENT_ID [--out PATH]`: the SDK's verified copy, or a copy of it at `--out`.
pub fn download(ctx: &Ctx, a: &DownloadArgs) -> CliResult<u8> {
    let cached = if a.thumbnail {
        ctx.block_on(ctx.client.attachment_thumbnail(&a.attachment_id))?
    } else {
        ctx.block_on(ctx.client.download_attachment(&a.attachment_id))?
    };
    let path = match &a.out {
        Some(out) => {
            std::fs::copy(&cached, out)
                .map_err(|e| CliError::new(Kind::Usage, format!("cannot write {}: {e}", out.display())))?;
            out.clone()
        }
        None => cached,
    };
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    ctx.out.show(&DownloadReport {
        attachment_id: a.attachment_id.clone(),
        path: path.to_string_lossy().into_owned(),
        size,
    });
    Ok(0)
}
