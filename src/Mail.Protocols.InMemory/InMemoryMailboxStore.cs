using System.Collections.Concurrent;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;

namespace Mail.Protocols.InMemory;

/// <summary>
/// The reference <see cref="IMailboxStore"/>: every user's folders and messages in memory, thread-safe
/// (one lock per user), with change notifications. Content is kept as written; the MIME summary is
/// parsed on first request and then cached with the message. Nothing survives the process.
/// </summary>
public sealed class InMemoryMailboxStore : IMailboxStore
{
    private const string InboxName = "INBOX";
    private readonly ConcurrentDictionary<string, UserMailbox> _users = new(UserName.Comparer); // one user per login normal form
    private readonly TimeProvider _timeProvider;
    private uint _nextUidValidity;

    /// <summary>Creates an empty store.</summary>
    public InMemoryMailboxStore(TimeProvider? timeProvider = null)
    {
        _timeProvider = timeProvider ?? TimeProvider.System;
        _nextUidValidity = (uint)_timeProvider.GetUtcNow().ToUnixTimeSeconds();
    }

    /// <inheritdoc />
    public char HierarchySeparator => '/';

    private UserMailbox Get(string user)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        if (!UserName.TryNormalize(user, out _))
        {
            throw new MailboxStoreException(MailboxStoreError.InvalidName, "The user name is not valid Unicode.");
        }
        return _users.GetOrAdd(user, u => new UserMailbox(u, NextUidValidity()));
    }

    private uint NextUidValidity() => Interlocked.Increment(ref _nextUidValidity);

    private static string Normalize(string folder) =>
        string.Equals(folder, InboxName, StringComparison.OrdinalIgnoreCase) ? InboxName : folder;

    private static Folder Find(UserMailbox mailbox, string folder) =>
        mailbox.Folders.TryGetValue(Normalize(folder), out var f)
            ? f
            : throw new MailboxStoreException(MailboxStoreError.FolderNotFound, $"Folder '{folder}' does not exist.");

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<FolderInfo>> ListFoldersAsync(string user, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        lock (mailbox)
        {
            return ValueTask.FromResult(FolderTree.Build(mailbox.Folders.Values.Select(f => new FolderInfo(f.Name, f.SpecialUse, false)), HierarchySeparator));
        }
    }

    /// <inheritdoc />
    public ValueTask SetSpecialUseAsync(string user, string folder, SpecialUse specialUse, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        lock (mailbox)
        {
            Find(mailbox, folder).SpecialUse = specialUse;
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListSubscriptionsAsync(string user, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        lock (mailbox)
        {
            return ValueTask.FromResult<IReadOnlyList<string>>([.. mailbox.Subscriptions]);
        }
    }

    /// <inheritdoc />
    public ValueTask AddSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        ValidateName(folder);
        var mailbox = Get(user);
        lock (mailbox)
        {
            mailbox.Subscriptions.Add(Normalize(folder));
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask RemoveSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        ValidateName(folder);
        var mailbox = Get(user);
        lock (mailbox)
        {
            mailbox.Subscriptions.Remove(Normalize(folder));
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<FolderInfo> CreateFolderAsync(string user, string folder, SpecialUse specialUse = SpecialUse.None, CancellationToken cancellationToken = default)
    {
        ValidateName(folder);
        var mailbox = Get(user);
        var name = Normalize(folder);
        lock (mailbox)
        {
            if (mailbox.Folders.ContainsKey(name))
            {
                throw new MailboxStoreException(MailboxStoreError.FolderExists, $"Folder '{folder}' already exists.");
            }
            // Create missing parents too.
            var parts = name.Split(HierarchySeparator);
            for (var i = 1; i < parts.Length; i++)
            {
                var parent = string.Join(HierarchySeparator, parts[..i]);
                if (!mailbox.Folders.ContainsKey(Normalize(parent)))
                {
                    mailbox.Folders[parent] = new Folder(parent, SpecialUse.None, NextUidValidity());
                }
            }
            mailbox.Folders[name] = new Folder(name, specialUse, NextUidValidity());
            mailbox.Publish(new MailboxChange(MailboxChangeKind.FolderCreated, mailbox.User, name, null, 0, 0));
            return ValueTask.FromResult(new FolderInfo(name, specialUse, false));
        }
    }

    private void ValidateName(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (folder.Length == 0 || folder.Length > 255 || folder.StartsWith(HierarchySeparator) || folder.EndsWith(HierarchySeparator)
            || folder.Contains($"{HierarchySeparator}{HierarchySeparator}", StringComparison.Ordinal) || folder.Any(char.IsControl))
        {
            throw new MailboxStoreException(MailboxStoreError.InvalidName, "Invalid folder name.");
        }
    }

    /// <inheritdoc />
    public ValueTask RenameFolderAsync(string user, string folder, string newName, CancellationToken cancellationToken = default)
    {
        ValidateName(newName);
        var mailbox = Get(user);
        var from = Normalize(folder);
        var to = Normalize(newName);
        lock (mailbox)
        {
            var source = Find(mailbox, from);
            if (mailbox.Folders.ContainsKey(to))
            {
                throw new MailboxStoreException(MailboxStoreError.FolderExists, $"Folder '{newName}' already exists.");
            }
            if (from == InboxName)
            {
                // RFC 9051 §6.3.5: INBOX's messages move to a new folder; INBOX stays, empty, with its UIDVALIDITY and UIDNEXT.
                var target = new Folder(to, SpecialUse.None, NextUidValidity());
                foreach (var m in source.Messages.Values)
                {
                    target.Add(m.Content, m.Flags, m.Keywords, m.InternalDate, m.Summary);
                }
                mailbox.Folders[to] = target;
                foreach (var uid in source.Messages.Keys.ToList())
                {
                    source.Messages.Remove(uid);
                    source.HighestModSeq++;
                    mailbox.Publish(new MailboxChange(MailboxChangeKind.MessageExpunged, mailbox.User, InboxName, null, uid, source.HighestModSeq));
                }
                mailbox.Publish(new MailboxChange(MailboxChangeKind.FolderCreated, mailbox.User, to, null, 0, 0));
                return ValueTask.CompletedTask;
            }
            else
            {
                foreach (var name in mailbox.Folders.Keys.Where(n => n == from || n.StartsWith(from + HierarchySeparator, StringComparison.Ordinal)).ToList())
                {
                    var renamed = to + name[from.Length..];
                    var f = mailbox.Folders[name];
                    mailbox.Folders.Remove(name);
                    f.Name = renamed;
                    mailbox.Folders[renamed] = f;
                }
            }
            mailbox.Publish(new MailboxChange(MailboxChangeKind.FolderRenamed, mailbox.User, from, null, 0, 0, to));
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DeleteFolderAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        var name = Normalize(folder);
        if (name == InboxName)
        {
            throw new MailboxStoreException(MailboxStoreError.NotAllowed, "INBOX cannot be deleted.");
        }
        lock (mailbox)
        {
            Find(mailbox, name);
            mailbox.Folders.Remove(name);
            mailbox.Publish(new MailboxChange(MailboxChangeKind.FolderDeleted, mailbox.User, name, null, 0, 0));
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<FolderStatus> GetStatusAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        lock (mailbox)
        {
            var f = Find(mailbox, folder);
            var unseen = 0;
            var deleted = 0;
            long size = 0;
            foreach (var m in f.Messages.Values)
            {
                if ((m.Flags & MessageFlags.Seen) == 0)
                {
                    unseen++;
                }
                if ((m.Flags & MessageFlags.Deleted) != 0)
                {
                    deleted++;
                }
                size += m.Content.Length;
            }
            return ValueTask.FromResult(new FolderStatus(f.Name, f.UidValidity, f.UidNext, f.HighestModSeq, f.Messages.Count, unseen, size, deleted));
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<MessageInfo>> ListMessagesAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        lock (mailbox)
        {
            IReadOnlyList<MessageInfo> list = [.. Find(mailbox, folder).Messages.Values.Select(m => m.Info)];
            return ValueTask.FromResult(list);
        }
    }

    /// <inheritdoc />
    public async ValueTask<AppendResult> AppendAsync(string user, string folder, Stream content, AppendOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var keywords = MessageKeywords.Validate(options?.Keywords);
        var mailbox = Get(user);
        // Read everything first: a failed or cancelled read stores nothing.
        byte[] bytes;
        if (content.CanSeek)
        {
            bytes = new byte[content.Length - content.Position];
            await content.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            using var copy = new MemoryStream();
            await content.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
            bytes = copy.ToArray();
        }
        lock (mailbox)
        {
            var f = Find(mailbox, folder);
            var message = f.Add(bytes, options?.Flags ?? MessageFlags.None, keywords, options?.InternalDate ?? _timeProvider.GetUtcNow());
            mailbox.Publish(new MailboxChange(MailboxChangeKind.MessageAdded, mailbox.User, f.Name, message.Info, message.Uid, f.HighestModSeq));
            return new AppendResult(f.UidValidity, message.Uid, bytes.Length);
        }
    }

    private static Message FindMessage(Folder folder, uint uid) =>
        folder.Messages.TryGetValue(uid, out var m) ? m : throw new MailboxStoreException(MailboxStoreError.MessageNotFound, $"No message with UID {uid}.");

    /// <inheritdoc />
    public ValueTask<Stream> OpenContentAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        lock (mailbox)
        {
            var m = FindMessage(Find(mailbox, folder), uid);
            return ValueTask.FromResult<Stream>(new MemoryStream(m.Content, writable: false));
        }
    }

    /// <inheritdoc />
    public ValueTask<MessageSummary> GetSummaryAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        Message m;
        lock (mailbox)
        {
            m = FindMessage(Find(mailbox, folder), uid);
        }
        return ValueTask.FromResult(m.Summary.Value);
    }

    /// <inheritdoc />
    public ValueTask<FlagUpdateResult> UpdateFlagsAsync(string user, string folder, IReadOnlyCollection<uint> uids, FlagChange change, ulong? unchangedSince = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uids);
        ArgumentNullException.ThrowIfNull(change);
        MessageKeywords.Validate(change.Keywords);
        var mailbox = Get(user);
        lock (mailbox)
        {
            var f = Find(mailbox, folder);
            var updated = new List<MessageInfo>();
            var modified = new List<uint>();
            foreach (var uid in uids.Distinct().Order())
            {
                if (!f.Messages.TryGetValue(uid, out var m))
                {
                    continue;
                }
                if (unchangedSince is { } since && m.ModSeq > since)
                {
                    modified.Add(uid);
                    continue;
                }
                if (change.TryApply(m.Flags, m.Keywords, out var flags, out var newKeywords))
                {
                    m.Flags = flags;
                    m.Keywords = newKeywords;
                    m.ModSeq = ++f.HighestModSeq;
                    mailbox.Publish(new MailboxChange(MailboxChangeKind.FlagsChanged, mailbox.User, f.Name, m.Info, uid, f.HighestModSeq));
                }
                updated.Add(m.Info);
            }
            return ValueTask.FromResult(new FlagUpdateResult(updated, modified));
        }
    }

    /// <inheritdoc />
    public ValueTask<CopyResult> CopyAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Transfer(user, folder, uids, targetFolder, move: false));

    /// <inheritdoc />
    public ValueTask<CopyResult> MoveAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Transfer(user, folder, uids, targetFolder, move: true));

    private CopyResult Transfer(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, bool move)
    {
        ArgumentNullException.ThrowIfNull(uids);
        var mailbox = Get(user);
        lock (mailbox)
        {
            var source = Find(mailbox, folder);
            var target = Find(mailbox, targetFolder);
            var from = new List<uint>();
            var to = new List<uint>();
            foreach (var uid in uids.Distinct().Order())
            {
                if (!source.Messages.TryGetValue(uid, out var m))
                {
                    continue;
                }
                var copy = target.Add(m.Content, m.Flags, m.Keywords, m.InternalDate, m.Summary);
                from.Add(uid);
                to.Add(copy.Uid);
                mailbox.Publish(new MailboxChange(MailboxChangeKind.MessageAdded, mailbox.User, target.Name, copy.Info, copy.Uid, target.HighestModSeq));
                if (move && !ReferenceEquals(source, target))
                {
                    source.Messages.Remove(uid);
                    source.HighestModSeq++;
                    mailbox.Publish(new MailboxChange(MailboxChangeKind.MessageExpunged, mailbox.User, source.Name, null, uid, source.HighestModSeq));
                }
            }
            return new CopyResult(target.UidValidity, from, to);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<uint>> ExpungeAsync(string user, string folder, IReadOnlyCollection<uint>? uids = null, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        lock (mailbox)
        {
            var f = Find(mailbox, folder);
            var remove = uids is null
                ? f.Messages.Values.Where(m => (m.Flags & MessageFlags.Deleted) != 0).Select(m => m.Uid).ToList()
                : uids.Where(f.Messages.ContainsKey).Distinct().Order().ToList();
            foreach (var uid in remove)
            {
                f.Messages.Remove(uid);
                f.HighestModSeq++;
                mailbox.Publish(new MailboxChange(MailboxChangeKind.MessageExpunged, mailbox.User, f.Name, null, uid, f.HighestModSeq));
            }
            IReadOnlyList<uint> result = remove;
            return ValueTask.FromResult(result);
        }
    }

    /// <inheritdoc />
    public IDisposable Subscribe(string user, IMailboxObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var mailbox = Get(user);
        lock (mailbox)
        {
            mailbox.Observers = mailbox.Observers.Add(observer);
        }
        return new Subscription(mailbox, observer);
    }

    private sealed class Subscription(UserMailbox mailbox, IMailboxObserver observer) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                lock (mailbox)
                {
                    mailbox.Observers = mailbox.Observers.Remove(observer);
                }
            }
        }
    }

    private sealed class UserMailbox
    {
        public UserMailbox(string user, uint inboxUidValidity)
        {
            User = user;
            Folders[InboxName] = new Folder(InboxName, SpecialUse.None, inboxUidValidity);
        }

        public string User { get; }
        public Dictionary<string, Folder> Folders { get; } = new(StringComparer.Ordinal);
        public SortedSet<string> Subscriptions { get; } = new(StringComparer.Ordinal);
        public System.Collections.Immutable.ImmutableList<IMailboxObserver> Observers { get; set; } = [];

        public void Publish(MailboxChange change)
        {
            foreach (var observer in Observers)
            {
                observer.OnChange(change);
            }
        }
    }

    private sealed class Folder(string name, SpecialUse specialUse, uint uidValidity)
    {
        public string Name { get; set; } = name;
        public SpecialUse SpecialUse { get; set; } = specialUse;
        public uint UidValidity { get; } = uidValidity;
        public uint UidNext { get; private set; } = 1;
        public ulong HighestModSeq { get; set; } = 1;
        public SortedDictionary<uint, Message> Messages { get; } = [];

        public Message Add(byte[] content, MessageFlags flags, string[] keywords, DateTimeOffset internalDate, Lazy<MessageSummary>? summary = null)
        {
            var message = new Message(UidNext++, content, internalDate, summary)
            {
                Flags = flags,
                Keywords = keywords,
                ModSeq = ++HighestModSeq,
            };
            Messages[message.Uid] = message;
            return message;
        }
    }

    private sealed class Message(uint uid, byte[] content, DateTimeOffset internalDate, Lazy<MessageSummary>? summary)
    {
        public uint Uid { get; } = uid;
        public byte[] Content { get; } = content;
        public DateTimeOffset InternalDate { get; } = internalDate;
        public MessageFlags Flags { get; set; }
        public string[] Keywords { get; set; } = [];
        public ulong ModSeq { get; set; }
        public Lazy<MessageSummary> Summary { get; } = summary ?? new(() => MessageSummaryParser.Parse(new MemoryStream(content, writable: false)));
        public MessageInfo Info => new(Uid, Flags, Keywords, InternalDate, Content.Length, ModSeq);
    }
}
