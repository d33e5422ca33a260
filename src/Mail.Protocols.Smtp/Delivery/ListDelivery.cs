using System.Text;
using Mail.Protocols.Policy;
using Mail.Protocols.Queue;
using Mail.Protocols.Users;
using MimeKit;

namespace Mail.Protocols.Smtp.Delivery;

/// <summary>
/// What <see cref="MessageDelivery"/> needs to send a message on to a mailing list's members: the recipient policy
/// that resolves each member (as the server's own mail, which may relay), and the path by which a notice about
/// members who could not be reached goes to the list's owner.
/// </summary>
/// <param name="policy">Resolves each member address, as it resolves RCPT TO.</param>
/// <param name="reportingMta">This host's name, in the notices.</param>
/// <param name="notifyOwner">Accepts a notice (envelope and content) into the normal mail path, as the delivery agent's DSNs go.</param>
internal sealed class ListDelivery(IRecipientPolicy policy, string reportingMta, Func<QueueEnvelope, Stream, CancellationToken, ValueTask> notifyOwner)
{
    /// <summary>How many lists may be nested one inside another (a member that is itself a list is two).</summary>
    public const int MaxNesting = 5;

    // Members are resolved as the server's own mail: a remote member is relayed whoever wrote to the list.
    private static readonly PolicyContext s_list = new(null, new MailUser("MAILER-DAEMON", []), IsSubmission: true, IsSecure: true);

    public ValueTask<RecipientDecision> ResolveMemberAsync(string member, CancellationToken cancellationToken) =>
        policy.EvaluateRecipientAsync(s_list, member, cancellationToken);

    /// <summary>
    /// Sends the owner (the reverse path of <paramref name="listEnvelope"/>) a failure notice (RFC 3464) about
    /// <paramref name="failed"/>, with the message attached as RET asks. The notice has the null reverse path, so it
    /// can never cause another.
    /// </summary>
    public async ValueTask NotifyOwnerAsync(QueueEnvelope listEnvelope, IReadOnlyList<RecipientStatus> failed, Stream content, CancellationToken cancellationToken)
    {
        var notice = DeliveryStatusNotification.Build(reportingMta, listEnvelope, failed, DsnAction.Failed, content);
        using var stream = new MemoryStream();
        await notice.WriteToAsync(DeliveryStatusNotification.WireFormat, stream, cancellationToken).ConfigureAwait(false);
        stream.Position = 0;
        var owner = listEnvelope.ReversePath;
        var envelope = new QueueEnvelope("", [new QueueRecipient(owner, DsnNotify.Never)], listEnvelope.ReceivedAt, SmtpUtf8: !Ascii.IsValid(owner));
        await notifyOwner(envelope, stream, cancellationToken).ConfigureAwait(false);
    }
}
