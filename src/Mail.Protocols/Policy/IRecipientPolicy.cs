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
public sealed record PolicyContext(IPEndPoint? RemoteEndPoint, MailUser? AuthenticatedUser, bool IsSubmission, bool IsSecure)
{
    /// <summary>
    /// The server's own mail: delivery status notices, and the copies a mailing list sends on to its members. No
    /// client; authenticated as the mail system, so a remote recipient is relayed. <see cref="IsSystem"/> tells it
    /// apart from a client that logged in under the same name.
    /// </summary>
    public static PolicyContext System { get; } = new(null, new MailUser("MAILER-DAEMON", []), IsSubmission: true, IsSecure: true);

    /// <summary>Whether this is <see cref="System"/>, the server's own mail.</summary>
    public bool IsSystem => ReferenceEquals(this, System);
}

/// <summary>Where a recipient goes.</summary>
public enum RecipientRoute
{
    /// <summary>A local mailbox: <see cref="RecipientDecision.LocalUser"/> receives it.</summary>
    Local,
    /// <summary>Another domain: the message goes to the outbound queue.</summary>
    Relay,
    /// <summary>Refused with <see cref="RecipientDecision.Rejection"/>.</summary>
    Rejected,
    /// <summary>
    /// A local address that resolved to <see cref="RecipientDecision.Destinations"/>: several mailboxes, a mailbox with
    /// a subaddress, or addresses in other domains that the message is forwarded to (an alias's targets).
    /// </summary>
    Expanded,
}

/// <summary>
/// One place a recipient's copy of a message goes: a local user's mailbox, a forward to another domain, or a mailing
/// list (sent on to its members from the list's owner).
/// </summary>
public sealed record RecipientDestination
{
    private RecipientDestination(string? localUser, string? subaddress, string? forwardTo, MailingList? list = null)
    {
        LocalUser = localUser;
        Subaddress = subaddress;
        ForwardTo = forwardTo;
        List = list;
    }

    /// <summary>The login of the user whose mailbox receives the copy; null for a forward.</summary>
    public string? LocalUser { get; }

    /// <summary>
    /// The subaddress (the tag of <c>alice+news@</c>) the recipient was written with, if any. Delivery files the
    /// message into the user's folder of that name when there is one (docs/addressing.md), else into INBOX.
    /// </summary>
    public string? Subaddress { get; }

    /// <summary>The address in another domain the message is forwarded to through the outbound queue; null for a mailbox.</summary>
    public string? ForwardTo { get; }

    /// <summary>The mailing list that takes the copy and sends it on to its members; null for a mailbox or a forward.</summary>
    public MailingList? List { get; }

    /// <summary>Whether the copy goes to a local mailbox.</summary>
    public bool IsLocal => LocalUser is not null;

    /// <summary>The mailbox of the user <paramref name="login"/>, with the recipient's subaddress if any.</summary>
    public static RecipientDestination Mailbox(string login, string? subaddress = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(login);
        return new(login, string.IsNullOrEmpty(subaddress) ? null : subaddress, null);
    }

    /// <summary>A forward to <paramref name="address"/> in another domain, queued for relay.</summary>
    public static RecipientDestination Forward(string address)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        return new(null, null, address);
    }

    /// <summary>The mailing list <paramref name="list"/>: delivery sends the copy on to its members.</summary>
    public static RecipientDestination ToList(MailingList list)
    {
        ArgumentNullException.ThrowIfNull(list);
        return new(null, null, null, list);
    }
}

/// <summary>
/// A mailing list as a destination: the message is accepted for <see cref="Address"/>, then each member gets a copy
/// whose envelope sender is <see cref="Owner"/> (docs/addressing.md, "Mailing lists").
/// </summary>
/// <param name="Address">The list's address, as the recipient resolver reached it.</param>
/// <param name="Owner">The reverse path of the copies to the members: where their bounces go.</param>
/// <param name="Members">The members' addresses, resolved one by one (users, aliases, other lists, remote addresses) at delivery.</param>
public sealed record MailingList(string Address, string Owner, IReadOnlyList<string> Members)
{
    /// <summary>Whether both name the same address, owner and members (in order).</summary>
    public bool Equals(MailingList? other) =>
        other is not null && Address == other.Address && Owner == other.Owner && Members.SequenceEqual(other.Members);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Address, Owner, Members.Count);
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
    private readonly IReadOnlyList<RecipientDestination>? _destinations;

    /// <summary>
    /// Where the copies go: for <see cref="RecipientRoute.Expanded"/> the resolved destinations (at least one), for
    /// <see cref="RecipientRoute.Local"/> the mailbox of <see cref="LocalUser"/>; empty for a relay or a refusal.
    /// </summary>
    public IReadOnlyList<RecipientDestination> Destinations
    {
        get => _destinations ?? (Route == RecipientRoute.Local && LocalUser is { } login ? [RecipientDestination.Mailbox(login)] : []);
        init => _destinations = value;
    }

    /// <summary>Deliver to the given local user.</summary>
    public static RecipientDecision Local(string login) =>
        string.IsNullOrEmpty(login) ? new(RecipientRoute.Local, login) : new(RecipientRoute.Local, login) { Destinations = [RecipientDestination.Mailbox(login)] };

    /// <summary>Whether both decisions have the same route, user, refusal and destinations (in order).</summary>
    public bool Equals(RecipientDecision? other) =>
        other is not null && Route == other.Route && LocalUser == other.LocalUser && Equals(Rejection, other.Rejection)
        && Destinations.SequenceEqual(other.Destinations);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Route, LocalUser, Rejection, Destinations.Count);

    /// <summary>Deliver to each of <paramref name="destinations"/> (at least one).</summary>
    /// <exception cref="ArgumentException">No destination.</exception>
    public static RecipientDecision Expanded(IReadOnlyList<RecipientDestination> destinations)
    {
        ArgumentNullException.ThrowIfNull(destinations);
        if (destinations.Count == 0)
        {
            throw new ArgumentException("An expanded recipient needs at least one destination.", nameof(destinations));
        }
        return new(RecipientRoute.Expanded) { Destinations = [.. destinations] };
    }

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
