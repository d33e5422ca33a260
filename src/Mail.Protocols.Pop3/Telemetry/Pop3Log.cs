using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Pop3.Telemetry;

// POP3 events, ids 2000–2999. Credentials and message content never appear.
internal static partial class Pop3Log
{
    [LoggerMessage(2001, LogLevel.Information, "{ConnectionId}: {Login} logged in with {Method}, {Messages} message(s)")]
    public static partial void LoggedIn(ILogger logger, string connectionId, string login, string method, int messages);

    [LoggerMessage(2002, LogLevel.Warning, "{ConnectionId}: login with {Method} failed: {Reason}")]
    public static partial void AuthenticationFailed(ILogger logger, string connectionId, string method, string reason);

    [LoggerMessage(2003, LogLevel.Information, "{ConnectionId}: maildrop of {Login} is locked by another session")]
    public static partial void MaildropInUse(ILogger logger, string connectionId, string login);

    [LoggerMessage(2004, LogLevel.Information, "{ConnectionId}: update removed {Count} message(s)")]
    public static partial void Updated(ILogger logger, string connectionId, int count);

    [LoggerMessage(2005, LogLevel.Information, "{ConnectionId}: idle timeout")]
    public static partial void Timeout(ILogger logger, string connectionId);

    [LoggerMessage(2006, LogLevel.Error, "{ConnectionId}: the mailbox store or user directory failed")]
    public static partial void StoreFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(2008, LogLevel.Information, "{ConnectionId}: connection lost: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, string connectionId, string reason);

    [LoggerMessage(2040, LogLevel.Warning, "{ConnectionId}: refused by the rate limit {Limit}")]
    public static partial void RateLimited(ILogger logger, string connectionId, Mail.Protocols.RateLimits.SessionRateLimit limit);
}
