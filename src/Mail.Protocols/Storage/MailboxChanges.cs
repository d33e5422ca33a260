using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;

namespace Mail.Protocols.Storage;

/// <summary>The kinds of change a store publishes.</summary>
public enum MailboxChangeKind
{
    /// <summary>A message was added (append, delivery, copy or move target).</summary>
    MessageAdded,
    /// <summary>A message's flags or keywords changed.</summary>
    FlagsChanged,
    /// <summary>A message was removed.</summary>
    MessageExpunged,
    /// <summary>A folder was created.</summary>
    FolderCreated,
    /// <summary>A folder was deleted.</summary>
    FolderDeleted,
    /// <summary>A folder was renamed; <see cref="MailboxChange.NewFolderName"/> has the new name.</summary>
    FolderRenamed,
}

/// <summary>One change to a user's mailboxes.</summary>
/// <param name="Kind">What changed.</param>
/// <param name="Folder">The folder (for <see cref="MailboxChangeKind.FolderRenamed"/>, its old name).</param>
/// <param name="UidValidity">The folder's UIDVALIDITY: a folder deleted and created again under the same name has another one, so
/// a change of the old folder is never taken for one of the new.</param>
/// <param name="Uid">The message's UID, 0 for folder changes.</param>
/// <param name="ModSeq">The message's own MODSEQ after the change (for an expunge, the MODSEQ of the expunge, which
/// <see cref="IMailboxStore.GetExpungedSinceAsync"/> reports it under); 0 for folder changes.</param>
/// <param name="Message">The message after the change (null for expunges and folder changes).</param>
/// <param name="NewFolderName">For <see cref="MailboxChangeKind.FolderRenamed"/>, the new name.</param>
public sealed record MailboxChange(MailboxChangeKind Kind, string Folder, uint UidValidity, uint Uid, ulong ModSeq, MessageInfo? Message = null, string? NewFolderName = null)
{
    /// <summary>Whether this is a change of a message (added, flags changed, expunged) rather than of a folder.</summary>
    public bool IsMessageChange => Kind is MailboxChangeKind.MessageAdded or MailboxChangeKind.FlagsChanged or MailboxChangeKind.MessageExpunged;
}

/// <summary>
/// The changes one store call made to one folder, in the order they were made: what a subscriber reads from its
/// queue as one item (expunging 10,000 messages is one batch, not 10,000 notifications). Folder changes
/// (created, deleted, renamed) come one per batch.
/// </summary>
/// <param name="User">The user whose mailbox changed.</param>
/// <param name="Folder">The folder (for a rename, its old name).</param>
/// <param name="UidValidity">The folder's UIDVALIDITY.</param>
/// <param name="HighestModSeq">The folder's HIGHESTMODSEQ after the last change of the batch (0 for a folder change).</param>
/// <param name="Changes">The changes, in order; empty only for a <see cref="ResyncRequired"/> batch.</param>
public sealed record MailboxChangeBatch(string User, string Folder, uint UidValidity, ulong HighestModSeq, IReadOnlyList<MailboxChange> Changes)
{
    /// <summary>
    /// True when the subscriber fell behind: its queue was full, the changes in it were dropped, and the ones made
    /// since are lost to it. Take a fresh snapshot (<see cref="IMailboxStore.OpenFolderAsync"/> with the subscription);
    /// nothing else is in this batch.
    /// </summary>
    public bool ResyncRequired { get; init; }

    /// <summary>Whether the batch holds message changes (rather than one folder change or a resync).</summary>
    public bool IsMessageChanges => Changes.Count > 0 && Changes[0].IsMessageChange;
}

/// <summary>The state of a folder at one instant, as <see cref="IMailboxStore.OpenFolderAsync"/> returns it.</summary>
/// <param name="Status">The counters, <see cref="FolderStatus.HighestModSeq"/> covering exactly <paramref name="Messages"/>.</param>
/// <param name="Messages">The messages in ascending UID order (a snapshot: it does not change with the folder).</param>
public sealed record FolderSnapshot(FolderStatus Status, IReadOnlyList<MessageInfo> Messages);

/// <summary>The answer to <see cref="IMailboxStore.GetExpungedSinceAsync"/> (RFC 7162 QRESYNC VANISHED).</summary>
/// <param name="Remembered">False when the store no longer remembers expunges that far back: <paramref name="Uids"/> is then
/// empty and the caller falls back to comparing UIDs (RFC 7162 §3.2.5.2, the known UIDs of the client) or a full resync.</param>
/// <param name="Uids">The UIDs expunged with a MODSEQ above the one asked for, ascending.</param>
public sealed record ExpungedUids(bool Remembered, IReadOnlyList<uint> Uids);

/// <summary>The answer to <see cref="IMailboxStore.OpenFolderForResyncAsync"/>: a folder as opened, and what was expunged from it since a MODSEQ.</summary>
/// <param name="Snapshot">The folder as <see cref="IMailboxStore.OpenFolderAsync"/> returns it.</param>
/// <param name="Expunged">The expunges as <see cref="IMailboxStore.GetExpungedSinceAsync"/> returns them.</param>
public sealed record FolderResync(FolderSnapshot Snapshot, ExpungedUids Expunged);

/// <summary>
/// One session's registration for the changes of one user's mailboxes (see <see cref="IMailboxStore.Subscribe"/>): a
/// bounded queue of <see cref="MailboxChangeBatch"/> that the store writes without ever blocking or running the
/// session's code, and that the session reads when it likes. Dispose it to unregister.
/// </summary>
/// <remarks>
/// <para>
/// Until a folder is opened with it (<see cref="IMailboxStore.OpenFolderAsync"/>), the subscription hears the
/// message changes of every folder of the user; after that only those of the folder opened last (followed through
/// renames), and the folder changes (created, deleted, renamed) of every folder. Opening a folder drops the message
/// batches still queued: the snapshot the open returns already holds them.
/// </para>
/// <para>
/// Passed to a store call that changes messages (append, flags, copy, move, expunge), it marks the call as the
/// session's own: the changes are answered by the call's result and not queued for this subscription (other
/// subscriptions, other sessions of the same user included, hear them).
/// </para>
/// <para>
/// A full queue is not waited for: its batches are dropped and one batch with <see cref="MailboxChangeBatch.ResyncRequired"/>
/// takes their place; changes are dropped until that batch is read.
/// </para>
/// </remarks>
public sealed class MailboxSubscription : IDisposable
{
    /// <summary>The default capacity: batches queued before a subscriber that does not read is told to resynchronise.</summary>
    public const int DefaultCapacity = 256;

    private readonly MailboxChangeHub _hub;
    private readonly Queue<MailboxChangeBatch> _queue = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource<bool>? _waiter;
    private string? _folder;
    private uint _uidValidity;
    private bool _overflowed;
    private bool _disposed;

    internal MailboxSubscription(MailboxChangeHub hub, int capacity)
    {
        _hub = hub;
        Capacity = capacity;
    }

    /// <summary>The user whose changes this subscription hears.</summary>
    public string User => _hub.User;

    /// <summary>How many batches the queue holds before the subscriber is told to resynchronise.</summary>
    public int Capacity { get; }

    /// <summary>The folder opened last with this subscription (renames followed), or null if none was.</summary>
    public string? OpenFolder
    {
        get
        {
            lock (_gate)
            {
                return _folder;
            }
        }
    }

    internal MailboxChangeHub Hub => _hub;

    /// <summary>Takes the next batch, if one is queued. Never blocks.</summary>
    public bool TryRead([NotNullWhen(true)] out MailboxChangeBatch? batch)
    {
        lock (_gate)
        {
            if (_queue.TryDequeue(out batch))
            {
                if (batch.ResyncRequired)
                {
                    _overflowed = false; // changes made from now on are queued again
                }
                return true;
            }
            return false;
        }
    }

    /// <summary>
    /// Completes when a batch is queued (true) or the subscription was disposed (false). Completions run on the thread
    /// pool, never on the thread of the store call that queued the batch.
    /// </summary>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        TaskCompletionSource<bool> waiter;
        lock (_gate)
        {
            if (_queue.Count > 0)
            {
                return ValueTask.FromResult(true);
            }
            if (_disposed)
            {
                return ValueTask.FromResult(false);
            }
            waiter = _waiter ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        return new ValueTask<bool>(waiter.Task.WaitAsync(cancellationToken));
    }

    /// <summary>Unregisters; queued batches stay readable, no more are queued, and waiters complete with false. More than once is harmless.</summary>
    public void Dispose()
    {
        TaskCompletionSource<bool>? waiter;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            waiter = _waiter;
            _waiter = null;
        }
        _hub.Remove(this);
        waiter?.TrySetResult(false);
    }

    // Queues a batch unless it is not for this subscription; on overflow, replaces the queue with one resync batch.
    internal void Offer(MailboxChangeBatch batch, char separator)
    {
        TaskCompletionSource<bool>? waiter;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            if (batch.IsMessageChanges)
            {
                if (_folder is not null && (batch.UidValidity != _uidValidity || !string.Equals(batch.Folder, _folder, StringComparison.Ordinal)))
                {
                    return;
                }
            }
            else if (_folder is not null && batch.Changes is [{ Kind: MailboxChangeKind.FolderRenamed, NewFolderName: { } newName }])
            {
                // Followed even while changes are being dropped: the open folder keeps its UIDVALIDITY under its new name.
                if (string.Equals(_folder, batch.Folder, StringComparison.Ordinal))
                {
                    _folder = newName;
                }
                else if (_folder.Length > batch.Folder.Length && _folder[batch.Folder.Length] == separator && _folder.StartsWith(batch.Folder, StringComparison.Ordinal))
                {
                    _folder = newName + _folder[batch.Folder.Length..];
                }
            }
            if (_overflowed)
            {
                return;
            }
            if (_queue.Count >= Capacity)
            {
                _queue.Clear();
                _queue.Enqueue(new MailboxChangeBatch(User, batch.Folder, 0, 0, []) { ResyncRequired = true });
                _overflowed = true;
            }
            else
            {
                _queue.Enqueue(batch);
            }
            waiter = _waiter;
            _waiter = null;
        }
        waiter?.TrySetResult(true);
    }

    // The open's snapshot holds every message change queued so far: drop them, follow the new folder from here.
    internal void Opened(string folder, uint uidValidity)
    {
        lock (_gate)
        {
            _folder = folder;
            _uidValidity = uidValidity;
            var kept = _queue.Where(b => !b.IsMessageChanges && !b.ResyncRequired).ToList();
            _queue.Clear();
            foreach (var batch in kept)
            {
                _queue.Enqueue(batch);
            }
            _overflowed = false;
        }
    }
}

/// <summary>
/// The subscriptions of one user in one store, and the one place a store publishes changes through: a store keeps one
/// per user and calls <see cref="Publish"/> after each change is stored (under its own lock is fine: publishing only
/// writes to bounded queues and never runs a subscriber's code). Written for custom stores too.
/// </summary>
public sealed class MailboxChangeHub
{
    private readonly Lock _gate = new();
    private ImmutableArray<MailboxSubscription> _subscriptions = [];

    /// <summary>Creates the hub of one user.</summary>
    /// <param name="user">The user.</param>
    /// <param name="hierarchySeparator">The store's <see cref="IMailboxStore.HierarchySeparator"/>, to follow renames of a parent of an open folder.</param>
    public MailboxChangeHub(string user, char hierarchySeparator)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        User = user;
        Separator = hierarchySeparator;
    }

    /// <summary>The user.</summary>
    public string User { get; }

    /// <summary>The hierarchy separator the hub was made with.</summary>
    public char Separator { get; }

    /// <summary>Whether any subscription is registered (a store may skip looking for other programs' changes when none is).</summary>
    public bool HasSubscribers => !_subscriptions.IsEmpty;

    /// <summary>Registers a new subscription (the store's <see cref="IMailboxStore.Subscribe"/>).</summary>
    public MailboxSubscription Subscribe(int capacity = MailboxSubscription.DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var subscription = new MailboxSubscription(this, capacity);
        lock (_gate)
        {
            _subscriptions = _subscriptions.Add(subscription);
        }
        return subscription;
    }

    internal void Remove(MailboxSubscription subscription)
    {
        lock (_gate)
        {
            _subscriptions = _subscriptions.Remove(subscription);
        }
    }

    /// <summary>Throws unless <paramref name="subscription"/> (if any) was made by this hub: a session passes its own user's subscription.</summary>
    public void Check(MailboxSubscription? subscription)
    {
        if (subscription is not null && !ReferenceEquals(subscription.Hub, this))
        {
            throw new ArgumentException($"The subscription is not one of {User} in this store.", nameof(subscription));
        }
    }

    /// <summary>
    /// Marks the instant a folder is opened with <paramref name="subscription"/>: call it under the same lock that the
    /// snapshot is taken under, after publishing every change the snapshot holds. Message batches queued before are dropped
    /// (the snapshot holds them), and from now on the subscription hears the message changes of this folder only.
    /// </summary>
    public void Opened(MailboxSubscription? subscription, string folder, uint uidValidity)
    {
        Check(subscription);
        subscription?.Opened(folder, uidValidity);
    }

    /// <summary>
    /// Publishes the changes one call made, in order: each run of message changes of one folder becomes one batch,
    /// each folder change a batch of its own. The batches reach every subscription except <paramref name="origin"/>, the
    /// session whose call made them and that learns them from the call's result.
    /// </summary>
    public void Publish(IReadOnlyList<MailboxChange> changes, MailboxSubscription? origin = null)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var subscriptions = _subscriptions;
        if (changes.Count == 0 || subscriptions.IsEmpty || subscriptions.Length == 1 && ReferenceEquals(subscriptions[0], origin))
        {
            return;
        }
        var start = 0;
        while (start < changes.Count)
        {
            var first = changes[start];
            var end = start + 1;
            if (first.IsMessageChange)
            {
                while (end < changes.Count && changes[end].IsMessageChange && changes[end].UidValidity == first.UidValidity
                    && string.Equals(changes[end].Folder, first.Folder, StringComparison.Ordinal))
                {
                    end++;
                }
            }
            IReadOnlyList<MailboxChange> run = start == 0 && end == changes.Count ? changes : changes.Skip(start).Take(end - start).ToArray();
            var batch = new MailboxChangeBatch(User, first.Folder, first.UidValidity, first.IsMessageChange ? run.Max(c => c.ModSeq) : 0, run);
            foreach (var subscription in subscriptions)
            {
                if (!ReferenceEquals(subscription, origin))
                {
                    subscription.Offer(batch, Separator);
                }
            }
            start = end;
        }
    }
}

/// <summary>
/// The expunged UIDs of one folder with the MODSEQ of each expunge, for RFC 7162 QRESYNC (VANISHED), bounded: past
/// <see cref="Capacity"/> entries the oldest are forgotten and <see cref="RememberedAfter"/> rises. Not thread-safe:
/// a store uses it under its lock. Written for custom stores too.
/// </summary>
public sealed class ExpungedUidLog
{
    /// <summary>The default number of expunges remembered per folder.</summary>
    public const int DefaultCapacity = 10_000;

    private readonly List<(uint Uid, ulong ModSeq)> _entries = [];

    /// <summary>Creates a log that remembers every expunge with a MODSEQ above <paramref name="rememberedAfter"/>.</summary>
    public ExpungedUidLog(ulong rememberedAfter, int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        RememberedAfter = rememberedAfter;
        Capacity = capacity;
    }

    /// <summary>How many expunges are kept at most.</summary>
    public int Capacity { get; }

    /// <summary>Every expunge with a MODSEQ above this is remembered; those at or below it may be forgotten.</summary>
    public ulong RememberedAfter { get; private set; }

    /// <summary>The remembered expunges, oldest first.</summary>
    public IReadOnlyList<(uint Uid, ulong ModSeq)> Entries => _entries;

    /// <summary>Records an expunge. MODSEQs must come in ascending order (as a folder gives them out).</summary>
    public void Add(uint uid, ulong modSeq)
    {
        if (_entries.Count > 0 && modSeq < _entries[^1].ModSeq)
        {
            throw new ArgumentOutOfRangeException(nameof(modSeq), modSeq, "Expunges must be recorded in MODSEQ order.");
        }
        if (modSeq <= RememberedAfter)
        {
            return; // already forgotten, with everything at that MODSEQ
        }
        // The same expunge told twice (a journal line repeated) is one expunge.
        for (var i = _entries.Count - 1; i >= 0 && _entries[i].ModSeq == modSeq; i--)
        {
            if (_entries[i].Uid == uid)
            {
                return;
            }
        }
        _entries.Add((uid, modSeq));
        if (_entries.Count > Capacity)
        {
            // Forget an eighth at once, so that a long run of expunges does not move the whole list each time, and with
            // the last one forgotten every other expunge of its MODSEQ: "remembered after M" cannot keep half of M's.
            var drop = Math.Min(Math.Max(1, Capacity / 8), _entries.Count);
            RememberedAfter = Math.Max(RememberedAfter, _entries[drop - 1].ModSeq);
            while (drop < _entries.Count && _entries[drop].ModSeq <= RememberedAfter)
            {
                drop++;
            }
            _entries.RemoveRange(0, drop);
        }
    }

    /// <summary>Forgets everything at or below <paramref name="modSeq"/> (for example after expunges were lost).</summary>
    public void ForgetThrough(ulong modSeq)
    {
        if (modSeq <= RememberedAfter)
        {
            return;
        }
        RememberedAfter = modSeq;
        _entries.RemoveAll(e => e.ModSeq <= modSeq);
    }

    /// <summary>The UIDs expunged with a MODSEQ above <paramref name="modSeq"/>, or not remembered if the log does not reach back that far.</summary>
    public ExpungedUids Since(ulong modSeq)
    {
        if (modSeq < RememberedAfter)
        {
            return new ExpungedUids(false, []);
        }
        var uids = new List<uint>();
        for (var i = _entries.Count - 1; i >= 0 && _entries[i].ModSeq > modSeq; i--)
        {
            uids.Add(_entries[i].Uid);
        }
        uids.Sort();
        return new ExpungedUids(true, uids);
    }
}
