using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Mail.Protocols.Storage;
using static CustomMailboxStore.MailboxFiles;

namespace CustomMailboxStore;

/// <summary>
/// A durable <see cref="IMailboxStore"/> in plain files: one .eml file per message and a JSON index per folder
/// (layout in MailboxFiles.cs). Each operation takes the user's lock, reads the index from disk, changes it,
/// writes it back atomically and only then queues the change for the user's sessions, so the disk is always the truth and a failed
/// operation leaves nothing half-done in memory.
/// </summary>
public sealed partial class FileMailboxStore : IMailboxStore
{
    private const string Inbox = "INBOX";
    private readonly string _root;
    private readonly string _temp;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, UserState> _users = new(StringComparer.Ordinal);
    // Message files are never rewritten and their paths never reused (UIDs and UIDVALIDITYs only grow), so a
    // summary cached by path never goes stale.
    private readonly ConcurrentDictionary<string, MessageSummary> _summaries = new(StringComparer.Ordinal);

    /// <summary>Opens (or creates) a store in <paramref name="root"/>.</summary>
    public FileMailboxStore(string root, TimeProvider? timeProvider = null)
    {
        _root = Path.GetFullPath(root);
        _temp = Path.Combine(_root, ".tmp");
        _time = timeProvider ?? TimeProvider.System;
        CreateDirectory(_temp); // and the root: 0700, as every directory and file (0600) of the store
    }

    /// <inheritdoc />
    public char HierarchySeparator => '/';

    private UserState GetUser(string user)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        var name = UserDirectoryName(user);
        return _users.GetOrAdd(name, n => new UserState(user, Path.Combine(_root, n), HierarchySeparator));
    }

    /// <summary>
    /// Runs one operation under the user's lock with the user's folder list loaded, and turns file-system
    /// failures into <see cref="MailboxStoreException"/>. Indexes are read afresh by every operation, so one
    /// that throws half-way leaves nothing behind in memory, only what it had already written atomically.
    /// </summary>
    private async ValueTask<T> RunAsync<T>(string user, Func<UserState, FolderList, T> operation, CancellationToken cancellationToken)
    {
        var state = GetUser(user);
        await state.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return operation(state, LoadFolderList(state));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            throw ToStoreError(ex);
        }
        finally
        {
            state.Gate.Release();
        }
    }

    private async ValueTask RunAsync(string user, Action<UserState, FolderList> operation, CancellationToken cancellationToken) =>
        await RunAsync(user, (state, list) =>
        {
            operation(state, list);
            return true;
        }, cancellationToken).ConfigureAwait(false);

    /// <summary>Reads folders.json; on a user's first use, creates it with an empty INBOX.</summary>
    private FolderList LoadFolderList(UserState state)
    {
        var path = Path.Combine(state.Directory, FolderListFile);
        if (File.Exists(path))
        {
            return Read<FolderList>(path);
        }
        var list = new FolderList { NextUidValidity = (uint)_time.GetUtcNow().ToUnixTimeSeconds() };
        AddFolder(state, list, Inbox, SpecialUse.None);
        SaveFolderList(state, list);
        return list;
    }

    private static void SaveFolderList(UserState state, FolderList list) => WriteAtomically(Path.Combine(state.Directory, FolderListFile), list);

    /// <summary>Creates a folder's directory and empty index; the caller saves the folder list, which makes it exist.</summary>
    private static void AddFolder(UserState state, FolderList list, string name, SpecialUse specialUse)
    {
        // Each new folder takes the next UIDVALIDITY, which also names its directory: never reused, never escaped.
        var uidValidity = list.NextUidValidity++;
        var entry = new FolderEntry(name, specialUse, uidValidity.ToString(CultureInfo.InvariantCulture));
        var directory = Path.Combine(state.Directory, entry.Directory);
        CreateDirectory(directory);
        SaveIndex(directory, new FolderIndex { UidValidity = uidValidity, ExpungesForgottenThrough = 1 });
        list.Folders.Add(entry);
    }

    private static string Normalize(string folder) => string.Equals(folder, Inbox, StringComparison.OrdinalIgnoreCase) ? Inbox : folder;

    private static FolderEntry Find(FolderList list, string folder)
    {
        var name = Normalize(folder);
        return list.Folders.Find(f => f.Name == name) ?? throw new MailboxStoreException(MailboxStoreError.FolderNotFound, $"Folder '{folder}' does not exist.");
    }

    private static (FolderEntry Entry, string Directory, FolderIndex Index) Open(UserState state, FolderList list, string folder)
    {
        var entry = Find(list, folder);
        var directory = Path.Combine(state.Directory, entry.Directory);
        return (entry, directory, Read<FolderIndex>(Path.Combine(directory, IndexFile)));
    }

    private static void SaveIndex(string directory, FolderIndex index) => WriteAtomically(Path.Combine(directory, IndexFile), index);

    /// <summary>
    /// Subscribers hear about a change only after it is on disk, in the order the changes were made, one batch per call and
    /// folder; the session that made them (<paramref name="session"/>) learns them from the call's result instead.
    /// </summary>
    private static void Publish(UserState state, IReadOnlyList<MailboxChange> changes, MailboxSubscription? session = null) =>
        state.Changes.Publish(changes, session);

    /// <summary>Per user: the lock every operation takes, where the files are, who listens.</summary>
    private sealed class UserState(string user, string directory, char separator)
    {
        public string User { get; } = user;
        public string Directory { get; } = directory;
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public MailboxChangeHub Changes { get; } = new(user, separator);
    }
}
