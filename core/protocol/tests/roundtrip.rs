//! Every wire type survives JSON and back unchanged, and its JSON has the documented shape.

use chatflow_protocol::*;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::json;

fn roundtrip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) -> serde_json::Value {
    let json = serde_json::to_value(value).unwrap();
    let back: T = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(&back, value);
    json
}

fn sample_message() -> Message {
    Message {
        conversation_id: "c1".into(),
        seq: 7,
        client_message_id: Some("018f4e0e-8a8b-7c3d-9e2f-0123456789ab".into()),
        author: Author { kind: AuthorKind::Bot, id: None, display_name: Some("Helper".into()), avatar_url: None },
        body: "Which plan are you on?".into(),
        quick_replies: vec![QuickReply { id: "free".into(), label: "Free".into() }],
        quick_reply_id: None,
        created_at: 1_700_000_000_000,
        survey: None,
        attachments: Vec::new(),
    }
}

pub fn sample_chatflow() -> Chatflow {
    Chatflow {
        id: 3,
        name: "Support (EN)".into(),
        kind: ChatflowKind::Bot,
        enabled: true,
        priority: 10,
        mobile_tags: vec!["support".into()],
        language: "en".into(),
        welcome_message: "Hi!".into(),
        header: ChatHeader { display_name: "Team".into(), avatar_url: None, use_branding_as_agent_alias: true },
        email_capture: EmailCapture { mode: EmailCaptureMode::WhenAway, prompt: "Your email?".into() },
        routing: Routing {
            target: RoutingTarget::Specific { agent_ids: vec!["ag1".into()], team_ids: vec![] },
            available_agents_only: true,
        },
        availability: Availability {
            mode: AvailabilityMode::BusinessHours,
            time_zone: "Europe/Paris".into(),
            business_hours: vec![OpeningRange { day: Day::Monday, start: "09:00".into(), end: "17:00".into() }],
            when_away: AwayBehavior::HideLauncher,
            away_message: "Back tomorrow".into(),
            typical_response_time: Some(TypicalResponseTime::FewHours),
        },
        knowledge_base: KnowledgeBaseSettings { enabled: true, kb_id: Some(1) },
        consent: ConsentSettings {
            process_data: ProcessDataConsent { mode: ProcessDataMode::Explicit, text: "We store your data.".into() },
            communicate: Some(CommunicateConsent {
                subscription_type: "product_updates".into(),
                checkbox_label: "Send me updates".into(),
            }),
        },
        bot: Some(BotSettings {
            session_timeout_minutes: 30,
            message_delay_ms: 500,
            error_reply: "Sorry?".into(),
            display_name: None,
            avatar_url: None,
            flow: BotFlow {
                start: "q1".into(),
                nodes: vec![
                    BotNode {
                        id: "q1".into(),
                        action: BotAction::Ask {
                            text: "Plan?".into(),
                            quick_replies: vec![QuickReply { id: "free".into(), label: "Free".into() }],
                            allow_free_text: false,
                            validation: None,
                            save_as: Some("plan".into()),
                            next: Some("b".into()),
                        },
                    },
                    BotNode {
                        id: "b".into(),
                        action: BotAction::Branch {
                            rules: vec![BranchRule {
                                condition: Condition {
                                    subject: ConditionSubject::LastAnswer,
                                    op: ConditionOp::Equals,
                                    value: "free".into(),
                                },
                                next: "h".into(),
                            }],
                            otherwise: Some("e".into()),
                        },
                    },
                    BotNode { id: "h".into(), action: BotAction::Handoff { text: None } },
                    BotNode { id: "e".into(), action: BotAction::End { text: Some("Bye".into()) } },
                ],
            },
        }),
        csat_survey: true,
        transcript_on_close: false,
        updated_at: 1,
    }
}

#[test]
fn chatflow_roundtrips_with_documented_shape() {
    let json = roundtrip(&sample_chatflow());
    assert_eq!(json["kind"], "bot");
    assert_eq!(json["routing"]["mode"], "specific");
    assert_eq!(json["routing"]["available_agents_only"], true);
    assert_eq!(json["availability"]["business_hours"][0]["day"], "monday");
    assert_eq!(json["consent"]["process_data"]["mode"], "explicit");
    assert_eq!(json["bot"]["flow"]["nodes"][0]["action"], "ask");
    assert_eq!(json["bot"]["flow"]["nodes"][1]["rules"][0]["condition"]["subject"]["kind"], "last_answer");
    roundtrip(&ChatflowList {
        chatflows: vec![sample_chatflow()],
        etag: "\"abc\"".into(),
        attachment_limits: AttachmentLimits::default(),
    });
    // A server that predates attachments: the defaults apply.
    let old: ChatflowList = serde_json::from_str(r#"{"chatflows":[],"etag":"\"e\""}"#).unwrap();
    assert_eq!(old.attachment_limits, AttachmentLimits::default());
}

#[test]
fn frames_are_tagged_by_type() {
    let frames = vec![
        ClientFrame::Resume { cursors: vec![ConversationCursor { conversation_id: "c".into(), last_seq: 3 }] },
        ClientFrame::Send {
            conversation_id: "c".into(),
            client_message_id: "m".into(),
            body: "hi".into(),
            quick_reply_id: None,
            survey_answer: None,
            attachments: vec!["upload-1".into()],
        },
        ClientFrame::Typing { conversation_id: "c".into(), typing: true },
        ClientFrame::Read { conversation_id: "c".into(), seq: 2 },
        ClientFrame::Ping { nonce: 9 },
    ];
    for f in &frames {
        let json = roundtrip(f);
        assert!(json["type"].is_string());
    }
    assert_eq!(serde_json::to_value(&frames[0]).unwrap()["type"], "resume");

    let server = vec![
        ServerFrame::Hello { visitor_id: "v".into(), server_time: 1, heartbeat_interval_ms: HEARTBEAT_INTERVAL_MS },
        ServerFrame::Backlog { conversation_id: "c".into(), messages: vec![sample_message()] },
        ServerFrame::Resumed,
        ServerFrame::Message { message: sample_message() },
        ServerFrame::Ack { client_message_id: "m".into(), message: sample_message() },
        ServerFrame::Nack {
            client_message_id: "m".into(),
            error: ErrorBody::new(ErrorCode::ConsentRequired, "accept consent first"),
        },
        ServerFrame::Typing {
            conversation_id: "c".into(),
            author: TypingAuthor { kind: AuthorKind::Agent, display_name: Some("Ana".into()) },
            typing: true,
            expires_in_ms: TYPING_EXPIRES_MS,
        },
        ServerFrame::Read { conversation_id: "c".into(), reader: Reader::Agent, seq: 4 },
        ServerFrame::Assigned { conversation_id: "c".into(), agent: None },
        ServerFrame::ConversationClosed { conversation_id: "c".into() },
        ServerFrame::ConversationReopened { conversation_id: "c".into() },
        ServerFrame::Pong { nonce: 9 },
        ServerFrame::Error { error: ErrorBody::new(ErrorCode::InvalidBody, "x") },
    ];
    for f in &server {
        roundtrip(f);
    }
    assert_eq!(serde_json::to_value(&server[9]).unwrap()["type"], "conversation_closed");
}

#[test]
fn rest_bodies_roundtrip() {
    roundtrip(&sample_message());
    roundtrip(&MessagePage { messages: vec![sample_message()], has_more: true, last_seq: 9 });
    roundtrip(&SendMessageRequest {
        body: "x".into(),
        quick_reply_id: Some("free".into()),
        survey_answer: None,
        attachments: Vec::new(),
    });
    let with_file = roundtrip(&SendMessageRequest {
        body: String::new(),
        quick_reply_id: None,
        survey_answer: None,
        attachments: vec!["u1".into(), "u2".into()],
    });
    assert_eq!(with_file["attachments"], serde_json::json!(["u1", "u2"]));
    let image = Attachment {
        id: "att_1".into(),
        file_name: "screen.png".into(),
        mime_type: "image/png".into(),
        size: 2048,
        sha256: "ab".repeat(32),
        image: Some(ImageInfo { width: 1080, height: 2400, thumbnail_width: 144, thumbnail_height: 320 }),
    };
    roundtrip(&Message { attachments: vec![image.clone()], body: String::new(), ..sample_message() });
    roundtrip(&UploadStatus {
        upload_id: "u1".into(),
        offset: 2048,
        size: 2048,
        complete: true,
        attachment: Some(image),
        expires_at: 1_700_000_000_000,
    });
    roundtrip(&SendMessageRequest {
        body: "4/5".into(),
        quick_reply_id: None,
        survey_answer: Some(SurveyAnswer { survey_seq: 8, rating: 4, comment: Some("Quick".into()) }),
        attachments: Vec::new(),
    });
    let prompt = Message {
        author: Author { kind: AuthorKind::System, id: None, display_name: None, avatar_url: None },
        survey: Some(MessageSurvey::Prompt(SurveyPrompt::for_language("fr"))),
        ..sample_message()
    };
    assert_eq!(roundtrip(&prompt)["survey"]["type"], "prompt");
    roundtrip(&VisitorSession {
        visitor_id: "v".into(),
        visitor_token: "t".into(),
        user_id: Some("u".into()),
        email: None,
    });
    roundtrip(&IdentifyRequest { identity_token: "a.b.c".into() });
    roundtrip(&DeviceInfo { platform: "android".into(), ..Default::default() });
    roundtrip(&PushTokenRequest { token: "tok".into(), platform: PushPlatform::Fcm });
    let rec = roundtrip(&ConsentRecord {
        record_id: "r".into(),
        visitor_id: "v".into(),
        input: ConsentRecordInput {
            chatflow_id: 1,
            kind: ConsentKind::ProcessData,
            decision: ConsentDecision::Accepted,
            text_hash: "ab".into(),
            subscription_type: None,
            decided_at: 5,
        },
        recorded_at: 6,
    });
    assert_eq!(rec["decision"], "accepted", "input fields are flattened");
    roundtrip(&ErrorBody::new(ErrorCode::IdentityTokenExpired, "ask your backend for a new token"));
    assert_eq!(
        serde_json::to_value(ErrorBody::new(ErrorCode::NotFound, "x")).unwrap(),
        json!({"code": "not_found", "message": "x"})
    );
}

#[test]
fn unknown_frame_type_is_an_error_not_a_panic() {
    assert!(serde_json::from_str::<ServerFrame>(r#"{"type":"telepathy"}"#).is_err());
    assert!(serde_json::from_str::<ClientFrame>(r#"{"no_type":1}"#).is_err());
}
