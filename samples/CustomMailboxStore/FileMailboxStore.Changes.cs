using Mail.Protocols.Storage;
using static CustomMailboxStore.MailboxFiles;

namespace CustomMailboxStore;

// The session side of IMailboxStore: subscriptions (the core's MailboxChangeHub does the queueing), opening a folder at
// one instant, and the expunges QRESYNC asks for, kept in index.json.
public sealed partial class FileMailboxStore
{
    /// <inheritdoc />
    public MailboxSubscription Subscribe(string user, int capacity = MailboxSubscription.DefaultCapacity) => GetUser(user).Changes.Subscribe(capacity);

    /// <inheritdoc />
    public ValueTask<FolderSnapshot> OpenFolderAsync(string user, string folder, MailboxSubscription? subscription = null, CancellationToken cancellationToken = default)
    {
        GetUser(user).Changes.Check(subscription);
        // Every change is published under the user's lock, which this holds too: the snapshot and the subscription's start are one instant.
        return RunAsync(user, (state, list) =>
        {
            var (entry, _, index) = Open(state, list, folder);
            state.Changes.Opened(subscription, entry.Name, index.UidValidity);
            return new FolderSnapshot(StatusOf(entry, index), [.. index.Messages.Select(m => m.ToInfo())]);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<ExpungedUids> GetExpungedSinceAsync(string user, string folder, ulong modSeq, CancellationToken cancellationToken = default) =>
        RunAsync(user, (state, list) =>
        {
            var index = Open(state, list, folder).Index;
            // An index from before expunges were kept remembers none up to its HIGHESTMODSEQ.
            if (modSeq < (index.ExpungesForgottenThrough ?? index.HighestModSeq))
            {
                return new ExpungedUids(false, []);
            }
            return new ExpungedUids(true, [.. index.Expunged.Where(e => e.ModSeq > modSeq).Select(e => e.Uid).Order()]);
        }, cancellationToken);

    /// <summary>Gives an expunge its MODSEQ and remembers it (the caller saves the index); the oldest are forgotten past the capacity.</summary>
    private static ulong RecordExpunge(FolderIndex index, uint uid)
    {
        index.ExpungesForgottenThrough ??= index.HighestModSeq;
        var modSeq = ++index.HighestModSeq;
        index.Expunged.Add(new ExpungedEntry(uid, modSeq));
        if (index.Expunged.Count > FolderIndex.ExpungedCapacity)
        {
            var drop = index.Expunged.Count - FolderIndex.ExpungedCapacity;
            index.ExpungesForgottenThrough = index.Expunged[drop - 1].ModSeq;
            index.Expunged.RemoveRange(0, drop);
        }
        return modSeq;
    }
}
