using System.Diagnostics;
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
internal sealed partial class MessageDelivery(IMailboxStore store, IMessageQueue queue, ILogger logger, DuplicateFilter? duplicates = null, ListDelivery? lists = null,
    SenderRewriter? senderRewriter = null)
{
    public const string Inbox = "INBOX";

    /// <summary>Whether this delivery suppresses duplicates (then callers pass the message's <see cref="DuplicateFilter.Key"/>).</summary>
    public bool SuppressesDuplicates => duplicates is not null;

    // A queue entry, in a span of its own while something listens (the envelope carries the transaction's trace); without
    // a listener, the queue's own call and nothing more.
    private ValueTask EnqueueAsync(QueueEnvelope envelope, Stream content, CancellationToken cancellationToken)
    {
        if (!SmtpTracing.Smtp.HasListeners())
        {
            var queued = queue.EnqueueAsync(envelope, content, cancellationToken);
            if (queued.IsCompletedSuccessfully)
            {
                _ = queued.Result; // consumed, as a pooled ValueTask source needs
                return ValueTask.CompletedTask;
            }
            return new ValueTask(queued.AsTask());
        }
        return EnqueueTracedAsync(envelope, content, cancellationToken);
    }

    private async ValueTask EnqueueTracedAsync(QueueEnvelope envelope, Stream content, CancellationToken cancellationToken)
    {
        using var span = SmtpTracing.Smtp.StartActivity("mail.queue.enqueue", ActivityKind.Producer);
        span?.SetTag("mail.queue.recipients", envelope.Recipients.Count);
        var id = await queue.EnqueueAsync(envelope, content, cancellationToken).ConfigureAwait(false);
        span?.SetTag("mail.queue.id", id);
    }

    /// <summary>
    /// Delivers; returns null on success or the reason to refuse the message (temporarily). Each recipient has the
    /// destinations its policy decision resolved to, or null to be queued for relay as it is. When
    /// <paramref name="report"/> is given, one line per thing done for a recipient is added to it (VERB's report:
    /// stored for which user in which folder, forwarded or queued for which domain, expanded to how many destinations).
    /// </summary>
    /// <remarks>
    /// A mailbox over its quota refuses the message (<c>452 4.2.2</c>, the client tries again later) only while
    /// nothing else of it has been stored or queued; once another copy is in, refusing would have the client send
    /// that copy twice, so the full mailbox's recipient is reported to the writer in a failure notice instead (and a
    /// list's member to the list's owner). Notices go out after every copy is stored and queued, and a notice that
    /// cannot be sent is logged, never a reason to refuse the message.
    /// </remarks>
    public async ValueTask<SmtpRejectReason?> DeliverAsync(QueueEnvelope envelope, IReadOnlyList<(QueueRecipient Recipient, IReadOnlyList<RecipientDestination>? Destinations)> recipients,
        Stream content, string queueId, CancellationToken cancellationToken, DuplicateFilter.Key? duplicateKey = null, List<string>? report = null)
    {
        try
        {
            // One user per login normal form, as the stores key them; not needed for a single mailbox.
            var run = new Run(queueId, duplicateKey, report,
                recipients.Count > 1 || recipients is [{ Destinations: { Count: > 1 } or [{ List: not null }] }] ? new(UserName.Comparer) : null);
            // The client's own relayed recipients first: a forward or a list member at the same address is that copy.
            List<QueueRecipient>? relay = null;
            // Indexed loops here: a foreach over the interfaces would box an enumerator for each message and recipient.
            for (var r = 0; r < recipients.Count; r++)
            {
                if (recipients[r] is (var recipient, null))
                {
                    (relay ??= []).Add(recipient);
                    run.FirstRemoteCopy(recipient.Address);
                }
            }
            List<QueueRecipient>? forwards = null;
            List<RecipientStatus>? full = null;
            for (var r = 0; r < recipients.Count; r++)
            {
                var (recipient, destinations) = recipients[r];
                if (destinations is null)
                {
                    report?.Add($"<{recipient.Address}> queued for relay to {DomainOf(recipient.Address)}");
                    continue;
                }
                if (report is not null && destinations.Count > 1)
                {
                    report.Add(string.Create(CultureInfo.InvariantCulture, $"<{recipient.Address}> expanded to {destinations.Count} destinations"));
                }
                for (var d = 0; d < destinations.Count; d++)
                {
                    var destination = destinations[d];
                    if (destination.ForwardTo is { } target)
                    {
                        // An alias's target in another domain: queued once, with the recipient's NOTIFY and ORCPT.
                        if (run.FirstRemoteCopy(target))
                        {
                            (forwards ??= []).Add(recipient with { Address = target });
                            report?.Add($"<{recipient.Address}> forwarded to <{target}>, queued for {DomainOf(target)}");
                        }
                    }
                    else if (destination.List is { } list)
                    {
                        await SendToListAsync(run, envelope, list, content, cancellationToken).ConfigureAwait(false);
                    }
                    else if (await StoreOnceAsync(run, recipient.Address, destination, content, cancellationToken).ConfigureAwait(false) is { } refusal)
                    {
                        (full ??= []).Add(new RecipientStatus(recipient, RecipientState.Failed, MailboxFullReply(destination.LocalUser!, refusal)));
                    }
                }
            }
            if (full is not null && run.CopiesStored == 0 && relay is null && forwards is null && run.EntriesWithOwnSender is null)
            {
                return SmtpRejectReason.MailboxFull; // nothing is in yet: the client tries the whole message again later
            }
            if (forwards is not null)
            {
                if (senderRewriter is null)
                {
                    (relay ??= []).AddRange(forwards);
                }
                else
                {
                    // A forward leaves with our SRS address as its sender (SPF at the destination checks us, not the
                    // writer's domain); the client's own relayed recipients keep the writer's.
                    run.AddEntryWithOwnSender(envelope with { ReversePath = SenderForForward(envelope.ReversePath), Recipients = forwards });
                }
            }
            if (relay is not null)
            {
                content.Position = 0;
                await EnqueueAsync(envelope with { Recipients = relay }, content, cancellationToken).ConfigureAwait(false);
            }
            if (run.EntriesWithOwnSender is { } entries)
            {
                foreach (var entry in entries)
                {
                    content.Position = 0;
                    await EnqueueAsync(entry, content, cancellationToken).ConfigureAwait(false);
                }
            }
            if (full is not null)
            {
                run.AddNotice(envelope, full.Where(f => WantsFailureNotice(f.Recipient)).ToList());
            }
            if (run.Notices is not null)
            {
                await SendNoticesAsync(run.Notices, run, content, cancellationToken).ConfigureAwait(false);
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

    private static string MailboxFullReply(string login, MailboxStoreException refusal) => $"552 5.2.2 <{login}>: mailbox full ({refusal.Message})";

    // RFC 3461 §4.1: a failure notice unless the recipient asked for none or only for others.
    private static bool WantsFailureNotice(QueueRecipient recipient) =>
        recipient.Notify == DsnNotify.Unspecified || (recipient.Notify.HasFlag(DsnNotify.Failure) && !recipient.Notify.HasFlag(DsnNotify.Never));

    // The failure notices this delivery owes (to the writer, to lists' owners), once everything is stored and queued.
    // A notice that cannot be built or sent costs only itself: the copies it reports on are accepted already.
    private async ValueTask SendNoticesAsync(List<(QueueEnvelope Envelope, List<RecipientStatus> Failed)> notices, Run run, Stream content, CancellationToken cancellationToken)
    {
        foreach (var (envelope, failed) in notices)
        {
            if (failed.Count == 0 || envelope.ReversePath.Length == 0 || lists is null)
            {
                continue; // nobody asked, or the null reverse path: a notice about a notice is never sent
            }
            try
            {
                await lists.NotifyAsync(envelope, failed, content, cancellationToken).ConfigureAwait(false);
                run.Report?.Add(string.Create(CultureInfo.InvariantCulture, $"{failed.Count} recipient(s) not reached, reported to <{envelope.ReversePath}>"));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                SmtpLog.NoticeFailed(logger, run.QueueId, Mail.Protocols.Telemetry.PersonalData.ForLog(envelope.ReversePath), ex);
            }
        }
    }

    // What one delivery has done so far, across the client's recipients and every list they reach.
    private sealed class Run(string queueId, DuplicateFilter.Key? duplicateKey, List<string>? report, HashSet<string>? delivered)
    {
        public string QueueId { get; } = queueId;
        public DuplicateFilter.Key? DuplicateKey { get; } = duplicateKey;
        public List<string>? Report { get; } = report;
        // Logins that have their copy (null when the message has a single mailbox destination).
        public HashSet<string>? Delivered { get; } = delivered;
        // Copies stored (or found stored by an earlier delivery of this message).
        public int CopiesStored { get; set; }
        // The collections below are made on first use: a message for local mailboxes only needs none of them.
        // Remote addresses with a copy queued, by AddressKey: each gets one, whichever path reached it first.
        private HashSet<string>? _remoteQueued;
        // Queue entries whose sender is not the writer's: SRS forwards, and lists' remote members from their owners.
        public List<QueueEnvelope>? EntriesWithOwnSender { get; private set; }
        // Failure notices owed: to the reverse path of the envelope, about these recipients.
        public List<(QueueEnvelope Envelope, List<RecipientStatus> Failed)>? Notices { get; private set; }
        // The lists being sent on now (for loops), and those sent on already (each once per message).
        public HashSet<string> ListPath => field ??= new(StringComparer.Ordinal);
        public HashSet<string> ListsDone => field ??= new(StringComparer.Ordinal);

        /// <summary>Whether this is the first copy queued for the remote address (each gets one).</summary>
        public bool FirstRemoteCopy(string address) => (_remoteQueued ??= new(StringComparer.Ordinal)).Add(AddressKey(address));

        public void AddEntryWithOwnSender(QueueEnvelope entry) => (EntriesWithOwnSender ??= []).Add(entry);

        public void AddNotice(QueueEnvelope envelope, List<RecipientStatus> failed) => (Notices ??= []).Add((envelope, failed));
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
        run.CopiesStored++;
        run.Report?.Add(folder is null
            ? $"<{recipient}> already stored for {localUser} from an earlier copy of this message"
            : $"<{recipient}> stored for {localUser} in {folder}");
        return null;
    }

    // The sender a copy sent on to another domain leaves with: its SRS form when rewriting is on (a sender that cannot
    // be rewritten, one too long for a path, keeps its own), else itself; the null path stays null.
    private string SenderForForward(string reversePath) =>
        senderRewriter is not null && senderRewriter.TryForward(reversePath, out var rewritten, out _) ? rewritten : reversePath;

    // Addresses are equal when the local parts are equal octet for octet (the remote host's to interpret,
    // RFC 5321 §2.4) and the domains in any letter case.
    private static string AddressKey(string address)
    {
        var at = address.LastIndexOf('@');
        // An internationalised domain written either way is one domain.
        return at < 0 ? address : string.Concat(address.AsSpan(0, at + 1), DomainName.ToAscii(address[(at + 1)..]).ToLowerInvariant());
    }

    private static string DomainOf(string address) => address[(address.LastIndexOf('@') + 1)..];

    // Returns the folder the copy went into, or null when it was a duplicate and not stored again.
    private async ValueTask<string?> DeliverLocalAsync(string localUser, string? subaddress, Stream content, string queueId, DuplicateFilter.Key? duplicateKey, CancellationToken cancellationToken)
    {
        if (duplicateKey is { } key && !await duplicates!.ClaimAsync(localUser, key, logger, queueId, cancellationToken).ConfigureAwait(false))
        {
            SmtpLog.DuplicateSuppressed(logger, queueId, Mail.Protocols.Telemetry.PersonalData.ForLog(localUser));
            return null;
        }
        var stored = false;
        try
        {
            var folder = subaddress is null ? Inbox : await FolderForSubaddressAsync(localUser, subaddress, cancellationToken).ConfigureAwait(false);
            content.Position = 0;
            using (var span = SmtpTracing.Smtp.StartActivity("mail.store.append", ActivityKind.Client))
            {
                span?.SetTag("mail.store.folder", folder);
                await store.AppendAsync(localUser, folder, content, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
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
