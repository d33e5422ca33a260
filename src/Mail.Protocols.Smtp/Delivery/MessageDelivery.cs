using System.Globalization;
using Mail.Protocols.Policy;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Protocol;
using Mail.Protocols.Smtp.Telemetry;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Smtp.Delivery;

/// <summary>
/// Stores an accepted message: one copy for each local user among the recipients' destinations (in INBOX, or in the
/// folder a subaddress names), one queue entry for all recipients in other domains and every forward. Runs before
/// the server answers 250, so "accepted" means "stored". With a <see cref="DuplicateFilter"/>, a user who already
/// got the same relayed message recently gets no second copy.
/// </summary>
internal sealed class MessageDelivery(IMailboxStore store, IMessageQueue queue, ILogger logger, DuplicateFilter? duplicates = null)
{
    public const string Inbox = "INBOX";

    /// <summary>Whether this delivery suppresses duplicates (then callers pass the message's <see cref="DuplicateFilter.Key"/>).</summary>
    public bool SuppressesDuplicates => duplicates is not null;

    /// <summary>
    /// Delivers; returns null on success or the reason to refuse the message (temporarily). Each recipient has the
    /// destinations its policy decision resolved to, or null to be queued for relay as it is. When
    /// <paramref name="report"/> is given, one line per thing done for a recipient is added to it (VERB's report:
    /// stored for which user in which folder, forwarded or queued for which domain, expanded to how many destinations).
    /// </summary>
    public async ValueTask<SmtpRejectReason?> DeliverAsync(QueueEnvelope envelope, IReadOnlyList<(QueueRecipient Recipient, IReadOnlyList<RecipientDestination>? Destinations)> recipients,
        Stream content, string queueId, CancellationToken cancellationToken, DuplicateFilter.Key? duplicateKey = null, List<string>? report = null)
    {
        try
        {
            // One user per login normal form, as the stores key them; not needed for a single destination.
            HashSet<string>? delivered = recipients.Count > 1 || recipients is [{ Destinations.Count: > 1 }] ? new(UserName.Comparer) : null;
            List<QueueRecipient>? relay = null;
            List<QueueRecipient>? forwards = null;
            foreach (var (recipient, destinations) in recipients)
            {
                if (destinations is null)
                {
                    (relay ??= []).Add(recipient);
                    report?.Add($"<{recipient.Address}> queued for relay to {DomainOf(recipient.Address)}");
                    continue;
                }
                if (report is not null && destinations.Count > 1)
                {
                    report.Add(string.Create(CultureInfo.InvariantCulture, $"<{recipient.Address}> expanded to {destinations.Count} destinations"));
                }
                foreach (var destination in destinations)
                {
                    if (destination.ForwardTo is { } target)
                    {
                        // An alias's target in another domain: queued with the recipient's NOTIFY and ORCPT.
                        (forwards ??= []).Add(recipient with { Address = target });
                        report?.Add($"<{recipient.Address}> forwarded to <{target}>, queued for {DomainOf(target)}");
                        continue;
                    }
                    var localUser = destination.LocalUser!;
                    // Two addresses of one user, or two paths to one user, get one copy.
                    if (delivered?.Add(localUser) ?? true)
                    {
                        var folder = await DeliverLocalAsync(localUser, destination.Subaddress, content, queueId, duplicateKey, cancellationToken).ConfigureAwait(false);
                        report?.Add(folder is null
                            ? $"<{recipient.Address}> already stored for {localUser} from an earlier copy of this message"
                            : $"<{recipient.Address}> stored for {localUser} in {folder}");
                    }
                    else
                    {
                        report?.Add($"<{recipient.Address}> already stored for {localUser} in this message");
                    }
                }
            }
            if (forwards is not null)
            {
                AddForwards(ref relay, forwards);
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

    // Each forward once, and none to an address a client named itself: the relayed recipients are queued as they
    // came (as before aliases existed), the forwards after them. Addresses are equal when the local parts are equal
    // octet for octet (the remote host's to interpret, RFC 5321 §2.4) and the domains in any letter case.
    private static void AddForwards(ref List<QueueRecipient>? relay, List<QueueRecipient> forwards)
    {
        var queued = new HashSet<string>(StringComparer.Ordinal);
        foreach (var recipient in relay ?? [])
        {
            queued.Add(AddressKey(recipient.Address));
        }
        foreach (var forward in forwards)
        {
            if (queued.Add(AddressKey(forward.Address)))
            {
                (relay ??= []).Add(forward);
            }
        }
    }

    private static string AddressKey(string address)
    {
        var at = address.LastIndexOf('@');
        return at < 0 ? address : string.Concat(address.AsSpan(0, at + 1), address[(at + 1)..].ToLowerInvariant());
    }

    private static string DomainOf(string address) => address[(address.LastIndexOf('@') + 1)..];

    // Returns the folder the copy went into, or null when it was a duplicate and not stored again.
    private async ValueTask<string?> DeliverLocalAsync(string localUser, string? subaddress, Stream content, string queueId, DuplicateFilter.Key? duplicateKey, CancellationToken cancellationToken)
    {
        if (duplicateKey is { } key && !await duplicates!.ClaimAsync(localUser, key, logger, queueId, cancellationToken).ConfigureAwait(false))
        {
            SmtpLog.DuplicateSuppressed(logger, queueId, localUser);
            return null;
        }
        var stored = false;
        try
        {
            var folder = subaddress is null ? Inbox : await FolderForSubaddressAsync(localUser, subaddress, cancellationToken).ConfigureAwait(false);
            content.Position = 0;
            await store.AppendAsync(localUser, folder, content, cancellationToken: cancellationToken).ConfigureAwait(false);
            stored = true;
            return folder;
        }
        finally
        {
            if (duplicateKey is { } claimed)
            {
                duplicates!.Complete(localUser, claimed, stored);
            }
        }
    }

    /// <summary>
    /// The folder a subaddressed message is filed into: the user's folder named like the tag (the exact name first,
    /// then one that differs in letter case only), unless that folder has a special use (Sent, Drafts, Trash, Junk,
    /// Archive: a sender must not place mail there) or holds no messages; else INBOX.
    /// </summary>
    private async ValueTask<string> FolderForSubaddressAsync(string localUser, string subaddress, CancellationToken cancellationToken)
    {
        string? match = null;
        foreach (var folder in await store.ListFoldersAsync(localUser, cancellationToken).ConfigureAwait(false))
        {
            if (folder.SpecialUse != SpecialUse.None || folder.Attributes.HasFlag(FolderAttributes.NoSelect)
                || !string.Equals(folder.Name, subaddress, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            if (string.Equals(folder.Name, subaddress, StringComparison.Ordinal))
            {
                return folder.Name;
            }
            match ??= folder.Name;
        }
        return match ?? Inbox;
    }
}
