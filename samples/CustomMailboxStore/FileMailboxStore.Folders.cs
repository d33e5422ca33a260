using Mail.Protocols.Storage;
using static CustomMailboxStore.MailboxFiles;

namespace CustomMailboxStore;

// The folder half of IMailboxStore: each folder operation is a change to folders.json.
public sealed partial class FileMailboxStore
{
    /// <inheritdoc />
    public ValueTask<IReadOnlyList<FolderInfo>> ListFoldersAsync(string user, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<FolderInfo>>(user, (_, list) =>
            [.. list.Folders.OrderBy(f => f.Name == Inbox ? "" : f.Name, StringComparer.Ordinal)
                .Select(f => new FolderInfo(f.Name, f.SpecialUse, list.Folders.Any(c => c.Name.StartsWith(f.Name + '/', StringComparison.Ordinal))))],
            cancellationToken);

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
            Publish(state, new MailboxChange(MailboxChangeKind.FolderCreated, state.User, name, null, 0, 0));
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
                // RFC 3501 §6.3.5: the old INBOX (its directory, messages, UIDs and all) becomes the new folder,
                // and a new, empty INBOX takes its place.
                list.Folders[list.Folders.IndexOf(source)] = source with { Name = to, SpecialUse = SpecialUse.None };
                AddFolder(state, list, Inbox, SpecialUse.None);
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
            Publish(state, new MailboxChange(MailboxChangeKind.FolderRenamed, state.User, from, null, 0, 0, to));
        }, cancellationToken);
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
            Publish(state, new MailboxChange(MailboxChangeKind.FolderDeleted, state.User, name, null, 0, 0));
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<FolderStatus> GetStatusAsync(string user, string folder, CancellationToken cancellationToken = default) =>
        RunAsync(user, (state, list) =>
        {
            var (entry, _, index) = Open(state, list, folder);
            var unseen = index.Messages.Count(m => !m.Flags.HasFlag(MessageFlags.Seen));
            return new FolderStatus(entry.Name, index.UidValidity, index.UidNext, index.HighestModSeq, index.Messages.Count, unseen, index.Messages.Sum(m => m.Size));
        }, cancellationToken);

    private static void ValidateName(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (folder.Length is 0 or > 255 || folder.StartsWith('/') || folder.EndsWith('/') || folder.Contains("//", StringComparison.Ordinal) || folder.Any(char.IsControl))
        {
            throw new MailboxStoreException(MailboxStoreError.InvalidName, "Invalid folder name.");
        }
    }
}
