using Mail.Protocols.Storage;
using static CustomMailboxStore.MailboxFiles;

namespace CustomMailboxStore;

// The folder half of IMailboxStore: each folder operation is a change to folders.json.
public sealed partial class FileMailboxStore
{
    // FolderTree adds HasChildren and lists "a" as \Noselect when only "a/b" is a folder (after "a" was deleted).
    /// <inheritdoc />
    public ValueTask<IReadOnlyList<FolderInfo>> ListFoldersAsync(string user, CancellationToken cancellationToken = default) =>
        RunAsync(user, (_, list) => FolderTree.Build(list.Folders.Select(f => new FolderInfo(f.Name, f.SpecialUse, false)), '/'), cancellationToken);

    /// <inheritdoc />
    public ValueTask SetSpecialUseAsync(string user, string folder, SpecialUse specialUse, CancellationToken cancellationToken = default) =>
        RunAsync(user, (state, list) =>
        {
            var entry = Find(list, folder);
            list.Folders[list.Folders.IndexOf(entry)] = entry with { SpecialUse = specialUse };
            SaveFolderList(state, list);
        }, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListSubscriptionsAsync(string user, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<string>>(user, (_, list) => [.. list.Subscriptions], cancellationToken);

    /// <inheritdoc />
    public ValueTask AddSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        ValidateName(folder);
        var name = Normalize(folder);
        return RunAsync(user, (state, list) =>
        {
            var at = list.Subscriptions.BinarySearch(name, StringComparer.Ordinal);
            if (at < 0)
            {
                list.Subscriptions.Insert(~at, name);
                SaveFolderList(state, list);
            }
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask RemoveSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        ValidateName(folder);
        var name = Normalize(folder);
        return RunAsync(user, (state, list) =>
        {
            if (list.Subscriptions.Remove(name))
            {
                SaveFolderList(state, list);
            }
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<FolderInfo> CreateFolderAsync(string user, string folder, SpecialUse specialUse = SpecialUse.None, CancellationToken cancellationToken = default)
    {
        ValidateName(folder);
        var name = Normalize(folder);
        return RunAsync(user, (state, list) =>
        {
            if (list.Folders.Any(f => f.Name == name))
            {
                throw new MailboxStoreException(MailboxStoreError.FolderExists, $"Folder '{folder}' already exists.");
            }
            var parts = name.Split('/');
            for (var i = 1; i < parts.Length; i++)
            {
                var parent = string.Join('/', parts[..i]);
                if (!list.Folders.Any(f => f.Name == parent))
                {
                    AddFolder(state, list, parent, SpecialUse.None);
                }
            }
            AddFolder(state, list, name, specialUse);
            SaveFolderList(state, list);
            Publish(state, [new MailboxChange(MailboxChangeKind.FolderCreated, name, Find(list, name).UidValidity, 0, 0)]);
            return new FolderInfo(name, specialUse, false);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask RenameFolderAsync(string user, string folder, string newName, CancellationToken cancellationToken = default)
    {
        ValidateName(newName);
        var (from, to) = (Normalize(folder), Normalize(newName));
        return RunAsync(user, (state, list) =>
        {
            var source = Find(list, from);
            if (list.Folders.Any(f => f.Name == to))
            {
                throw new MailboxStoreException(MailboxStoreError.FolderExists, $"Folder '{newName}' already exists.");
            }
            if (from == Inbox)
            {
                RenameInbox(state, list, source, to);
                return;
            }
            else
            {
                // Children move with their parent. Directories stay where they are: a rename is one index write.
                for (var i = 0; i < list.Folders.Count; i++)
                {
                    var name = list.Folders[i].Name;
                    if (name == from || name.StartsWith(from + '/', StringComparison.Ordinal))
                    {
                        list.Folders[i] = list.Folders[i] with { Name = to + name[from.Length..] };
                    }
                }
            }
            SaveFolderList(state, list);
            Publish(state, [new MailboxChange(MailboxChangeKind.FolderRenamed, from, source.UidValidity, 0, 0, null, to)]);
        }, cancellationToken);
    }

    /// <summary>
    /// RFC 9051 §6.3.5: INBOX's messages are copied into a new folder, then removed from INBOX, which keeps its
    /// UIDVALIDITY and UIDNEXT. A crash half-way leaves the messages in both folders, never in neither.
    /// </summary>
    private void RenameInbox(UserState state, FolderList list, FolderEntry inbox, string to)
    {
        var directory = Path.Combine(state.Directory, inbox.Directory);
        var index = Read<FolderIndex>(Path.Combine(directory, IndexFile));
        AddFolder(state, list, to, SpecialUse.None);
        var (_, targetDirectory, target) = Open(state, list, to);
        foreach (var m in index.Messages)
        {
            var uid = target.UidNext++;
            var copy = m with { Uid = uid, ModSeq = ++target.HighestModSeq, File = FileName(uid) };
            CopyDurably(Path.Combine(directory, m.File), Path.Combine(targetDirectory, copy.File));
            target.Messages.Add(copy);
        }
        SaveIndex(targetDirectory, target);
        SaveFolderList(state, list); // the new folder exists, with the messages
        var removed = index.Messages.ToList();
        var changes = removed.Select(m => new MailboxChange(MailboxChangeKind.MessageExpunged, Inbox, index.UidValidity, m.Uid, RecordExpunge(index, m.Uid))).ToList();
        index.Messages.Clear();
        SaveIndex(directory, index);
        DeleteFiles(directory, removed);
        Publish(state, [.. changes, new MailboxChange(MailboxChangeKind.FolderCreated, to, target.UidValidity, 0, 0)]);
    }

    /// <inheritdoc />
    public ValueTask DeleteFolderAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        var name = Normalize(folder);
        if (name == Inbox)
        {
            throw new MailboxStoreException(MailboxStoreError.NotAllowed, "INBOX cannot be deleted.");
        }
        return RunAsync(user, (state, list) =>
        {
            var entry = Find(list, name);
            list.Folders.Remove(entry);
            SaveFolderList(state, list);
            DeleteQuietly(Path.Combine(state.Directory, entry.Directory)); // gone since folders.json says so
            Publish(state, [new MailboxChange(MailboxChangeKind.FolderDeleted, name, entry.UidValidity, 0, 0)]);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<FolderStatus> GetStatusAsync(string user, string folder, CancellationToken cancellationToken = default) =>
        RunAsync(user, (state, list) =>
        {
            var (entry, _, index) = Open(state, list, folder);
            return StatusOf(entry, index);
        }, cancellationToken);

    private static FolderStatus StatusOf(FolderEntry entry, FolderIndex index)
    {
        var unseen = index.Messages.Count(m => !m.Flags.HasFlag(MessageFlags.Seen));
        var deleted = index.Messages.Count(m => m.Flags.HasFlag(MessageFlags.Deleted));
        return new FolderStatus(entry.Name, index.UidValidity, index.UidNext, index.HighestModSeq, index.Messages.Count, unseen, index.Messages.Sum(m => m.Size), deleted);
    }

    private static void ValidateName(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (folder.Length is 0 or > 255 || folder.StartsWith('/') || folder.EndsWith('/') || folder.Contains("//", StringComparison.Ordinal) || folder.Any(char.IsControl))
        {
            throw new MailboxStoreException(MailboxStoreError.InvalidName, "Invalid folder name.");
        }
    }
}
