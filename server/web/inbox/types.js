// @ts-check
// The shapes of the API bodies the page reads (contract: ../API.md, and GET /openapi.json of the server).
// Types only: this module exports nothing at run time.

/**
 * @typedef {{code: string, message: string}} ErrorBody
 *
 * @typedef {{id: string, display_name: string, avatar_url?: string}} AgentRef
 *
 * @typedef {"visitor" | "agent" | "bot" | "system"} AuthorKind
 * @typedef {{kind: AuthorKind, id?: string, display_name?: string, avatar_url?: string}} Author
 * @typedef {{id: string, label: string}} QuickReply
 *
 * @typedef {{
 *   conversation_id: string, seq: number, client_message_id?: string, author: Author, body: string,
 *   quick_replies?: QuickReply[], quick_reply_id?: string, created_at: number, attachments?: Attachment[]
 * }} Message
 *
 * @typedef {{width: number, height: number, thumbnail_width: number, thumbnail_height: number}} ImageInfo
 * @typedef {{id: string, file_name: string, mime_type: string, size: number, sha256: string, image?: ImageInfo}}
 *   Attachment
 * @typedef {{max_bytes: number, max_per_message: number, mime_types: string[]}} AttachmentLimits
 * @typedef {{upload_id: string, file_name: string, mime_type: string, size: number, sha256: string}} UploadRequest
 * @typedef {{
 *   upload_id: string, offset: number, size: number, complete: boolean, attachment?: Attachment, expires_at: number
 * }} UploadStatus
 *
 * @typedef {{messages: Message[], has_more: boolean, last_seq: number}} MessagePage
 *
 * @typedef {"open" | "closed"} ConversationStatus
 * @typedef {"mobile_chat" | "email" | "form" | "messenger" | "whatsapp" | "call"} Channel
 *
 * @typedef {{
 *   id: string, chatflow_id: number, visitor_id: string, status: ConversationStatus, channel: Channel,
 *   assignee?: AgentRef, created_at: number, last_seq: number, agent_read_seq: number, visitor_read_seq: number
 * }} Conversation
 *
 * @typedef {{
 *   conversation: Conversation, visitor_user_id?: string, visitor_typing: boolean, contact_name: string,
 *   contact_email?: string, title: string, preview?: string, opened_at: number, closed_at?: number,
 *   channel_label: string, chatflow_name?: string, handled_by: "agents" | "bot", blocked: boolean, spam: boolean,
 *   contact_unlinked: boolean, ticket_id?: number
 * }} InboxRow
 *
 * @typedef {{conversations: InboxRow[], next_cursor?: string}} ConversationList
 *
 * @typedef {{
 *   id: string, app_id: string, app_name: string, display_name: string, email: string, avatar_url?: string,
 *   available: boolean, team_ids: string[]
 * }} AgentMe
 * @typedef {{agent: AgentMe, csrf_token: string}} Session
 * @typedef {{id: string, display_name: string, available: boolean, team_ids: string[]}} Agent
 *
 * @typedef {{
 *   id: string, conversation_id: string, after_seq: number, author: Author, body: string, created_at: number
 * }} Note
 *
 * @typedef {{id: string, shortcut: string, title: string, text: string, updated_at: number}} CannedResponse
 *
 * @typedef {{
 *   platform: string, os_version: string, app_version: string, device_model: string, locale: string,
 *   sdk_version: string
 * }} DeviceInfo
 *
 * @typedef {{
 *   record_id: string, visitor_id: string, chatflow_id: number, kind: "process_data" | "communicate",
 *   decision: "accepted" | "declined" | "implied", text_hash: string, subscription_type?: string,
 *   decided_at: number, recorded_at: number
 * }} ConsentRecord
 *
 * @typedef {"new" | "waiting_on_contact" | "waiting_on_us" | "closed"} TicketStatus
 * @typedef {{
 *   id: number, conversation_id: string, chatflow_id: number, channel_label: string, pipeline: string,
 *   status: TicketStatus, subject?: string, assignee_agent_id?: string, created_at: number, updated_at: number
 * }} Ticket
 *
 * @typedef {{
 *   visitor_id: string, identified: boolean, user_id?: string, name?: string, email?: string,
 *   properties: Record<string, string>, device?: DeviceInfo | null, consents: ConsentRecord[],
 *   conversations: InboxRow[], tickets: Ticket[]
 * }} VisitorContext
 *
 * @typedef {{article_id: number, kb_id: number, title: string, url: string, snippet: string, language: string}} KbHit
 *
 * @typedef {"all" | "mine" | "unassigned" | "bots" | "filtered"} ViewName
 * @typedef {Record<ViewName, number>} ViewNumbers
 * @typedef {ViewNumbers & {unread?: Partial<ViewNumbers>}} Counts
 *
 * @typedef {{type: "ready", cursor: string}} ReadyEvent
 * @typedef {{type: "conversation", cursor: string, row: InboxRow}} ConversationEvent
 * @typedef {{type: "message", cursor: string, message: Message}} MessageEvent
 * @typedef {{type: "note", cursor: string, note: Note}} NoteEvent
 * @typedef {{type: "typing", conversation_id: string, typing: boolean}} TypingEvent
 * @typedef {{type: "presence", agent_id: string, available: boolean}} PresenceEvent
 * @typedef {{type: "resync"}} ResyncEvent
 * @typedef {ReadyEvent | ConversationEvent | MessageEvent | NoteEvent | TypingEvent | PresenceEvent | ResyncEvent}
 *   FeedEvent
 *
 * @typedef {{
 *   status: "" | ConversationStatus, assignee: string, channel: "" | Channel, from: string, to: string, q: string
 * }} Filters
 */

export {};
