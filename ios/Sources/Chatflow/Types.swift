import ChatflowBindings

// The records and enums apps see, re-exported from the generated bindings so an app imports `Chatflow` only.
// All are value types and `Sendable`.

public typealias ChatflowConfig = ChatflowBindings.ChatflowConfig
/// The config's `environment` (`production`, `staging`, ...). Named `ChatflowEnvironment`, not `Environment`, so an
/// app that imports both Chatflow and SwiftUI can still write `@Environment` unqualified.
public typealias ChatflowEnvironment = ChatflowBindings.Environment

public typealias ChatflowResolution = ChatflowBindings.ChatflowResolution
public typealias ResolveOutcome = ChatflowBindings.ResolveOutcome
public typealias ResolvedChatflow = ChatflowBindings.ResolvedChatflow
public typealias ChatflowKind = ChatflowBindings.ChatflowKind
public typealias ChatHeader = ChatflowBindings.ChatHeader
public typealias AvailabilityInfo = ChatflowBindings.AvailabilityInfo
public typealias AwayBehavior = ChatflowBindings.AwayBehavior
public typealias TypicalResponseTime = ChatflowBindings.TypicalResponseTime
public typealias EmailCaptureInfo = ChatflowBindings.EmailCaptureInfo
public typealias EmailCaptureMode = ChatflowBindings.EmailCaptureMode
public typealias BotOptions = ChatflowBindings.BotOptions
public typealias ConsentRequirements = ChatflowBindings.ConsentRequirements
public typealias CommunicateConsent = ChatflowBindings.CommunicateConsent
public typealias Explanation = ChatflowBindings.Explanation
public typealias Candidate = ChatflowBindings.Candidate
public typealias Verdict = ChatflowBindings.Verdict
public typealias CacheInfo = ChatflowBindings.CacheInfo
public typealias RefreshOutcome = ChatflowBindings.RefreshOutcome
public typealias EmailPrompt = ChatflowBindings.EmailPrompt

public typealias ConsentState = ChatflowBindings.ConsentState
public typealias ProcessDataMode = ChatflowBindings.ProcessDataMode
public typealias ProcessDataStatus = ChatflowBindings.ProcessDataStatus
public typealias ProcessDataState = ChatflowBindings.ProcessDataState
public typealias CommunicateState = ChatflowBindings.CommunicateState

public typealias SessionInfo = ChatflowBindings.SessionInfo
public typealias IdentifyOutcome = ChatflowBindings.IdentifyOutcome
public typealias DeviceInfo = ChatflowBindings.DeviceInfo
public typealias PushPlatform = ChatflowBindings.PushPlatform
public typealias PushTarget = ChatflowBindings.PushTarget
public typealias PushHandling = ChatflowBindings.PushHandling
public typealias PushNotification = ChatflowBindings.PushNotification
public typealias PushSync = ChatflowBindings.PushSync

public typealias ErrorCode = ChatflowBindings.ErrorCode

public typealias ChatConversation = ChatflowBindings.ChatConversation
public typealias ConversationStatus = ChatflowBindings.ConversationStatus
public typealias AgentRef = ChatflowBindings.AgentRef
public typealias ChatMessage = ChatflowBindings.ChatMessage
public typealias MessageAttachment = ChatflowBindings.MessageAttachment
public typealias ImageInfo = ChatflowBindings.ImageInfo
public typealias AttachmentLimits = ChatflowBindings.AttachmentLimits
public typealias HistoryPage = ChatflowBindings.HistoryPage
public typealias MessageState = ChatflowBindings.MessageState
public typealias Author = ChatflowBindings.Author
public typealias AuthorKind = ChatflowBindings.AuthorKind
public typealias QuickReply = ChatflowBindings.QuickReply
public typealias UnreadCounts = ChatflowBindings.UnreadCounts
public typealias UnreadCount = ChatflowBindings.UnreadCount
public typealias ChatEvent = ChatflowBindings.ChatEvent
public typealias ConnectionState = ChatflowBindings.ConnectionState
public typealias BackgroundOutcome = ChatflowBindings.BackgroundOutcome
public typealias TypingAuthor = ChatflowBindings.TypingAuthor
public typealias Reader = ChatflowBindings.Reader

public typealias Article = ChatflowBindings.Article
public typealias KbSyncReport = ChatflowBindings.KbSyncReport
public typealias SearchResults = ChatflowBindings.SearchResults
public typealias SearchHit = ChatflowBindings.SearchHit
public typealias ByteRange = ChatflowBindings.ByteRange

extension ChatflowConfig {
    /// Parses and validates the text of the app's `chatflow.json`; the error names the wrong field.
    public static func fromJSON(_ json: String) throws(ChatflowError) -> ChatflowConfig {
        try ffi { try configFromJson(json: json) }
    }
}
