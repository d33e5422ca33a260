using Mail.Protocols.Policy;
using Mail.Protocols.Queue;
using Mail.Protocols.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mail.Protocols.Smtp.Delivery;

/// <summary>
/// Puts a message the server itself creates (a delivery status notification) on the normal path: recipients
/// in local domains get it in their mailboxes (aliases expanded), others go to the outbound queue, as the recipient
/// policy routes them.
/// </summary>
public sealed class MailSubmitter
{
    private readonly IRecipientPolicy _policy;
    private readonly MessageDelivery _delivery;

    /// <summary>Creates a submitter over the given backends.</summary>
    public MailSubmitter(IMailboxStore store, IMessageQueue queue, IRecipientPolicy policy, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
        _delivery = new MessageDelivery(store, queue, logger ?? NullLogger.Instance);
    }

    /// <summary>Delivers or queues <paramref name="content"/> (seekable) for the envelope's recipients. Unroutable recipients are dropped.</summary>
    public async ValueTask SubmitAsync(QueueEnvelope envelope, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(content);
        var routes = new List<(QueueRecipient, IReadOnlyList<RecipientDestination>?)>();
        foreach (var recipient in envelope.Recipients)
        {
            var decision = await _policy.EvaluateRecipientAsync(PolicyContext.System, recipient.Address, cancellationToken).ConfigureAwait(false);
            if (decision.Route is RecipientRoute.Local or RecipientRoute.Expanded && decision.Destinations.Count > 0)
            {
                routes.Add((recipient, decision.Destinations));
            }
            else if (decision.Route == RecipientRoute.Relay)
            {
                routes.Add((recipient, null));
            }
        }
        if (routes.Count == 0)
        {
            return;
        }
        if (await _delivery.DeliverAsync(envelope, routes, content, "dsn", cancellationToken).ConfigureAwait(false) is { } failure)
        {
            throw new MailboxStoreException(MailboxStoreError.Unavailable, $"Submitting a notification failed: {failure}");
        }
    }
}
