//! Every REST request and response body of the protocol: the first byte picks the type, the rest is the JSON body.
//! Never a panic, and what decodes round-trips. The seed corpus files start with the selector byte.
#![no_main]

use chatflow_fuzz::round_trip;
use chatflow_protocol as p;
use libfuzzer_sys::fuzz_target;

macro_rules! bodies {
    ($($ty:ty),* $(,)?) => {
        fn check(selector: u8, body: &[u8]) {
            let types: &[fn(&[u8])] = &[$(|b| { let _ = round_trip::<$ty>(b); }),*];
            types[usize::from(selector) % types.len()](body);
        }
    };
}

// Order matters: the corpus files are named after the index (`NN-type.json`). Append new types at the end.
bodies!(
    p::Conversation,
    p::OpenConversationRequest,
    p::ConversationList,
    p::Message,
    p::SendMessageRequest,
    p::MessagePage,
    p::ReadReceipt,
    p::AgentReplyRequest,
    p::TypingRequest,
    p::VisitorSession,
    p::IdentifyRequest,
    p::IdentifyResponse,
    p::IdentityClaims,
    p::ChatProperties,
    p::DeviceInfo,
    p::PushTokenRequest,
    p::Chatflow,
    p::ChatflowList,
    p::ChatflowStatusList,
    p::ChatflowStatus,
    p::ChatflowInput,
    p::ConsentRecordInput,
    p::ConsentRecord,
    p::Article,
    p::ArticleChanges,
    p::SearchResults,
    p::BotSettings,
    p::ErrorBody,
    p::attachment::UploadRequest,
    p::attachment::UploadStatus,
    p::attachment::Attachment,
    p::attachment::AttachmentLimits,
);

fuzz_target!(|data: &[u8]| {
    if let Some((&selector, body)) = data.split_first() {
        check(selector, body);
    }
});
