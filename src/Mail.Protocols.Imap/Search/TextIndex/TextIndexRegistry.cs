using System.Runtime.CompilerServices;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Search.TextIndex;

/// <summary>
/// The word indexes of one store's folders in memory, at most <see cref="TextIndexLimits.MaxFolders"/> of them and
/// <see cref="TextIndexLimits.MaxStoreBytes"/> together (the least recently used dropped first); each read from and saved to
/// the folder's cache file where the store keeps them (<see cref="IFolderCacheStore"/>), kept in memory only otherwise.
/// </summary>
internal sealed class TextIndexRegistry
{
    /// <summary>The name of the cache file the index is saved as.</summary>
    public const string CacheName = "search-words";

    private static readonly ConditionalWeakTable<IMailboxStore, TextIndexRegistry> s_registries = [];
    private readonly Lock _lock = new();
    private readonly LinkedList<Slot> _slots = []; // most recently used first

    private TextIndexRegistry(IMailboxStore store) => Store = store;

    public IMailboxStore Store { get; }

    /// <summary>The registry of a store (one per store object, living as long as it does).</summary>
    public static TextIndexRegistry For(IMailboxStore store) => s_registries.GetValue(store, s => new TextIndexRegistry(s));

    /// <summary>
    /// The index of a folder under <paramref name="uidValidity"/>: the one in memory, else the one its cache file holds, else a
    /// new empty one. A cache file that cannot be read, belongs to another UIDVALIDITY or fails its checksum is not trusted.
    /// </summary>
    public async ValueTask<FolderTextIndex> GetAsync(string user, string folder, uint uidValidity, CancellationToken cancellationToken)
    {
        var found = Find(user, folder, uidValidity);
        if (found is not null)
        {
            return found;
        }
        FolderTextIndex? loaded = null;
        if (Store is IFolderCacheStore cache)
        {
            try
            {
                var file = await cache.ReadFolderCacheAsync(user, folder, CacheName, TextIndexLimits.MaxFileBytes, cancellationToken).ConfigureAwait(false);
                if (file is not null)
                {
                    loaded = FolderTextIndex.TryLoad(file, uidValidity);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A cache that cannot be read (whatever the store's trouble) is rebuilt; the next save replaces the file.
            }
        }
        loaded ??= new FolderTextIndex(uidValidity);
        lock (_lock)
        {
            // Another search may have put it there meanwhile: theirs is kept, so that one index per folder is written to.
            return Find(user, folder, uidValidity) ?? Insert(user, folder, loaded);
        }
    }

    /// <summary>Saves a folder's index if it changed since it was last saved (nothing for a store without cache files).</summary>
    public async ValueTask SaveAsync(string user, string folder, FolderTextIndex index, CancellationToken cancellationToken)
    {
        if (Store is not IFolderCacheStore cache)
        {
            return;
        }
        Slot? slot;
        lock (_lock)
        {
            slot = _slots.FirstOrDefault(s => s.Index == index);
        }
        if (slot is null)
        {
            return;
        }
        await slot.SaveGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var version = index.Version;
            if (version == slot.SavedVersion)
            {
                return;
            }
            var file = index.Serialize();
            await cache.WriteFolderCacheAsync(user, folder, CacheName, file, cancellationToken).ConfigureAwait(false);
            slot.SavedVersion = version;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A cache: not saved now, saved with the next change, or rebuilt after a restart.
        }
        finally
        {
            slot.SaveGate.Release();
        }
    }

    private FolderTextIndex? Find(string user, string folder, uint uidValidity)
    {
        lock (_lock)
        {
            for (var node = _slots.First; node is not null; node = node.Next)
            {
                var slot = node.Value;
                if (slot.User == user && slot.Folder == folder)
                {
                    if (slot.Index.UidValidity != uidValidity)
                    {
                        _slots.Remove(node); // the folder was deleted and made again: its old index is of no use
                        return null;
                    }
                    _slots.Remove(node);
                    _slots.AddFirst(node);
                    Trim();
                    return slot.Index;
                }
            }
            return null;
        }
    }

    private FolderTextIndex Insert(string user, string folder, FolderTextIndex index)
    {
        // A loaded index counts as saved: it is the file.
        _slots.AddFirst(new Slot(user, folder, index) { SavedVersion = index.Version });
        Trim();
        return index;
    }

    // Drops the least recently used indexes beyond the bounds (never the one just used: it is first). Under the lock.
    private void Trim()
    {
        var total = 0L;
        foreach (var slot in _slots)
        {
            total += slot.Index.Bytes;
        }
        while (_slots.Count > 1 && (_slots.Count > TextIndexLimits.MaxFolders || total > TextIndexLimits.MaxStoreBytes))
        {
            total -= _slots.Last!.Value.Index.Bytes;
            _slots.RemoveLast();
        }
    }

    private sealed class Slot(string user, string folder, FolderTextIndex index)
    {
        public string User { get; } = user;

        public string Folder { get; } = folder;

        public FolderTextIndex Index { get; } = index;

        public int SavedVersion { get; set; }

        public SemaphoreSlim SaveGate { get; } = new(1, 1);
    }
}
