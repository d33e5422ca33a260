using Mail.Protocols.Storage;
using static CustomMailboxStore.MailboxFiles;

namespace CustomMailboxStore;

// Many messages' summaries in one call (IMAP FETCH over a range), and the POP3 maildrop lease.
public sealed partial class FileMailboxStore
{
    /// <summary>The lease file in each user's directory (see <see cref="TryAcquireMaildropLeaseAsync"/>).</summary>
    public const string MaildropLeaseFile = "maildrop.lock";

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<MessageSummaryEntry>> GetSummariesAsync(string user, string folder, IReadOnlyCollection<uint> uids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uids);
        // One lock for the whole range: the index is read once, each message found in it by UID.
        return RunAsync<IReadOnlyList<MessageSummaryEntry>>(user, (state, list) =>
        {
            var (_, directory, index) = Open(state, list, folder);
            var wanted = uids.ToHashSet();
            return [.. index.Messages.Where(m => wanted.Contains(m.Uid)).OrderBy(m => m.Uid).Select(m => new MessageSummaryEntry(m.ToInfo(),
                _summaries.GetOrAdd(Path.Combine(directory, m.File), path =>
                {
                    using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
                    return MessageSummaryParser.Parse(stream, cancellationToken);
                })))];
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// An exclusive lock on the file "maildrop.lock" in the user's directory (FileShare.None, which .NET takes as
    /// an flock on Unix): it excludes other instances and other processes on the same directory too, and the
    /// system drops it when the process ends.
    /// </remarks>
    public ValueTask<IDisposable?> TryAcquireMaildropLeaseAsync(string user, CancellationToken cancellationToken = default)
    {
        var state = GetUser(user);
        try
        {
            Directory.CreateDirectory(state.Directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw ToStoreError(ex);
        }
        try
        {
            return ValueTask.FromResult<IDisposable?>(new FileStream(Path.Combine(state.Directory, MaildropLeaseFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException ex) when (!IsDiskFull(ex))
        {
            return ValueTask.FromResult<IDisposable?>(null); // held by another session, here or in another process
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw ToStoreError(ex);
        }
    }
}
