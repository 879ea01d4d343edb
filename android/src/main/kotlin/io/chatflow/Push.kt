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

/**
 * Handles an FCM data message (`RemoteMessage.data` as it is) in `FirebaseMessagingService.onMessageReceived`: when it
 * is ours, catches its conversation up from the server (at most a few seconds; also right after a cold start, the
 * session comes from the device) and returns the notification to show — title, body and unread count from the
 * device, or from the payload when the server could not be reached ([PushNotification.sync] says which). Anything
 * else is [PushHandling.NotOurs]. Never throws.
 *
 * ```
 * when (val handled = chat.handlePush(message.data)) {
 *     is PushHandling.Notification -> show(handled.notification)
 *     PushHandling.NotOurs -> handleOwnPush(message)
 * }
 * ```
 */
suspend fun ChatflowClient.handlePush(data: Map<String, String>): PushHandling = raw.handlePush(data)
