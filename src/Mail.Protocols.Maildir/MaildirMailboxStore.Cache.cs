using Mail.Protocols.Maildir.Durability;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir;

// The engines' cache files (IFolderCacheStore): "mailprotocols.cache.NAME" in the folder's directory, beside the store's own
// index and summaries, so that they go where the folder goes (rename) and with it (delete).
public sealed partial class MaildirMailboxStore : IFolderCacheStore
{
    private const string CacheFilePrefix = "mailprotocols.cache.";

    /// <inheritdoc />
    public async ValueTask<byte[]?> ReadFolderCacheAsync(string user, string folder, string name, long maxLength, CancellationToken cancellationToken = default)
    {
        var path = CachePath(user, folder, name);
        try
        {
            var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: false);
            await using (file.ConfigureAwait(false))
            {
                if (file.Length > maxLength)
                {
                    return null;
                }
                var content = new byte[file.Length];
                await file.ReadExactlyAsync(content, cancellationToken).ConfigureAwait(false);
                return content;
            }
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or EndOfStreamException)
        {
            // None yet, the folder gone meanwhile, or cut short by another writer: no cache.
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unavailable(ex);
        }
    }

    /// <inheritdoc />
    public ValueTask WriteFolderCacheAsync(string user, string folder, string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        var path = CachePath(user, folder, name);
        try
        {
            // A cache: not flushed to the disk (a file lost in a crash is rebuilt); written outside the user's lock, which only
            // found the folder's directory. Each cache has one writer at a time in this process, and one process has the user.
            DurableIO.WriteAtomically(path, content.Span, sync: false, _options.FilePermissions);
            return ValueTask.CompletedTask;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unavailable(ex);
        }
    }

    private string CachePath(string user, string folder, string name)
    {
        if (!IFolderCacheStore.IsValidName(name))
        {
            throw new ArgumentException("A cache name is 1 to 32 lower-case ASCII letters, digits or '-'.", nameof(name));
        }
        var mailbox = Get(user);
        var directory = Locked(mailbox, () => mailbox.Folder(folder).Directory);
        return Path.Combine(directory, CacheFilePrefix + name);
    }
}
