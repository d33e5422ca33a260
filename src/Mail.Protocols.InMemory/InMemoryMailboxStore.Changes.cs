using Mail.Protocols.Storage;

namespace Mail.Protocols.InMemory;

// The session side of the store: subscriptions, opening a folder at one instant, and the expunges QRESYNC asks for.
public sealed partial class InMemoryMailboxStore
{
    /// <inheritdoc />
    public MailboxSubscription Subscribe(string user, int capacity = MailboxSubscription.DefaultCapacity) => Get(user).Changes.Subscribe(capacity);

    /// <inheritdoc />
    public ValueTask<FolderSnapshot> OpenFolderAsync(string user, string folder, MailboxSubscription? subscription = null, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        mailbox.Changes.Check(subscription);
        lock (mailbox)
        {
            // Every change is published under this lock: the snapshot and the subscription's start are one instant.
            var f = Find(mailbox, folder);
            var snapshot = new FolderSnapshot(StatusOf(f), [.. f.Messages.Values.Select(m => m.Info)]);
            mailbox.Changes.Opened(subscription, f.Name, f.UidValidity);
            return ValueTask.FromResult(snapshot);
        }
    }

    /// <inheritdoc />
    public ValueTask<ExpungedUids> GetExpungedSinceAsync(string user, string folder, ulong modSeq, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        lock (mailbox)
        {
            return ValueTask.FromResult(Find(mailbox, folder).Expunged.Since(modSeq));
        }
    }
}
