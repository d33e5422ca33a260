using System.Globalization;
using Mail.Protocols.Addressing;
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
/// folder a subaddress names), one queue entry for all recipients in other domains and every forward, and for each
/// mailing list its members' copies, sent from the list's owner. Runs before the server answers 250, so "accepted"
/// means "stored". With a <see cref="DuplicateFilter"/>, a user who already got the same relayed message recently
/// gets no second copy.
/// </summary>
/// <param name="store">Where local copies go.</param>
/// <param name="queue">Where copies for other domains go.</param>
/// <param name="logger">Where to log.</param>
/// <param name="duplicates">The duplicate filter, if any.</param>
/// <param name="lists">How mailing lists are sent on; null where lists are not expanded (the notices this class sends itself).</param>
/// <param name="senderRewriter">When set, forwards and lists' remote copies are queued from the SRS form of their sender.</param>
internal sealed class MessageDelivery(IMailboxStore store, IMessageQueue queue, ILogger logger, DuplicateFilter? duplicates = null, ListDelivery? lists = null,
    SenderRewriter? senderRewriter = null)
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
            // One user per login normal form, as the stores key them; not needed for a single mailbox.
            var run = new Run(queueId, duplicateKey, report,
                recipients.Count > 1 || recipients is [{ Destinations: { Count: > 1 } or [{ List: not null }] }] ? new(UserName.Comparer) : null);
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
                    }
                    else if (destination.List is { } list)
                    {
                        await SendToListAsync(run, envelope, list, content, cancellationToken).ConfigureAwait(false);
                    }
                    else if (await StoreOnceAsync(run, recipient.Address, destination, content, cancellationToken).ConfigureAwait(false) is { } full)
                    {
                        throw full; // a recipient of the client's own: the client hears of it (452 4.2.2) and tries again later
                    }
                }
            }
            if (forwards is not null && NewForwards(relay, forwards) is { Count: > 0 } fresh)
            {
                if (senderRewriter is null)
                {
                    (relay ??= []).AddRange(fresh);
                }
                else
                {
                    // A forward leaves with our SRS address as its sender (SPF at the destination checks us, not the
                    // writer's domain); the client's own relayed recipients keep the writer's.
                    run.OtherSenderEntries.Add(envelope with { ReversePath = Rewritten(envelope.ReversePath), Recipients = fresh });
                }
            }
            if (relay is not null)
            {
                content.Position = 0;
                await queue.EnqueueAsync(envelope with { Recipients = relay }, content, cancellationToken).ConfigureAwait(false);
            }
            foreach (var entry in run.OtherSenderEntries)
            {
                content.Position = 0;
                await queue.EnqueueAsync(entry, content, cancellationToken).ConfigureAwait(false);
            }
            return null;
        }
        catch (MailboxStoreException ex) when (ex.Error == MailboxStoreError.MailboxFull)
        {
            SmtpLog.StorageFailed(logger, queueId, ex);
            return SmtpRejectReason.MailboxFull;
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

    // What one delivery has done so far, across the client's recipients and every list they reach.
    private sealed class Run(string queueId, DuplicateFilter.Key? duplicateKey, List<string>? report, HashSet<string>? delivered)
    {
        public string QueueId { get; } = queueId;
        public DuplicateFilter.Key? DuplicateKey { get; } = duplicateKey;
        public List<string>? Report { get; } = report;
        public HashSet<string>? Delivered { get; } = delivered;                       // logins that have their copy
        public List<QueueEnvelope> OtherSenderEntries { get; } = [];                          // forwards and lists' remote members, each from its own sender
        public HashSet<string> ListPath { get; } = new(StringComparer.Ordinal);        // the lists being sent on now
        public HashSet<string> ListsDone { get; } = new(StringComparer.Ordinal);       // the lists sent on already: once per message
    }

    // Stores the copy for one mailbox unless the user has it already; returns the store's refusal when the user's
    // mailbox is full (the caller decides who hears of it), throws on any other failure.
    private async ValueTask<MailboxStoreException?> StoreOnceAsync(Run run, string recipient, RecipientDestination destination, Stream content, CancellationToken cancellationToken)
    {
        var localUser = destination.LocalUser!;
        // Two addresses of one user, or two paths to one user, get one copy.
        if (!(run.Delivered?.Add(localUser) ?? true))
        {
            run.Report?.Add($"<{recipient}> already stored for {localUser} in this message");
            return null;
        }
        string? folder;
        try
        {
            folder = await DeliverLocalAsync(localUser, destination.Subaddress, content, run.QueueId, run.DuplicateKey, cancellationToken).ConfigureAwait(false);
        }
        catch (MailboxStoreException ex) when (ex.Error == MailboxStoreError.MailboxFull)
        {
            run.Delivered?.Remove(localUser);
            run.Report?.Add($"<{recipient}> not stored for {localUser}: mailbox full");
            return ex;
        }
        run.Report?.Add(folder is null
            ? $"<{recipient}> already stored for {localUser} from an earlier copy of this message"
            : $"<{recipient}> stored for {localUser} in {folder}");
        return null;
    }

    /// <summary>
    /// Sends the message on to a list's members: each member is resolved through the recipient policy; local
    /// mailboxes get their copy now, remote members one queue entry whose reverse path is the list's owner, so their
    /// bounces go there. Members that cannot be reached now (unknown, mailbox full, a list loop) are reported to the
    /// owner in one failure notice; the message stays accepted for the list and for its other members.
    /// </summary>
    private async ValueTask SendToListAsync(Run run, QueueEnvelope envelope, MailingList list, Stream content, CancellationToken cancellationToken)
    {
        if (lists is null)
        {
            SmtpLog.ListNotExpanded(logger, run.QueueId, list.Address);
            run.Report?.Add($"<{list.Address}> is a list, not expanded here");
            return;
        }
        var key = UserName.TryNormalize(list.Address, out var normal) ? normal : list.Address;
        if (!run.ListsDone.Add(key))
        {
            run.Report?.Add($"<{list.Address}> list already sent on for this message");
            return;
        }
        run.ListPath.Add(key);
        // A new envelope: the list is the sender now. The writer's DSN requests were answered when the list took the
        // message; the owner gets the members' failures and delays (the default NOTIFY).
        var listEnvelope = envelope with { ReversePath = list.Owner, Recipients = [], EnvelopeId = null, Return = DsnReturn.Unspecified };
        run.Report?.Add(string.Create(CultureInfo.InvariantCulture, $"<{list.Address}> list: sent on to {list.Members.Count} member(s) from <{list.Owner}>"));
        var remote = new List<QueueRecipient>();
        var remoteKeys = new HashSet<string>(StringComparer.Ordinal);
        var failed = new List<RecipientStatus>();
        foreach (var member in list.Members)
        {
            var recipient = new QueueRecipient(member);
            var decision = await lists.ResolveMemberAsync(member, cancellationToken).ConfigureAwait(false);
            switch (decision.Route)
            {
                case RecipientRoute.Rejected:
                    var refusal = decision.Rejection!;
                    failed.Add(new RecipientStatus(recipient, RecipientState.Failed, string.Create(CultureInfo.InvariantCulture, $"{refusal.Code} {refusal.EnhancedCode} {refusal.Text}")));
                    continue;
                case RecipientRoute.Relay:
                    AddRemote(recipient);
                    continue;
            }
            if (run.Report is not null && decision.Destinations.Count > 1)
            {
                run.Report.Add(string.Create(CultureInfo.InvariantCulture, $"<{member}> expanded to {decision.Destinations.Count} destinations"));
            }
            foreach (var destination in decision.Destinations)
            {
                if (destination.ForwardTo is { } target)
                {
                    AddRemote(recipient with { Address = target });
                }
                else if (destination.List is { } inner)
                {
                    var innerKey = UserName.TryNormalize(inner.Address, out var innerNormal) ? innerNormal : inner.Address;
                    if (run.ListPath.Contains(innerKey))
                    {
                        failed.Add(new RecipientStatus(recipient, RecipientState.Failed, $"550 5.4.6 <{member}> is a list that contains {list.Address}: list loop"));
                    }
                    else if (run.ListPath.Count >= ListDelivery.MaxNesting)
                    {
                        failed.Add(new RecipientStatus(recipient, RecipientState.Failed, $"550 5.4.6 <{member}> is a list nested too deeply"));
                    }
                    else
                    {
                        await SendToListAsync(run, listEnvelope, inner, content, cancellationToken).ConfigureAwait(false);
                    }
                }
                else if (await StoreOnceAsync(run, member, destination, content, cancellationToken).ConfigureAwait(false) is { } full)
                {
                    failed.Add(new RecipientStatus(recipient, RecipientState.Failed, $"552 5.2.2 <{member}>: mailbox full ({full.Message})"));
                }
            }
        }
        if (remote.Count > 0)
        {
            run.OtherSenderEntries.Add(listEnvelope with { ReversePath = Rewritten(list.Owner), Recipients = remote });
            run.Report?.Add(string.Create(CultureInfo.InvariantCulture, $"<{list.Address}> list: {remote.Count} remote member(s) queued from <{list.Owner}>"));
        }
        if (failed.Count > 0)
        {
            await lists.NotifyOwnerAsync(listEnvelope, failed, content, cancellationToken).ConfigureAwait(false);
            run.Report?.Add(string.Create(CultureInfo.InvariantCulture, $"<{list.Address}> list: {failed.Count} member(s) not reached, reported to <{list.Owner}>"));
        }
        SmtpLog.ListDelivered(logger, run.QueueId, list.Address, list.Members.Count, failed.Count, list.Owner);
        run.ListPath.Remove(key);

        void AddRemote(QueueRecipient member)
        {
            if (remoteKeys.Add(AddressKey(member.Address)))
            {
                remote.Add(member);
            }
        }
    }

    // Each forward once, and none to an address a client named itself: the relayed recipients are queued as they
    // came (as before aliases existed), the forwards after them. Addresses are equal when the local parts are equal
    // octet for octet (the remote host's to interpret, RFC 5321 §2.4) and the domains in any letter case.
    private static List<QueueRecipient> NewForwards(List<QueueRecipient>? relay, List<QueueRecipient> forwards)
    {
        var queued = new HashSet<string>(StringComparer.Ordinal);
        foreach (var recipient in relay ?? [])
        {
            queued.Add(AddressKey(recipient.Address));
        }
        var fresh = new List<QueueRecipient>(forwards.Count);
        foreach (var forward in forwards)
        {
            if (queued.Add(AddressKey(forward.Address)))
            {
                fresh.Add(forward);
            }
        }
        return fresh;
    }

    // The sender a copy sent on to another domain leaves with: its SRS form when rewriting is on (a sender that cannot
    // be rewritten, one too long for a path, keeps its own), else itself; the null path stays null.
    private string Rewritten(string reversePath) =>
        senderRewriter is not null && senderRewriter.TryForward(reversePath, out var rewritten, out _) ? rewritten : reversePath;

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
