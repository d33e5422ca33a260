using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir;

// The session side of the store: subscriptions, opening a folder at one instant, and the expunges QRESYNC asks for.
public sealed partial class MaildirMailboxStore
{
    /// <inheritdoc />
    public MailboxSubscription Subscribe(string user, int capacity = MailboxSubscription.DefaultCapacity) => Get(user).Changes.Subscribe(capacity);

    /// <inheritdoc />
    public ValueTask<FolderSnapshot> OpenFolderAsync(string user, string folder, MailboxSubscription? subscription = null, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        mailbox.Changes.Check(subscription);
        return Locked(mailbox, () => ValueTask.FromResult(Open(mailbox, folder, subscription).Snapshot));
    }

    /// <inheritdoc />
    /// <remarks>One re-scan of the folder's files serves both answers (the default would scan twice), under one lock.</remarks>
    public ValueTask<FolderResync> OpenFolderForResyncAsync(string user, string folder, ulong modSeq, MailboxSubscription? subscription = null, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        mailbox.Changes.Check(subscription);
        return Locked(mailbox, () =>
        {
            var (f, snapshot) = Open(mailbox, folder, subscription);
            return ValueTask.FromResult(new FolderResync(snapshot, f.Index.Expunged.Since(modSeq)));
        });
    }

    // Under the user's lock: re-scans the folder, then takes its snapshot and starts the subscription at that instant.
    private static (MaildirFolder Folder, FolderSnapshot Snapshot) Open(UserMailbox mailbox, string folder, MailboxSubscription? subscription)
    {
        var f = mailbox.Folder(folder);
        f.Refresh();
        // What the re-scan found is published to everyone first; the snapshot holds it, so the subscription drops it again.
        mailbox.Flush(null);
        var snapshot = new FolderSnapshot(StatusOf(f), f.Index.Messages);
        mailbox.Changes.Opened(subscription, f.Name, f.Index.UidValidity);
        return (f, snapshot);
    }

    /// <inheritdoc />
    public ValueTask<ExpungedUids> GetExpungedSinceAsync(string user, string folder, ulong modSeq, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        return Locked(mailbox, () =>
        {
            var f = mailbox.Folder(folder);
            f.Refresh(); // expunges by other programs get their MODSEQ now
            return ValueTask.FromResult(f.Index.Expunged.Since(modSeq));
        });
    }
}
