//! Visitors (anonymous or identified), their properties, devices and push tokens.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `POST /v1/apps/{app_id}/visitors` answer: a new anonymous visitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitorSession {
    pub visitor_id: String,
    /// Bearer token for every visitor route and the realtime socket. A secret: never log it.
    pub visitor_token: String,
    /// Set once identified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `POST /v1/visitor/identify` body. The identity token is an HS256 JWT signed by the app's backend with the app's
/// identity secret, claims: `sub` (user id), `aud` (app id), `email` (optional), `iat`, `exp` (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentifyRequest {
    pub identity_token: String,
}

/// `POST /v1/visitor/identify` answer: the session now belongs to the user. `visitor_token` replaces the old one;
/// the anonymous visitor's conversations were moved to the user (`merged_conversation_ids`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentifyResponse {
    pub session: VisitorSession,
    pub merged_conversation_ids: Vec<String>,
}

/// Claims of an identity token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityClaims {
    pub sub: String,
    pub aud: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub iat: i64,
    pub exp: i64,
}

/// `PUT /v1/visitor/properties`: replaces the chat properties (string map, capped by `limits`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatProperties {
    pub properties: BTreeMap<String, String>,
}

/// `PUT /v1/visitor/device`: what the platform facade reports about the device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceInfo {
    /// `android`, `ios`, `jvm`, `linux`, …
    pub platform: String,
    #[serde(default)]
    pub os_version: String,
    #[serde(default)]
    pub app_version: String,
    #[serde(default)]
    pub device_model: String,
    /// BCP 47.
    #[serde(default)]
    pub locale: String,
    #[serde(default)]
    pub sdk_version: String,
}

/// `PUT /v1/visitor/push-token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushTokenRequest {
    pub token: String,
    pub platform: PushPlatform,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PushPlatform {
    /// Firebase Cloud Messaging (Android).
    Fcm,
    /// Apple Push Notification service.
    Apns,
}

/// Keys of the push payload the server sends; the SDK's `parse_push` recognises them.
pub mod push_keys {
    /// Always `"chatflow"` in our payloads: tells the app the notification is ours.
    pub const SOURCE: &str = "cf_source";
    pub const SOURCE_VALUE: &str = "chatflow";
    pub const CONVERSATION_ID: &str = "cf_conversation_id";
    pub const CHATFLOW_ID: &str = "cf_chatflow_id";
    pub const SEQ: &str = "cf_seq";
}
