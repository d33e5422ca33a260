using System.Net;
using Mail.Protocols.Queue;
using Mail.Protocols.Users;

namespace Mail.Protocols.Smtp;

/// <summary>An SMTP reply a hook sends instead of the default one.</summary>
/// <param name="Code">The reply code (4xx refuses temporarily, 5xx permanently).</param>
/// <param name="EnhancedCode">The RFC 3463 code, for example <c>5.7.1</c>.</param>
/// <param name="Text">One line of ASCII text.</param>
/// <exception cref="ArgumentException">The code is not 4xx or 5xx, or the enhanced code does not agree with it (RFC 2034).</exception>
public sealed record SmtpReply(int Code, string EnhancedCode, string Text)
{
    /// <summary>The reply code: 4xx refuses temporarily, 5xx permanently (a hook cannot claim success).</summary>
    public int Code { get; init; } = Code is >= 400 and <= 599 ? Code : throw new ArgumentOutOfRangeException(nameof(Code), "A hook reply must be 4xx or 5xx.");

    /// <summary>The enhanced status code, its class agreeing with <see cref="Code"/>.</summary>
    public string EnhancedCode { get; init; } = IsEnhancedCode(EnhancedCode, Code) ? EnhancedCode
        : throw new ArgumentException("The enhanced status code must look like 5.7.1 and agree with the reply code.", nameof(EnhancedCode));

    /// <summary>
    /// A hook that returns this instance (compared by reference, not by value) ends the session at once, without any
    /// reply: the client sees the connection drop, as on a network failure. For test servers that check a sender's
    /// retries (<c>Mail.Protocols.Testing</c>), or to shed a client without a word. Any other reply with code 421 is
    /// sent and then ends the session, as RFC 5321 §3.8 says a 421 does.
    /// </summary>
    public static SmtpReply DropConnection { get; } = new(421, "4.4.2", "Connection dropped");

    private static bool IsEnhancedCode(string? code, int reply)
    {
        var parts = code?.Split('.');
        return parts is { Length: 3 } && parts[0] == (reply / 100).ToString(System.Globalization.CultureInfo.InvariantCulture)
            && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit));
    }
}

/// <summary>What hooks know about the session.</summary>
/// <param name="ConnectionId">The connection's id in logs.</param>
/// <param name="RemoteEndPoint">The client.</param>
/// <param name="Role">The endpoint's role.</param>
/// <param name="HeloName">The name the client gave in HELO/EHLO.</param>
/// <param name="IsSecure">Whether TLS is active.</param>
/// <param name="AuthenticatedUser">The authenticated user, if any.</param>
/// <param name="LocalEndPoint">The server's endpoint the client connected to (which listener, which port).</param>
public sealed record SmtpSessionInfo(string ConnectionId, EndPoint? RemoteEndPoint, SmtpRole Role, string? HeloName, bool IsSecure, MailUser? AuthenticatedUser,
    EndPoint? LocalEndPoint = null);

/// <summary>
/// Accept/reject points an application can use: at MAIL FROM, at each RCPT TO (after the recipient
/// policy accepted it), and at the end of the data (before anything is stored). Return null to accept,
/// or a reply to refuse (a 421 also ends the session; <see cref="SmtpReply.DropConnection"/> ends it without a reply).
/// Override what you need; the defaults accept.
/// </summary>
public class SmtpHooks
{
    /// <summary>Hooks that accept everything the policy accepted.</summary>
    public static SmtpHooks None { get; } = new();

    /// <summary>Called for MAIL FROM; <paramref name="reversePath"/> is empty for the null path.</summary>
    public virtual ValueTask<SmtpReply?> OnMailFromAsync(SmtpSessionInfo session, string reversePath, CancellationToken cancellationToken) => default;

    /// <summary>Called for each RCPT TO the policy accepted.</summary>
    public virtual ValueTask<SmtpReply?> OnRecipientAsync(SmtpSessionInfo session, string address, CancellationToken cancellationToken) => default;

    /// <summary>Called once the whole message is received and before it is stored. <paramref name="content"/> is seekable and positioned at the start.</summary>
    public virtual ValueTask<SmtpReply?> OnMessageAsync(SmtpSessionInfo session, QueueEnvelope envelope, Stream content, CancellationToken cancellationToken) => default;

    /// <summary>
    /// Called once a message was accepted (stored in the local mailboxes and queued for other domains), before the client
    /// is told <c>250</c>: an application learns of each message it received, a test server records it. Nothing can be
    /// refused any more; an exception is logged and the client still gets its <c>250</c>. <paramref name="content"/>
    /// (with this server's Received header) is seekable and positioned at the start. The envelope has every recipient
    /// the client gave, also those whose copy was not stored: a duplicate the server suppressed
    /// (<see cref="SmtpServerOptions.DuplicateSuppressionWindow"/>), or a mailbox that refused it, of which the sender is
    /// told by a delivery status notification.
    /// </summary>
    public virtual ValueTask OnMessageAcceptedAsync(SmtpSessionInfo session, QueueEnvelope envelope, string queueId, Stream content, CancellationToken cancellationToken) => default;
}
