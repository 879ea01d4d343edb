//! Consent records and the gate on visitor messages.
//!
//! Explicit process-data consent: a visitor message is refused (`consent_required`) until the visitor stored an
//! `accepted` record for that chatflow whose `text_hash` is the SHA-256 (lowercase hex) of the chatflow's *current*
//! notice; editing the notice therefore asks everyone again. Legitimate interest: messages are accepted without a
//! record (the SDK sends an `implied` record with the first message, for the audit trail).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::{Chatflow, ConsentKind, ConsentRecord, ConsentRecordInput, ErrorBody, ProcessDataMode};

use crate::auth::{sha256_hex, VisitorAuth};
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath};
use crate::messages::validate_client_id;
use crate::state::AppState;
use crate::store::Put;

const MAX_SUBSCRIPTION_TYPE_CHARS: usize = 100;

/// The text hash a visitor must have accepted before messaging on this chatflow, if any.
pub fn required_text_hash(chatflow: &Chatflow) -> Option<String> {
    (chatflow.consent.process_data.mode == ProcessDataMode::Explicit)
        .then(|| sha256_hex(chatflow.consent.process_data.text.as_bytes()))
}

fn validate(input: &ConsentRecordInput) -> Result<(), ApiError> {
    let h = &input.text_hash;
    if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(ApiError::invalid_field(
            "text_hash must be the lowercase hex SHA-256 (64 characters) of the text shown",
        ));
    }
    match (&input.kind, &input.subscription_type) {
        (ConsentKind::Communicate, None) => {
            return Err(ApiError::invalid_field("subscription_type is required for a `communicate` record"))
        }
        (_, Some(t)) if t.trim().is_empty() || t.chars().count() > MAX_SUBSCRIPTION_TYPE_CHARS => {
            return Err(ApiError::invalid_field(format!(
                "subscription_type must be 1..={MAX_SUBSCRIPTION_TYPE_CHARS} characters"
            )))
        }
        _ => {}
    }
    if input.decided_at < 0 {
        return Err(ApiError::invalid_field("decided_at must be Unix milliseconds"));
    }
    Ok(())
}

#[utoipa::path(
    put,
    path = "/v1/consents/{client_record_id}",
    tag = "consent",
    security(("visitor_token" = [])),
    description = "Stores a consent decision. Idempotent by record id: the same id with the same content returns the \
        stored record (200); with other content it is `idempotency_conflict`.",
    params((
        "client_record_id" = String, Path, description = "Client-generated id, 1..=64 of [A-Za-z0-9_-]",
        min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]*$"
    )),
    request_body = ConsentRecordInput,
    responses(
        (status = 201, description = "Stored now", body = ConsentRecord),
        (status = 200, description = "Already stored with the same content", body = ConsentRecord),
        (status = 400, description = "invalid_body, invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (chatflow not in this app)", body = ErrorBody),
        (status = 409, description = "idempotency_conflict", body = ErrorBody),
    )
)]
pub async fn put_consent(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiPath(record_id): ApiPath<String>,
    ApiJson(input): ApiJson<ConsentRecordInput>,
) -> Result<(StatusCode, Json<ConsentRecord>), ApiError> {
    validate_client_id("client_record_id", &record_id)?;
    validate(&input)?;
    let visitor_id = auth.visitor.id;
    let now = state.now_ms();
    let put = state.db(move |s| crate::domain::consent::put(s, &visitor_id, &record_id, &input, now)).await?;
    Ok(match put {
        Put::Created(r) => (StatusCode::CREATED, Json(r)),
        Put::Existing(r) => (StatusCode::OK, Json(r)),
    })
}

/// States in the document that a `communicate` record names its `subscription_type`: `ConsentRecordInput` becomes
/// `allOf` [its fields, `oneOf` [kind `communicate` with a subscription type, kind `process_data`]].
pub fn communicate_needs_a_subscription_type(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::schema::{AllOfBuilder, OneOfBuilder, Schema, Type};
    use utoipa::openapi::{ObjectBuilder, RefOr};
    let Some(RefOr::T(fields)) = components.schemas.remove("ConsentRecordInput") else { return };
    let kind = |k: &str| ObjectBuilder::new().schema_type(Type::String).enum_values(Some([k]));
    let communicate = ObjectBuilder::new()
        .property("kind", kind("communicate"))
        .property("subscription_type", ObjectBuilder::new().schema_type(Type::String))
        .required("kind")
        .required("subscription_type");
    let process_data = ObjectBuilder::new().property("kind", kind("process_data")).required("kind");
    let description = match &fields {
        Schema::Object(o) => o.description.clone(),
        _ => None,
    };
    let shapes = OneOfBuilder::new().item(communicate).item(process_data);
    let schema = AllOfBuilder::new().item(fields).item(shapes).description(description);
    components.schemas.insert("ConsentRecordInput".to_owned(), RefOr::T(schema.into()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatflow_protocol::ConsentDecision;

    fn input() -> ConsentRecordInput {
        ConsentRecordInput {
            chatflow_id: 1,
            kind: ConsentKind::ProcessData,
            decision: ConsentDecision::Accepted,
            text_hash: sha256_hex(b"notice"),
            subscription_type: None,
            decided_at: 1,
        }
    }

    #[test]
    fn record_validation() {
        assert!(validate(&input()).is_ok());
        assert!(validate(&ConsentRecordInput { text_hash: "ABC".into(), ..input() }).is_err());
        assert!(validate(&ConsentRecordInput { text_hash: sha256_hex(b"x").to_uppercase(), ..input() }).is_err());
        assert!(validate(&ConsentRecordInput { kind: ConsentKind::Communicate, ..input() }).is_err());
        let ok = ConsentRecordInput {
            kind: ConsentKind::Communicate,
            subscription_type: Some("product_updates".into()),
            ..input()
        };
        assert!(validate(&ok).is_ok());
    }
}
