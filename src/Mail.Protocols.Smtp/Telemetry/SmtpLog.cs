using Mail.Protocols.Connections;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Smtp.Telemetry;

// SMTP events, ids 1000–1999. Client data never appears here except addresses' counts and codes.
internal static partial class SmtpLog
{
    [LoggerMessage(1001, LogLevel.Information, "{ConnectionId}: message {QueueId} accepted, {Size} octets, {Recipients} recipient(s)")]
    public static partial void MessageAccepted(ILogger logger, string connectionId, string queueId, long size, int recipients);

    [LoggerMessage(1002, LogLevel.Information, "{ConnectionId}: connection closed during message data; nothing stored")]
    public static partial void ClosedMidData(ILogger logger, string connectionId);

    [LoggerMessage(1003, LogLevel.Debug, "{ConnectionId}: connection closed in the middle of a command or transaction")]
    public static partial void ClosedMidCommand(ILogger logger, string connectionId);

    [LoggerMessage(1004, LogLevel.Information, "{ConnectionId}: {Reason} timeout")]
    public static partial void Timeout(ILogger logger, string connectionId, TimeoutReason reason);

    [LoggerMessage(1005, LogLevel.Warning, "{ConnectionId}: too many errors, closing")]
    public static partial void TooManyErrors(ILogger logger, string connectionId);

    [LoggerMessage(1006, LogLevel.Information, "{ConnectionId}: message over the size limit refused")]
    public static partial void MessageTooLarge(ILogger logger, string connectionId);

    [LoggerMessage(1007, LogLevel.Information, "{ConnectionId}: message with bare CR or LF refused")]
    public static partial void BareLineEnding(ILogger logger, string connectionId);

    [LoggerMessage(1008, LogLevel.Error, "Storing message {QueueId} failed")]
    public static partial void StorageFailed(ILogger logger, string queueId, Exception exception);

    [LoggerMessage(1009, LogLevel.Information, "{ConnectionId}: authenticated as {Login} with {Mechanism}")]
    public static partial void Authenticated(ILogger logger, string connectionId, string login, string mechanism);

    [LoggerMessage(1010, LogLevel.Warning, "{ConnectionId}: authentication with {Mechanism} failed: {Reason}")]
    public static partial void AuthenticationFailed(ILogger logger, string connectionId, string mechanism, string reason);

    [LoggerMessage(1011, LogLevel.Debug, "{ConnectionId}: recipient refused with {Code}")]
    public static partial void RecipientRejected(ILogger logger, string connectionId, int code);

    [LoggerMessage(1017, LogLevel.Debug, "{ConnectionId}: recipient resolved to {Mailboxes} mailbox(es) and {Forwards} forward(s)")]
    public static partial void RecipientExpanded(ILogger logger, string connectionId, int mailboxes, int forwards);

    [LoggerMessage(1018, LogLevel.Information, "{QueueId}: list {List} sent on to {Members} member(s); {Failed} could not be reached and are reported to {Owner}")]
    public static partial void ListDelivered(ILogger logger, string queueId, string list, int members, int failed, string owner);

    [LoggerMessage(1020, LogLevel.Error, "{QueueId}: a failure notice to {To} could not be sent; the copies it reports on stay accepted")]
    public static partial void NoticeFailed(ILogger logger, string queueId, string to, Exception exception);

    [LoggerMessage(1021, LogLevel.Warning, "{ConnectionId}: message refused: more than {Limit} Received fields, a mail loop")]
    public static partial void TooManyHops(ILogger logger, string connectionId, int limit);

    [LoggerMessage(1019, LogLevel.Warning, "{QueueId}: list {List} reached where lists are not expanded (a notification); not sent on")]
    public static partial void ListNotExpanded(ILogger logger, string queueId, string list);

    [LoggerMessage(1015, LogLevel.Information, "{QueueId}: {User} already got this message (same content, reverse path and client address); not stored again")]
    public static partial void DuplicateSuppressed(ILogger logger, string queueId, string user);

    [LoggerMessage(1016, LogLevel.Debug, "{QueueId}: the same message is being stored for {User} by another delivery; waiting for its outcome")]
    public static partial void DuplicateInProgress(ILogger logger, string queueId, string user);

    [LoggerMessage(1014, LogLevel.Error, "{ConnectionId}: command failed; answered 451")]
    public static partial void CommandFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(1012, LogLevel.Information, "{ConnectionId}: connection lost: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, string connectionId, string reason);

    [LoggerMessage(1040, LogLevel.Warning, "{ConnectionId}: refused by the rate limit {Limit}")]
    public static partial void RateLimited(ILogger logger, string connectionId, Mail.Protocols.RateLimits.SessionRateLimit limit);

    [LoggerMessage(1022, LogLevel.Error, "{ConnectionId}: the OnMessageAcceptedAsync hook failed for message {QueueId}; the message stays accepted")]
    public static partial void AcceptedHookFailed(ILogger logger, string connectionId, string queueId, Exception exception);

    [LoggerMessage(1023, LogLevel.Information, "{ConnectionId}: a hook ended the session ({How})")]
    public static partial void HookEndedSession(ILogger logger, string connectionId, string how);
}
