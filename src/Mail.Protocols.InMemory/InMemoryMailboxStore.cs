using System.Collections.Concurrent;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;

namespace Mail.Protocols.InMemory;

/// <summary>
/// The reference <see cref="IMailboxStore"/>: every user's folders and messages in memory, thread-safe
/// (one lock per user), with change notifications. Content is kept as written; the MIME summary is
/// parsed on first request and then cached with the message. Nothing survives the process.
/// </summary>
public sealed partial class InMemoryMailboxStore : IMailboxStore
{
    private const string InboxName = "INBOX";
    private readonly ConcurrentDictionary<string, UserMailbox> _users = new(UserName.Comparer); // one user per login normal form
    private readonly ConcurrentDictionary<string, long> _quotas = new(UserName.Comparer);
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

    /// <summary>
    /// Limits the octets of all messages in <paramref name="user"/>'s folders to <paramref name="maxBytes"/> (null:
    /// no limit, the default). An append or a copy that would pass it fails with <see cref="MailboxStoreError.MailboxFull"/>;
    /// what is stored already stays.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative limit.</exception>
    public void SetQuota(string user, long? maxBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        if (maxBytes is { } max)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(max, nameof(maxBytes));
            _quotas[user] = max;
        }
        else
        {
            _quotas.TryRemove(user, out _);
        }
    }

    // Under the mailbox's lock.
    private void CheckQuota(UserMailbox mailbox, string user, long adding)
    {
        if (_quotas.TryGetValue(user, out var quota) && mailbox.Folders.Values.Sum(f => f.Messages.Values.Sum(m => (long)m.Content.Length)) + adding > quota)
        {
            throw new MailboxStoreException(MailboxStoreError.MailboxFull, $"The mailbox is over its quota of {quota} octets.");
        }
    }

    private UserMailbox Get(string user)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        if (!UserName.TryNormalize(user, out _))
        {
            throw new MailboxStoreException(MailboxStoreError.InvalidName, "The user name is not valid Unicode.");
        }
        return _users.GetOrAdd(user, u => new UserMailbox(u, NextUidValidity(), HierarchySeparator));
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
            var created = new Folder(name, specialUse, NextUidValidity());
            mailbox.Folders[name] = created;
            mailbox.Changes.Publish([new MailboxChange(MailboxChangeKind.FolderCreated, name, created.UidValidity, 0, 0)]);
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
                var changes = new List<MailboxChange>();
                foreach (var uid in source.Messages.Keys.ToList())
                {
                    changes.Add(source.Expunge(uid));
                }
                changes.Add(new MailboxChange(MailboxChangeKind.FolderCreated, to, target.UidValidity, 0, 0));
                mailbox.Changes.Publish(changes);
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
            mailbox.Changes.Publish([new MailboxChange(MailboxChangeKind.FolderRenamed, from, mailbox.Folders[to].UidValidity, 0, 0, null, to)]);
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
            var deleted = Find(mailbox, name);
            mailbox.Folders.Remove(name);
            mailbox.Changes.Publish([new MailboxChange(MailboxChangeKind.FolderDeleted, name, deleted.UidValidity, 0, 0)]);
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<FolderStatus> GetStatusAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        lock (mailbox)
        {
            return ValueTask.FromResult(StatusOf(Find(mailbox, folder)));
        }
    }

    private static FolderStatus StatusOf(Folder f)
    {
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
        return new FolderStatus(f.Name, f.UidValidity, f.UidNext, f.HighestModSeq, f.Messages.Count, unseen, size, deleted);
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
    public async ValueTask<AppendResult> AppendAsync(string user, string folder, Stream content, AppendOptions? options = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var keywords = MessageKeywords.Validate(options?.Keywords);
        var mailbox = Get(user);
        mailbox.Changes.Check(session);
        // Read everything first: a failed or cancelled read stores nothing.
        var bytes = await MessageContent.ReadAsync(content, cancellationToken).ConfigureAwait(false);
        lock (mailbox)
        {
            var f = Find(mailbox, folder);
            CheckQuota(mailbox, user, bytes.Length);
            var message = f.Add(bytes, options?.Flags ?? MessageFlags.None, keywords, options?.InternalDate ?? _timeProvider.GetUtcNow());
            mailbox.Changes.Publish([f.Added(message)], session);
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
            return ValueTask.FromResult(m.Content.OpenRead());
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
    public ValueTask<FlagUpdateResult> UpdateFlagsAsync(string user, string folder, IReadOnlyCollection<uint> uids, FlagChange change, ulong? unchangedSince = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uids);
        ArgumentNullException.ThrowIfNull(change);
        MessageKeywords.Validate(change.Keywords);
        var mailbox = Get(user);
        mailbox.Changes.Check(session);
        lock (mailbox)
        {
            var f = Find(mailbox, folder);
            var changes = new List<MailboxChange>();
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
                    changes.Add(new MailboxChange(MailboxChangeKind.FlagsChanged, f.Name, f.UidValidity, uid, m.ModSeq, m.Info));
                }
                updated.Add(m.Info);
            }
            mailbox.Changes.Publish(changes, session);
            return ValueTask.FromResult(new FlagUpdateResult(updated, modified));
        }
    }

    /// <inheritdoc />
    public ValueTask<CopyResult> CopyAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, MailboxSubscription? session = null, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Transfer(user, folder, uids, targetFolder, move: false, session));

    /// <inheritdoc />
    public ValueTask<CopyResult> MoveAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, MailboxSubscription? session = null, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Transfer(user, folder, uids, targetFolder, move: true, session));

    private CopyResult Transfer(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, bool move, MailboxSubscription? session)
    {
        ArgumentNullException.ThrowIfNull(uids);
        var mailbox = Get(user);
        mailbox.Changes.Check(session);
        lock (mailbox)
        {
            var source = Find(mailbox, folder);
            var target = Find(mailbox, targetFolder);
            if (!move)
            {
                CheckQuota(mailbox, user, uids.Distinct().Sum(uid => source.Messages.TryGetValue(uid, out var m) ? (long)m.Content.Length : 0));
            }
            var from = new List<uint>();
            var to = new List<uint>();
            var (added, expunged) = (new List<MailboxChange>(), new List<MailboxChange>());
            foreach (var uid in uids.Distinct().Order())
            {
                if (!source.Messages.TryGetValue(uid, out var m))
                {
                    continue;
                }
                var copy = target.Add(m.Content, m.Flags, m.Keywords, m.InternalDate, m.Summary);
                from.Add(uid);
                to.Add(copy.Uid);
                added.Add(target.Added(copy));
                if (move && !ReferenceEquals(source, target))
                {
                    expunged.Add(source.Expunge(uid));
                }
            }
            // One batch per folder: the target's new messages, then the source's expunges.
            mailbox.Changes.Publish([.. added, .. expunged], session);
            return new CopyResult(target.UidValidity, from, to);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<uint>> ExpungeAsync(string user, string folder, IReadOnlyCollection<uint>? uids = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        mailbox.Changes.Check(session);
        lock (mailbox)
        {
            var f = Find(mailbox, folder);
            var remove = uids is null
                ? f.Messages.Values.Where(m => (m.Flags & MessageFlags.Deleted) != 0).Select(m => m.Uid).ToList()
                : uids.Where(f.Messages.ContainsKey).Distinct().Order().ToList();
            mailbox.Changes.Publish([.. remove.Select(f.Expunge)], session);
            IReadOnlyList<uint> result = remove;
            return ValueTask.FromResult(result);
        }
    }

    private sealed class UserMailbox
    {
        public UserMailbox(string user, uint inboxUidValidity, char separator)
        {
            User = user;
            Changes = new MailboxChangeHub(user, separator);
            Folders[InboxName] = new Folder(InboxName, SpecialUse.None, inboxUidValidity);
        }

        public string User { get; }
        public Dictionary<string, Folder> Folders { get; } = new(StringComparer.Ordinal);
        public SortedSet<string> Subscriptions { get; } = new(StringComparer.Ordinal);
        public MailboxChangeHub Changes { get; }
    }

    private sealed class Folder(string name, SpecialUse specialUse, uint uidValidity)
    {
        public string Name { get; set; } = name;
        public SpecialUse SpecialUse { get; set; } = specialUse;
        public uint UidValidity { get; } = uidValidity;
        public uint UidNext { get; private set; } = 1;
        public ulong HighestModSeq { get; set; } = 1;
        public SortedDictionary<uint, Message> Messages { get; } = [];
        public ExpungedUidLog Expunged { get; } = new(rememberedAfter: 1);

        // Removes a message: the expunge raises HIGHESTMODSEQ and is remembered under it (RFC 7162 VANISHED).
        public MailboxChange Expunge(uint uid)
        {
            Messages.Remove(uid);
            var modSeq = ++HighestModSeq;
            Expunged.Add(uid, modSeq);
            return new MailboxChange(MailboxChangeKind.MessageExpunged, Name, UidValidity, uid, modSeq);
        }

        public MailboxChange Added(Message message) => new(MailboxChangeKind.MessageAdded, Name, UidValidity, message.Uid, message.ModSeq, message.Info);

        public Message Add(MessageContent content, MessageFlags flags, string[] keywords, DateTimeOffset internalDate, Lazy<MessageSummary>? summary = null)
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

    private sealed class Message(uint uid, MessageContent content, DateTimeOffset internalDate, Lazy<MessageSummary>? summary)
    {
        public uint Uid { get; } = uid;
        public MessageContent Content { get; } = content;
        public DateTimeOffset InternalDate { get; } = internalDate;
        public MessageFlags Flags { get; set; }
        public string[] Keywords { get; set; } = [];
        public ulong ModSeq { get; set; }
        public Lazy<MessageSummary> Summary { get; } = summary ?? new(() => Summarise(content));
        public MessageInfo Info => new(Uid, Flags, Keywords, InternalDate, Content.Length, ModSeq);

        // The summary's header (MessageSummary.Header) is a slice of the content this store holds anyway, not a copy: a
        // header kept is at most MessageSummaryParser.MaxHeaderLength octets, so it lies in the first segment.
        private static MessageSummary Summarise(MessageContent content)
        {
            var summary = MessageSummaryParser.Parse(content.OpenRead());
            return summary.HasHeader && summary.BodyOffset <= content.FirstSegment.Length
                ? summary with { Header = content.FirstSegment[..(int)summary.BodyOffset] }
                : summary;
        }
    }
}
