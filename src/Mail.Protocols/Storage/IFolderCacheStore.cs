namespace Mail.Protocols.Storage;

/// <summary>
/// Optional for an <see cref="IMailboxStore"/>: a place per folder where an engine keeps an opaque cache file of its own
/// (the IMAP engine keeps its word index for SEARCH BODY/TEXT there), so that the cache survives a restart of the process.
/// A store that does not implement it is used as it is: the engine then keeps its caches in memory only.
/// </summary>
/// <remarks>
/// The store never reads or interprets the file. It lives and dies with the folder: deleting the folder deletes it, renaming the
/// folder takes it along. The engine binds what it writes to the folder's <see cref="FolderStatus.UidValidity"/> and checks its
/// own checksum, so the store need not flush it to the disk or keep it across a crash: a cache file that is missing, short
/// or damaged costs a rebuild, never a wrong answer.
/// </remarks>
public interface IFolderCacheStore
{
    /// <summary>
    /// Reads the cache file <paramref name="name"/> of a folder whole; null when there is none, or when it is longer than
    /// <paramref name="maxLength"/> octets (then it is not read).
    /// </summary>
    /// <param name="user">The user.</param>
    /// <param name="folder">The folder.</param>
    /// <param name="name">The cache's name: 1 to 32 lower-case ASCII letters, digits or '-'.</param>
    /// <param name="maxLength">The longest file the caller accepts.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="MailboxStoreException"><see cref="MailboxStoreError.FolderNotFound"/> if the folder does not exist.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a cache name.</exception>
    ValueTask<byte[]?> ReadFolderCacheAsync(string user, string folder, string name, long maxLength, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces the cache file <paramref name="name"/> of a folder with <paramref name="content"/>, atomically: a reader sees the
    /// old file or the new one whole.
    /// </summary>
    /// <param name="user">The user.</param>
    /// <param name="folder">The folder.</param>
    /// <param name="name">The cache's name: 1 to 32 lower-case ASCII letters, digits or '-'.</param>
    /// <param name="content">The file's new content.</param>
    /// <param name="cancellationToken">Cancels the write (the old file then stays).</param>
    /// <exception cref="MailboxStoreException"><see cref="MailboxStoreError.FolderNotFound"/> if the folder does not exist.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a cache name.</exception>
    ValueTask WriteFolderCacheAsync(string user, string folder, string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default);

    /// <summary>Whether <paramref name="name"/> is a valid cache name: 1 to 32 lower-case ASCII letters, digits or '-'.</summary>
    /// <param name="name">The name to check.</param>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 32)
        {
            return false;
        }
        foreach (var c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                return false;
            }
        }
        return true;
    }
}
