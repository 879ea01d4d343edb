package io.chatflow

/**
 * Reads an FCM data message — pass `RemoteMessage.data` as it is — and says whether it is one of ours and which
 * conversation to open. Anything else (another SDK's push, a malformed one) is [PushTarget.NotOurs]; it never throws.
 * Needs no client, so it also works before the chat is opened:
 *
 * ```
 * when (val target = ChatflowClient.parsePush(message.data)) {
 *     is PushTarget.Conversation -> openChat(target.conversationId)
 *     PushTarget.NotOurs -> handleOwnPush(message)
 * }
 * ```
 */
fun ChatflowClient.Companion.parsePush(data: Map<String, String>): PushTarget = io.chatflow.parsePush(payload = data)
