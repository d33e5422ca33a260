using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Imap.Telemetry;

// IMAP events, ids 3000–3999. Credentials and message content never appear.
internal static partial class ImapLog
{
    [LoggerMessage(3001, LogLevel.Information, "{ConnectionId}: {Login} logged in with {Method}")]
    public static partial void LoggedIn(ILogger logger, string connectionId, string login, string method);

    [LoggerMessage(3002, LogLevel.Warning, "{ConnectionId}: login with {Method} failed: {Reason}")]
    public static partial void AuthenticationFailed(ILogger logger, string connectionId, string method, string reason);

    [LoggerMessage(3003, LogLevel.Information, "{ConnectionId}: timeout ({Reason})")]
    public static partial void Timeout(ILogger logger, string connectionId, Connections.TimeoutReason reason);

    [LoggerMessage(3004, LogLevel.Error, "{ConnectionId}: the mailbox store or user directory failed")]
    public static partial void StoreFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(3005, LogLevel.Information, "{ConnectionId}: connection lost: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, string connectionId, string reason);

    [LoggerMessage(3006, LogLevel.Warning, "{ConnectionId}: too many errors, closing")]
    public static partial void TooManyErrors(ILogger logger, string connectionId);

    [LoggerMessage(3007, LogLevel.Warning, "{ConnectionId}: the session fell behind the mailbox's changes and resynchronised")]
    public static partial void Resynchronised(ILogger logger, string connectionId);

    [LoggerMessage(3040, LogLevel.Warning, "{ConnectionId}: refused by the rate limit {Limit}")]
    public static partial void RateLimited(ILogger logger, string connectionId, Mail.Protocols.RateLimits.SessionRateLimit limit);
}
