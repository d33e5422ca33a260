using Mail.Protocols.Maildir.Durability;
using Mail.Protocols.Maildir.Layout;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir;

// Many messages' summaries in one call, and the POP3 maildrop lease shared by every process using the Maildir.
public sealed partial class MaildirMailboxStore
{
    /// <summary>The lease file in each user's Maildir (see <see cref="TryAcquireMaildropLeaseAsync"/>).</summary>
    internal const string MaildropLeaseFileName = "mailprotocols.pop3.lock";

    // How often a user's lock was entered, for tests that check a call takes it a bounded number of times.
    private long _gateEntries;

    internal long GateEntries => Interlocked.Read(ref _gateEntries);

    /// <inheritdoc />
    /// <remarks>
    /// Takes the user's lock once when every summary is known (in memory or in the summary cache); the messages
    /// never summarised are parsed outside it and their summaries recorded under it once more. A summary read from a
    /// cache of version 3, which lacks the header's octets (<see cref="MessageSummary.Header"/>), gets them the same
    /// way, from the first octets of the file, without parsing the message again.
    /// </remarks>
    public async ValueTask<IReadOnlyList<MessageSummaryEntry>> GetSummariesAsync(string user, string folder, IReadOnlyCollection<uint> uids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uids);
        var mailbox = Get(user);
        var entries = new List<(MessageInfo Info, MessageSummary? Summary, string Path)>(uids.Count);
        var missing = 0;
        Locked(mailbox, () =>
        {
            var f = mailbox.Folder(folder);
            foreach (var uid in uids.Distinct().Order())
            {
                if (!f.Index.ByUid.TryGetValue(uid, out var record))
                {
                    continue;
                }
                if (record.Summary is null && f.Summaries.TryGet(uid, f.Index.ByUid, out var stored))
                {
                    record.Summary = stored;
                }
                var incomplete = record.Summary is null || LacksHeader(record.Summary);
                missing += incomplete ? 1 : 0;
                entries.Add((record.Info, record.Summary, incomplete ? record.PathIn(f.Directory) : ""));
            }
            return true;
        });
        if (missing > 0)
        {
            var parsed = new List<(uint Uid, MessageSummary Summary, bool Replaces)>(missing);
            for (var i = 0; i < entries.Count; i++)
            {
                var (info, summary, path) = entries[i];
                if (summary is null)
                {
                    summary = await ParseAsync(user, folder, info, path, cancellationToken).ConfigureAwait(false);
                    entries[i] = (info, summary, path);
                    parsed.Add((info.Uid, summary, false));
                }
                else if (LacksHeader(summary) && ReadHeader(info, path, summary.BodyOffset) is { } header)
                {
                    summary = summary with { Header = header };
                    entries[i] = (info, summary, path);
                    parsed.Add((info.Uid, summary, true));
                }
            }
            Locked(mailbox, () =>
            {
                var f = mailbox.Folder(folder);
                foreach (var (uid, summary, replaces) in parsed)
                {
                    if (!f.Index.ByUid.TryGetValue(uid, out var record))
                    {
                        continue;
                    }
                    if (record.Summary is null)
                    {
                        record.Summary = summary;
                        f.Summaries.Add(uid, summary);
                    }
                    else if (replaces && LacksHeader(record.Summary))
                    {
                        record.Summary = summary;
                        f.Summaries.Replace(uid, summary);
                    }
                }
                return true;
            });
        }
        return [.. entries.Select(e => new MessageSummaryEntry(e.Info, e.Summary!))];
    }

    // A summary of a version 3 cache: without the header's octets, although the header is short enough to keep them.
    private static bool LacksHeader(MessageSummary summary) =>
        !summary.HasHeader && summary.BodyOffset is >= 0 and <= MessageSummaryParser.MaxHeaderLength;

    // The header's octets, [0, bodyOffset) of the content as served; null when the file is gone or shorter (the
    // summary is then kept without them, and header fetches read the content).
    private ReadOnlyMemory<byte>? ReadHeader(MessageInfo info, string path, long bodyOffset)
    {
        try
        {
            using var stream = OpenFile(path, info.Size);
            var octets = new byte[bodyOffset];
            return stream.ReadAtLeast(octets, octets.Length, throwOnEndOfStream: false) == octets.Length ? octets : null;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unavailable(ex);
        }
    }

    // The file as served: itself, or read with CRLF line ends when it has LF ones (shorter than its size as served).
    private static Stream OpenFile(string path, long size)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 81920, FileOptions.SequentialScan);
        if (file.Length == size)
        {
            return file;
        }
        file.Dispose();
        return LineEnds.ReadAsCrlf(path, size);
    }

    // Parses the file found under the lock; one renamed or removed since then is looked up again by its UID.
    private async ValueTask<MessageSummary> ParseAsync(string user, string folder, MessageInfo info, string path, CancellationToken cancellationToken)
    {
        Stream stream;
        try
        {
            stream = OpenFile(path, info.Size);
        }
        catch (FileNotFoundException)
        {
            return await GetSummaryAsync(user, folder, info.Uid, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unavailable(ex);
        }
        await using (stream.ConfigureAwait(false))
        {
            return MessageSummaryParser.Parse(stream, cancellationToken);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// The lease is an exclusive lock (flock) on the file "mailprotocols.pop3.lock" in the user's Maildir, so it
    /// excludes sessions of this store, of other instances and of other processes using the same Maildir; the
    /// kernel drops it when the process ends, even by kill -9. It does not need the user's index lock, so a
    /// second process is told the maildrop is in use rather than that the store is unavailable.
    /// </remarks>
    public ValueTask<IDisposable?> TryAcquireMaildropLeaseAsync(string user, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var directory = GetUserDirectory(user);
        try
        {
            if (!MaildirFolder.Exists(directory))
            {
                MaildirFolder.Create(directory, isSubfolder: false, _options);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unavailable(ex);
        }
        try
        {
            return ValueTask.FromResult<IDisposable?>(DurableIO.Open(Path.Combine(directory, MaildropLeaseFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, _options.FilePermissions));
        }
        catch (IOException ex) when (!DurableIO.IsDiskFull(ex))
        {
            return ValueTask.FromResult<IDisposable?>(null); // locked by another session, here or in another process
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unavailable(ex);
        }
    }
}
