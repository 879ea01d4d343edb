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
    /// At most 50 entries; keys 1..=64 characters, values at most 1000.
    #[cfg_attr(feature = "openapi", schema(schema_with = properties_schema))]
    pub properties: BTreeMap<String, String>,
}

/// The document's form of the `limits` on chat properties (utoipa has no attribute for `propertyNames`).
#[cfg(feature = "openapi")]
fn properties_schema() -> utoipa::openapi::Object {
    use crate::limits::{MAX_PROPERTIES, MAX_PROPERTY_KEY_CHARS, MAX_PROPERTY_VALUE_CHARS};
    use utoipa::openapi::{schema::AdditionalProperties, ObjectBuilder, Type};
    let string = |min: Option<usize>, max: usize| {
        ObjectBuilder::new().schema_type(Type::String).min_length(min).max_length(Some(max))
    };
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(string(Some(1), MAX_PROPERTY_KEY_CHARS)))
        .additional_properties(Some(AdditionalProperties::RefOr(string(None, MAX_PROPERTY_VALUE_CHARS).build().into())))
        .max_properties(Some(MAX_PROPERTIES))
        .build()
}

/// `PUT /v1/visitor/device`: what the platform facade reports about the device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceInfo {
    /// `android`, `ios`, `jvm`, `linux`, …: 1..=128 characters, not only spaces. Every field: at most 128.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 128, pattern = r"\S"))]
    pub platform: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub os_version: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub app_version: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub device_model: String,
    /// BCP 47.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub locale: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub sdk_version: String,
}

/// `PUT /v1/visitor/push-token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushTokenRequest {
    /// 1..=4096 characters, not only spaces.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4096, pattern = r"\S"))]
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

    // What a notification shows (the server fills them; the SDK's `handle_push` reads them).
    /// The author's display name: the notification's title.
    pub const SENDER_NAME: &str = "cf_sender_name";
    /// The visitor's unread count in that conversation (an integer; a string in FCM data).
    pub const UNREAD: &str = "cf_unread";
    /// The message text, only when the app enabled previews; absent otherwise.
    pub const PREVIEW: &str = "cf_preview";
}
