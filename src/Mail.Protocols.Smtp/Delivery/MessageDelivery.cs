using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Protocol;
using Mail.Protocols.Smtp.Telemetry;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Smtp.Delivery;

/// <summary>
/// Stores an accepted message: one copy in the INBOX of each local recipient's user, one queue entry for all
/// recipients in other domains. Runs before the server answers 250, so "accepted" means "stored". With a
/// <see cref="DuplicateFilter"/>, a user who already got the same relayed message recently gets no second copy.
/// </summary>
internal sealed class MessageDelivery(IMailboxStore store, IMessageQueue queue, ILogger logger, DuplicateFilter? duplicates = null)
{
    public const string Inbox = "INBOX";

    /// <summary>Whether this delivery suppresses duplicates (then callers pass the message's <see cref="DuplicateFilter.Key"/>).</summary>
    public bool SuppressesDuplicates => duplicates is not null;

    /// <summary>Delivers; returns null on success or the reason to refuse the message (temporarily).</summary>
    public async ValueTask<SmtpRejectReason?> DeliverAsync(QueueEnvelope envelope, IReadOnlyList<(QueueRecipient Recipient, string? LocalUser)> recipients,
        Stream content, string queueId, CancellationToken cancellationToken, DuplicateFilter.Key? duplicateKey = null)
    {
        try
        {
            HashSet<string>? delivered = recipients.Count > 1 ? new(UserName.Comparer) : null; // one user per login normal form, as the stores key them
            List<QueueRecipient>? relay = null;
            foreach (var (recipient, localUser) in recipients)
            {
                if (localUser is null)
                {
                    (relay ??= []).Add(recipient);
                    continue;
                }
                // Two addresses of one user get one copy.
                if (delivered?.Add(localUser) ?? true)
                {
                    if (duplicateKey is { } key && !await duplicates!.ClaimAsync(localUser, key, logger, queueId, cancellationToken).ConfigureAwait(false))
                    {
                        SmtpLog.DuplicateSuppressed(logger, queueId, localUser);
                        continue;
                    }
                    var stored = false;
                    try
                    {
                        content.Position = 0;
                        await store.AppendAsync(localUser, Inbox, content, cancellationToken: cancellationToken).ConfigureAwait(false);
                        stored = true;
                    }
                    finally
                    {
                        if (duplicateKey is { } claimed)
                        {
                            duplicates!.Complete(localUser, claimed, stored);
                        }
                    }
                }
            }
            if (relay is not null)
            {
                content.Position = 0;
                await queue.EnqueueAsync(envelope with { Recipients = relay }, content, cancellationToken).ConfigureAwait(false);
            }
            return null;
        }
        catch (MailboxStoreException ex) when (ex.Error == MailboxStoreError.InsufficientStorage)
        {
            SmtpLog.StorageFailed(logger, queueId, ex);
            return SmtpRejectReason.StorageFull;
        }
        catch (IOException ex) when ((ex.HResult & 0xFFFF) == 28 /* ENOSPC */)
        {
            SmtpLog.StorageFailed(logger, queueId, ex);
            return SmtpRejectReason.StorageFull;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            SmtpLog.StorageFailed(logger, queueId, ex);
            return SmtpRejectReason.StorageError;
        }
    }
}
