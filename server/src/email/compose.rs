//! What an email of the outbox says, decided when it is sent: recipients, subject and plain-text body (no HTML, so
//! nothing a visitor wrote can become markup). Bodies are built from `messages` only: internal notes live in their own
//! table and are never read here.

use chatflow_protocol::limits::MAX_PAGE_SIZE;
use chatflow_protocol::{AuthorKind, Chatflow, Message};

use crate::inbox::transcript::{author_name, fmt_utc, to_text, Transcript, TranscriptEntry};
use crate::inbox::views::{anonymous_name, channel_label};
use crate::store::email::{EmailKind, EmailOutcome, EmailRecord, SmtpSettings};
use crate::store::{AgentRecord, Paging, Store, StoreError, StoreResult};

/// Messages quoted in an unread-reply email (the latest ones).
pub const RECENT_MESSAGES: u32 = 10;

/// An email ready for SMTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub settings: SmtpSettings,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    /// The full `Message-ID` value, `<…@…>`.
    pub message_id: String,
}

/// What to do with a claimed email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    Send(Box<Outgoing>),
    /// Nothing to send: finish it so.
    Finish(EmailOutcome),
}

/// The words of an email, in the chatflow's language (French or English; English for any other).
struct Words {
    fr: bool,
}

impl Words {
    fn of(flow: Option<&Chatflow>) -> Self {
        Self { fr: flow.is_some_and(|f| f.language.to_ascii_lowercase().starts_with("fr")) }
    }

    fn reply_subject(&self, agent: &str, team: &str) -> String {
        if self.fr {
            format!("{agent} vous a répondu ({team})")
        } else {
            format!("{agent} replied to you ({team})")
        }
    }

    fn reply_intro(&self, agent: &str, team: &str) -> String {
        if self.fr {
            format!("{agent} vous a répondu dans votre conversation avec {team}. Derniers messages :")
        } else {
            format!("{agent} replied in your conversation with {team}. Latest messages:")
        }
    }

    fn reopen(&self, link: &str) -> String {
        if self.fr {
            format!("Poursuivre la conversation dans l'application : {link}")
        } else {
            format!("Continue the conversation in the app: {link}")
        }
    }

    fn transcript_subject(&self, team: &str) -> String {
        if self.fr {
            format!("Transcription de votre conversation avec {team}")
        } else {
            format!("Transcript of your conversation with {team}")
        }
    }

    fn footer(&self) -> &'static str {
        if self.fr {
            "Ce message a été envoyé automatiquement : merci de ne pas y répondre."
        } else {
            "This message was sent automatically: please do not reply to it."
        }
    }
}

/// The reopen link of the app with its placeholders replaced.
pub fn reopen_link(template: &str, app_id: &str, chatflow_id: i64, conversation_id: &str) -> String {
    template
        .replace("{conversation_id}", conversation_id)
        .replace("{chatflow_id}", &chatflow_id.to_string())
        .replace("{app_id}", app_id)
}

/// `<unique@domain-of-the-from-address>`.
pub fn message_id_header(unique: &str, from_address: &str) -> String {
    let domain = from_address.rsplit_once('@').map_or("chatflow.invalid", |(_, d)| d);
    format!("<{unique}@{domain}>")
}

/// One `[time] name: text` line (continuation lines indented), as in the text transcript.
fn line(out: &mut String, at: i64, name: &str, body: &str) {
    let mut lines = body.lines();
    out.push_str(&format!("[{}] {name}: {}\n", fmt_utc(at), lines.next().unwrap_or("")));
    for l in lines {
        out.push_str(&format!("    {l}\n"));
    }
}

/// Decides what a claimed email becomes, reading the conversation as it is now.
pub fn prepare(s: &dyn Store, e: &EmailRecord) -> StoreResult<Prepared> {
    let Some(settings) = s.email_settings(&e.app_id)? else {
        return Ok(Prepared::Finish(EmailOutcome::Failed("the app has no SMTP settings any more".into())));
    };
    let Some(entry) = s.inbox_entry(&e.conversation_id)? else {
        return Ok(Prepared::Finish(EmailOutcome::Cancelled("the conversation was deleted".into())));
    };
    let conv = &entry.conversation;
    let visitor_email = entry.contact.email.clone().filter(|a| !a.trim().is_empty());
    let to = match e.kind {
        EmailKind::ManualTranscript => e.recipients.clone(),
        EmailKind::UnreadReply | EmailKind::Transcript => match visitor_email.clone() {
            Some(a) => vec![a.trim().to_owned()],
            None => {
                return Ok(Prepared::Finish(EmailOutcome::Cancelled("the visitor has no email address".into())));
            }
        },
    };
    let flow = s.chatflow(&e.app_id, conv.chatflow_id)?;
    let agents: Vec<AgentRecord> = s.agents(&e.app_id)?;
    let words = Words::of(flow.as_ref());
    let team = flow.as_ref().map_or_else(|| "us".to_owned(), |f| f.header.display_name.clone());
    let contact = entry.contact.name.clone().or(visitor_email).unwrap_or_else(|| anonymous_name(&conv.visitor_id));
    let link = settings.reopen_link.as_deref().map(|t| reopen_link(t, &e.app_id, conv.chatflow_id, &conv.id));
    let (subject, mut body) = match e.kind {
        EmailKind::UnreadReply => {
            let first = e.first_seq.unwrap_or(e.up_to_seq);
            if conv.visitor_read_seq >= first {
                return Ok(Prepared::Finish(EmailOutcome::Cancelled("the visitor read the reply in time".into())));
            }
            let recent = s.messages(&conv.id, Paging::Latest, RECENT_MESSAGES)?.messages;
            let name = |m: &Message| author_name(m, &contact, &agents, flow.as_ref());
            let agent = recent
                .iter()
                .find(|m| m.seq >= first && m.author.kind == AuthorKind::Agent)
                .map_or_else(|| team.clone(), name);
            let mut body = format!("{}\n\n", words.reply_intro(&agent, &team));
            for m in &recent {
                line(&mut body, m.created_at, &name(m), &crate::inbox::transcript::body_with_files(m));
            }
            (words.reply_subject(&agent, &team), body)
        }
        EmailKind::Transcript | EmailKind::ManualTranscript => {
            let mut messages = Vec::new();
            let mut after = 0;
            'pages: loop {
                let page = s.messages(&conv.id, Paging::After(after), MAX_PAGE_SIZE)?;
                for m in &page.messages {
                    if m.seq > e.up_to_seq {
                        break 'pages;
                    }
                    after = m.seq;
                    messages.push(TranscriptEntry {
                        seq: m.seq,
                        at: m.created_at,
                        at_utc: fmt_utc(m.created_at),
                        author_kind: m.author.kind,
                        author_name: author_name(m, &contact, &agents, flow.as_ref()),
                        body: crate::inbox::transcript::body_with_files(m),
                    });
                }
                if !page.has_more {
                    break;
                }
            }
            let transcript = Transcript {
                conversation_id: conv.id.clone(),
                chatflow_id: conv.chatflow_id,
                chatflow_name: Some(team.clone()),
                channel_label: channel_label(conv.channel).to_owned(),
                contact_name: contact.clone(),
                contact_email: entry.contact.email.clone(),
                opened_at: conv.created_at,
                closed_at: entry.state.closed_at.unwrap_or(e.created_at),
                messages,
            };
            let subject = e.subject.clone().unwrap_or_else(|| words.transcript_subject(&team));
            (subject, to_text(&transcript))
        }
    };
    if let Some(link) = link {
        body.push_str(&format!("\n{}\n", words.reopen(&link)));
    }
    body.push_str(&format!("\n-- \n{}\n", words.footer()));
    Ok(Prepared::Send(Box::new(Outgoing {
        message_id: message_id_header(&e.message_id, &settings.from_address),
        settings,
        to,
        subject,
        body,
    })))
}

/// A stored error message says what happened without quoting the server's whole answer.
pub fn short(error: &str) -> String {
    let one_line = error.replace(['\r', '\n'], " ");
    one_line.chars().take(300).collect()
}

impl From<StoreError> for Prepared {
    fn from(e: StoreError) -> Self {
        Prepared::Finish(EmailOutcome::Failed(short(&e.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopen_link_and_message_id() {
        assert_eq!(
            reopen_link("acme://chat/{conversation_id}?flow={chatflow_id}&app={app_id}", "a", 7, "c1"),
            "acme://chat/c1?flow=7&app=a"
        );
        assert_eq!(message_id_header("u1", "help@acme.example"), "<u1@acme.example>");
    }

    #[test]
    fn errors_are_kept_short_and_on_one_line() {
        let long = format!("451 busy\r\n{}", "x".repeat(500));
        let s = short(&long);
        assert!(!s.contains('\n') && s.chars().count() == 300, "{s}");
    }
}
