using System.Net;
using Mail.Protocols.Users;

namespace Mail.Protocols.Policy;

/// <summary>
/// Decides where each recipient goes (a local mailbox, the relay queue, or nowhere) and which senders a
/// client may use. The default, <see cref="DefaultRecipientPolicy"/>, is a closed relay.
/// </summary>
public interface IRecipientPolicy
{
    /// <summary>Decides the route of one RCPT TO address.</summary>
    ValueTask<RecipientDecision> EvaluateRecipientAsync(PolicyContext context, string address, CancellationToken cancellationToken = default);

    /// <summary>Decides whether the client may use <paramref name="reversePath"/> in MAIL FROM (empty for the null path).</summary>
    ValueTask<PolicyDecision> EvaluateSenderAsync(PolicyContext context, string reversePath, CancellationToken cancellationToken = default);
}

/// <summary>What a policy knows about the client.</summary>
/// <param name="RemoteEndPoint">The client's address, if known.</param>
/// <param name="AuthenticatedUser">The user the client authenticated as, if any.</param>
/// <param name="IsSubmission">Whether the client connected to a submission endpoint (587/465 style).</param>
/// <param name="IsSecure">Whether the connection is encrypted.</param>
public sealed record PolicyContext(IPEndPoint? RemoteEndPoint, MailUser? AuthenticatedUser, bool IsSubmission, bool IsSecure);

/// <summary>Where a recipient goes.</summary>
public enum RecipientRoute
{
    /// <summary>A local mailbox: <see cref="RecipientDecision.LocalUser"/> receives it.</summary>
    Local,
    /// <summary>Another domain: the message goes to the outbound queue.</summary>
    Relay,
    /// <summary>Refused with <see cref="RecipientDecision.Rejection"/>.</summary>
    Rejected,
}

/// <summary>A refusal with the SMTP reply to send (other protocols map it).</summary>
/// <param name="Code">The reply code, for example 550.</param>
/// <param name="EnhancedCode">The RFC 3463 enhanced status code, for example <c>5.7.1</c>.</param>
/// <param name="Text">Human-readable text (ASCII, one line).</param>
public sealed record PolicyRejection(int Code, string EnhancedCode, string Text);

/// <summary>The route of one recipient.</summary>
/// <param name="Route">Where it goes.</param>
/// <param name="LocalUser">For <see cref="RecipientRoute.Local"/>, the login of the mailbox owner.</param>
/// <param name="Rejection">For <see cref="RecipientRoute.Rejected"/>, the reply.</param>
public sealed record RecipientDecision(RecipientRoute Route, string? LocalUser = null, PolicyRejection? Rejection = null)
{
    /// <summary>Deliver to the given local user.</summary>
    public static RecipientDecision Local(string login) => new(RecipientRoute.Local, login);

    /// <summary>Queue for relay.</summary>
    public static RecipientDecision Relay { get; } = new(RecipientRoute.Relay);

    /// <summary>Refuse with a reply.</summary>
    public static RecipientDecision Reject(int code, string enhancedCode, string text) => new(RecipientRoute.Rejected, null, new PolicyRejection(code, enhancedCode, text));
}

/// <summary>Accept, or refuse with a reply.</summary>
/// <param name="Rejection">Null to accept.</param>
public sealed record PolicyDecision(PolicyRejection? Rejection)
{
    /// <summary>Accept.</summary>
    public static PolicyDecision Accept { get; } = new((PolicyRejection?)null);

    /// <summary>Refuse with a reply.</summary>
    public static PolicyDecision Reject(int code, string enhancedCode, string text) => new(new PolicyRejection(code, enhancedCode, text));
}
