//! Consent records: what a visitor accepted or declined, on which text.

use serde::{Deserialize, Serialize};

/// `PUT /v1/consents/{client_record_id}` body — idempotent like messages: re-sending the same record id returns the
/// stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentRecordInput {
    pub chatflow_id: i64,
    pub kind: ConsentKind,
    pub decision: ConsentDecision,
    /// Hex SHA-256 of the exact text shown (process-data notice, or the checkbox label). A changed text is a new
    /// version. Lowercase hex, 64 characters.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[0-9a-f]{64}$"))]
    pub text_hash: String,
    /// For `communicate` (required there): the subscription type opted into, 1..=100 characters, not only spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100, pattern = r"\S"))]
    pub subscription_type: Option<String>,
    /// When the visitor decided, on the device clock (Unix ms).
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub decided_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentRecord {
    pub record_id: String,
    pub visitor_id: String,
    #[serde(flatten)]
    pub input: ConsentRecordInput,
    /// Server clock when stored (Unix ms).
    pub recorded_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentKind {
    /// Consent to process personal data (explicit, or legitimate interest recorded with the first message).
    ProcessData,
    /// Opt-in to a subscription type.
    Communicate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentDecision {
    Accepted,
    Declined,
    /// Legitimate interest: the notice was shown and the visitor started chatting.
    Implied,
}
