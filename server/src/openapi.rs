//! The OpenAPI document, generated from the handlers' annotations and the protocol types (`/openapi.json`).

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{
    accounts, admin, agent, agent_feed, canned, chatflows, clock, consent, conversations, email, inbox, kb, messages,
    notes, notify, realtime, surveys, tickets, visitors,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Chatflow reference server",
        description = "REST and WebSocket API of the Chatflow reference server, protocol v1. Every refusal is a 4xx/5xx \
            with an `ErrorBody` (`code` from a closed set, `message` for humans). Visitors only ever see their own \
            conversations: another visitor's is `not_found`, exactly like one that does not exist."
    ),
    paths(
        health,
        openapi_json,
        chatflows::list_chatflows,
        chatflows::chatflow_status,
        visitors::create_visitor,
        visitors::identify,
        visitors::put_properties,
        visitors::put_device,
        visitors::put_push_token,
        visitors::delete_push_token,
        visitors::delete_visitor,
        conversations::open_conversation,
        conversations::list_conversations,
        conversations::get_conversation,
        messages::put_message,
        messages::list_messages,
        messages::post_read,
        messages::post_typing,
        consent::put_consent,
        realtime::realtime,
        inbox::views::list,
        agent::reply,
        inbox::actions::close,
        agent::read,
        agent::typing,
        agent::presence,
        inbox::views::agents,
        inbox::views::get_one,
        inbox::views::messages,
        inbox::actions::assign,
        inbox::actions::take_over,
        inbox::actions::block,
        inbox::actions::unblock,
        inbox::actions::spam,
        inbox::actions::unspam,
        inbox::actions::unlink_contact,
        inbox::actions::delete,
        inbox::transcript::json,
        inbox::transcript::text,
        agent_feed::feed,
        inbox::context::counts,
        inbox::context::visitor,
        inbox::context::reopen,
        inbox::context::kb_search,
        notes::create,
        notes::list,
        canned::list,
        canned::create,
        canned::update,
        canned::delete,
        tickets::create_for_conversation,
        tickets::list,
        tickets::get,
        tickets::update,
        admin::list,
        admin::create,
        admin::get,
        admin::update,
        admin::delete,
        clock::put_clock,
        tickets::get_chatflow_help_desk,
        tickets::put_chatflow_help_desk,
        tickets::get_channel_help_desk,
        tickets::put_channel_help_desk,
        kb::changes,
        kb::search,
        kb::admin_list,
        kb::admin_create,
        kb::admin_get,
        kb::admin_update,
        kb::admin_delete,
        accounts::login,
        accounts::me,
        accounts::logout,
        accounts::admin::list_agents,
        accounts::admin::create_agent,
        accounts::admin::disable_agent,
        accounts::admin::enable_agent,
        accounts::admin::reset_password,
        accounts::admin::list_teams,
        accounts::admin::create_team,
        accounts::admin::add_member,
        accounts::admin::remove_member,
        // Push delivery (#16).
        notify::push::admin::get,
        notify::push::admin::put,
        notify::push::admin::delete,
        // Email over SMTP (docs/email.md).
        email::settings::get,
        email::settings::put,
        email::settings::delete,
        email::manual::send,
        // Satisfaction survey results.
        surveys::agent_summary,
        surveys::admin_summary,
        // Attachments (#17).
        crate::attachments::uploads::visitor_declare,
        crate::attachments::uploads::visitor_status,
        crate::attachments::patch::visitor_append,
        crate::attachments::uploads::agent_declare,
        crate::attachments::uploads::agent_status,
        crate::attachments::patch::agent_append,
        crate::attachments::download::visitor_file,
        crate::attachments::download::visitor_thumbnail,
        crate::attachments::download::agent_file,
        crate::attachments::download::agent_thumbnail,
        crate::attachments::limits::get,
        crate::attachments::limits::put,
    ),
    components(schemas(
        chatflow_protocol::ClientFrame,
        chatflow_protocol::ServerFrame,
        agent_feed::FeedFrame,
        Health,
        crate::store::inbox::InboxView
    )),
    modifiers(&Security),
    tags(
        (name = "chatflows", description = "Chatflow configuration and availability, read by the SDK"),
        (name = "visitors", description = "Visitor sessions and identity"),
        (name = "conversations", description = "A visitor's conversations"),
        (name = "messages", description = "Messages: idempotent send, paging, read marks, typing"),
        (name = "consent", description = "Consent records"),
        (name = "realtime", description = "The visitor WebSocket"),
        (name = "agent", description = "Agent replies, read marks, typing, presence (agent token)"),
        (name = "inbox", description = "Agent inbox: views, filters, assignment, take-over, blocking, transcripts"),
        (name = "tickets", description = "Help-desk tickets (agent token)"),
        (name = "admin", description = "Chatflow administration (admin token)"),
        (name = "kb", description = "Knowledge base: delta sync and search (visitor token)"),
        (name = "accounts", description = "Agent sign-in to the web inbox (session cookie + CSRF token), and agents \
            and teams managed with the admin token"),
        (name = "meta", description = "Health and this document"),
        (name = "surveys", description = "Satisfaction survey results (agent session or token, admin token)"),
        (name = "attachments", description = "Resumable uploads and downloads of files (visitor token, agent token \
            or session)"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |what: &str| {
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(what)).build())
        };
        components.add_security_scheme("visitor_token", bearer("Visitor token from POST /v1/apps/{app_id}/visitors"));
        components.add_security_scheme("agent_token", bearer("Agent token (from the seed)"));
        components.add_security_scheme(
            "agent_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "cf_agent_session",
                "The web inbox's session cookie (POST /v1/agent/login). Requests other than GET/HEAD also need \
                 `X-CSRF-Token`; every /v1/agent/* route accepts it like an agent token.",
            ))),
        );
        components.add_security_scheme("admin_token", bearer("The app's admin token (from the seed)"));
        tickets::require_one_patch_field(components);
        admin::bot_settings_follow_the_kind(components);
        consent::communicate_needs_a_subscription_type(components);
    }
}

/// `/healthz` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
}

#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, description = "Alive", body = Health)))]
pub async fn health() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

#[utoipa::path(get, path = "/openapi.json", tag = "meta", responses((status = 200, description = "This document")))]
pub async fn openapi_json() -> impl IntoResponse {
    // Generated once: the document is a constant of the binary.
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc =
        DOC.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")));
    ([(CONTENT_TYPE, "application/json")], doc.as_str())
}
