using Mail.Protocols.Policy;
using Mail.Protocols.Queue;

namespace Mail.Protocols.Smtp.Delivery;

/// <summary>
/// What <see cref="MessageDelivery"/> needs beyond the store and the queue: the recipient policy that resolves a
/// mailing list's members (as the server's own mail, which may relay), and the path by which a failure notice goes to
/// a list's owner about members who could not be reached, or to the writer about a mailbox that was full.
/// </summary>
/// <param name="policy">Resolves each member address, as it resolves RCPT TO.</param>
/// <param name="reportingMta">This host's name, in the notices.</param>
/// <param name="sendNotice">Accepts a notice (envelope and content) into the normal mail path, as the delivery agent's DSNs go.</param>
internal sealed class ListDelivery(IRecipientPolicy policy, string reportingMta, Func<QueueEnvelope, Stream, CancellationToken, ValueTask> sendNotice)
{
    /// <summary>How many lists may be nested one inside another (a member that is itself a list is two).</summary>
    public const int MaxNesting = 5;

    // Members are resolved as the server's own mail: a remote member is relayed whoever wrote to the list.
    public ValueTask<RecipientDecision> ResolveMemberAsync(string member, CancellationToken cancellationToken) =>
        policy.EvaluateRecipientAsync(PolicyContext.System, member, cancellationToken);

    /// <summary>
    /// Sends the reverse path of <paramref name="envelope"/> (a list's owner, or the writer) a failure notice
    /// (RFC 3464) about <paramref name="failed"/>, with the message attached as the envelope's RET asks. The notice
    /// has the null reverse path, so it can never cause another.
    /// </summary>
    public async ValueTask NotifyAsync(QueueEnvelope envelope, IReadOnlyList<RecipientStatus> failed, Stream content, CancellationToken cancellationToken)
    {
        var notice = DeliveryStatusNotification.Build(reportingMta, envelope, failed, DsnAction.Failed, content);
        await DeliveryStatusNotification.SubmitAsync(notice, envelope.ReversePath, envelope.ReceivedAt, sendNotice, cancellationToken).ConfigureAwait(false);
    }
}
