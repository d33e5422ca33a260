using Mail.Protocols.Maildir.Durability;
using Mail.Protocols.Maildir.Index;
using Mail.Protocols.Maildir.Layout;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir;

// Message operations: status and listing, append, content and summary, flags, copy, move and expunge.
public sealed partial class MaildirMailboxStore
{
    /// <inheritdoc />
    public ValueTask<FolderStatus> GetStatusAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        return Locked(mailbox, () =>
        {
            var f = mailbox.Folder(folder);
            f.Refresh();
            return ValueTask.FromResult(StatusOf(f));
        });
    }

    private static FolderStatus StatusOf(MaildirFolder f)
    {
        var unseen = 0;
        var deleted = 0;
        long size = 0;
        foreach (var m in f.Index.ByUid.Values)
        {
            if ((m.Flags & MessageFlags.Seen) == 0)
            {
                unseen++;
            }
            if ((m.Flags & MessageFlags.Deleted) != 0)
            {
                deleted++;
            }
            size += m.Size;
        }
        var index = f.Index;
        return new FolderStatus(f.Name, index.UidValidity, index.UidNext, index.HighestModSeq, index.ByUid.Count, unseen, size, deleted);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The folder's list is kept as one immutable list, rebuilt on the first call after a change (this store's or, found by the
    /// re-scan that <see cref="MaildirFolder.Refresh"/> makes when cur/ or new/ changed, another program's): a listing of an
    /// unchanged folder takes the lock once, stats the two directories and copies nothing.
    /// </remarks>
    public ValueTask<IReadOnlyList<MessageInfo>> ListMessagesAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        return Locked(mailbox, () =>
        {
            var f = mailbox.Folder(folder);
            f.Refresh();
            return ValueTask.FromResult(f.Index.Messages);
        });
    }

    /// <inheritdoc />
    public async ValueTask<AppendResult> AppendAsync(string user, string folder, Stream content, AppendOptions? options = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var keywords = MessageKeywords.Validate(options?.Keywords);
        var mailbox = Get(user);
        mailbox.Changes.Check(session);
        string temporary;
        lock (mailbox.Gate)
        {
            temporary = Path.Combine(mailbox.Folder(folder).TmpDirectory, MaildirFileName.NewTemporaryName(_hostName, _options.TimeProvider.GetUtcNow()));
        }
        // IMAP's INTERNALDATE has whole seconds, and so do many file systems' mtimes: keep what survives a restart.
        var internalDate = DateTimeOffset.FromUnixTimeSeconds((options?.InternalDate ?? _options.TimeProvider.GetUtcNow()).ToUnixTimeSeconds());
        long size, bareLineFeeds;
        var written = false;
        try
        {
            // The Maildir way: write the whole message under tmp/ and flush it before it gets a name anywhere else.
            using (var file = DurableIO.Open(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, _options.FilePermissions))
            {
                bareLineFeeds = await DurableIO.CopyToFileAsync(content, file, cancellationToken).ConfigureAwait(false);
                size = file.Length;
                file.Flush(flushToDisk: _options.Fsync);
            }
            written = true;
            // Dovecot and mutt take a Maildir message's internal date from the file's mtime.
            File.SetLastWriteTimeUtc(temporary, internalDate.UtcDateTime);
            lock (mailbox.Gate)
            {
                using var publish = mailbox.PublishOnExit(session);
                var f = mailbox.Folder(folder);
                // Served as stored (binary MIME must not be touched), so ",W=" (what Dovecot serves: CRLF line ends)
                // is written only when the two agree, i.e. the content has no bare LF.
                var baseName = MaildirFileName.NewBaseName(_hostName, _options.TimeProvider.GetUtcNow(), size, bareLineFeeds == 0 ? size : null);
                var record = f.Deliver(temporary, baseName, size, size, internalDate, options?.Flags ?? MessageFlags.None, false, keywords);
                return new AppendResult(f.Index.UidValidity, record.Uid, size);
            }
        }
        catch (Exception ex)
        {
            TryDelete(temporary);
            if (DurableIO.IsDiskFull(ex) || written && ex is IOException or UnauthorizedAccessException)
            {
                throw Unavailable(ex);
            }
            // Anything else while copying may be the caller's stream failing: it is theirs to see as it is.
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Left for the stale tmp/ clean-up; it is not visible as a message.
        }
    }

    private static MessageRecord Find(MaildirFolder folder, uint uid) =>
        folder.Index.ByUid.TryGetValue(uid, out var m) ? m : throw new MailboxStoreException(MailboxStoreError.MessageNotFound, $"No message with UID {uid}.");

    // Messages up to this size are read whole when opened; larger ones are streamed from the file.
    private const long InMemoryReadLimit = 256 * 1024;

    /// <inheritdoc />
    public ValueTask<Stream> OpenContentAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        for (var attempt = 0; ; attempt++)
        {
            string path;
            long size;
            long? physicalSize;
            lock (mailbox.Gate)
            {
                using var publish = mailbox.PublishOnExit(null);
                var f = mailbox.Folder(folder);
                if (attempt > 0)
                {
                    f.Reconcile(notify: true);
                }
                var record = Find(f, uid);
                path = record.PathIn(f.Directory);
                size = record.Size;
                // Known since delivery or discovery; after a restart the ",S=" in the name tells it (once).
                physicalSize = record.FileSize ??= MaildirFileName.TryParse(record.FileName ?? record.BaseName, out var name) ? name.SizeFromName() : null;
            }
            try
            {
                if (physicalSize == size && size <= InMemoryReadLimit)
                {
                    // Most messages are small: one read now costs less than the thread-pool hand-off .NET makes
                    // for every asynchronous read of a regular file.
                    using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    var bytes = new byte[size];
                    var read = 0;
                    int n;
                    while (read < bytes.Length && (n = RandomAccess.Read(handle, bytes.AsSpan(read), read)) > 0)
                    {
                        read += n;
                    }
                    if (read == bytes.Length)
                    {
                        return ValueTask.FromResult<Stream>(new MemoryStream(bytes, writable: false));
                    }
                }
                // Unbuffered: readers (POP3 RETR, IMAP FETCH) read in large chunks of their own.
                var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
                // The size in the name (",S=") spares a stat; without one, ask the file.
                if ((physicalSize ?? file.Length) == size)
                {
                    return ValueTask.FromResult<Stream>(file);
                }
                // Shorter than its size as served: a file with LF line ends, served with CRLF.
                file.Dispose();
                return ValueTask.FromResult<Stream>(LineEnds.ReadAsCrlf(path, size));
            }
            catch (FileNotFoundException) when (attempt == 0)
            {
                // Renamed (new flags) or removed by another program since the last scan: look again.
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw ex is FileNotFoundException
                    ? new MailboxStoreException(MailboxStoreError.MessageNotFound, $"The file of UID {uid} is gone.", ex)
                    : Unavailable(ex);
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask<MessageSummary> GetSummaryAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        try
        {
            lock (mailbox.Gate)
            {
                var f = mailbox.Folder(folder);
                var record = Find(f, uid);
                if (record.Summary is { } cached)
                {
                    return cached;
                }
                if (f.Summaries.TryGet(uid, f.Index.ByUid, out var stored))
                {
                    return record.Summary = stored;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unavailable(ex);
        }
        MessageSummary summary;
        var stream = await OpenContentAsync(user, folder, uid, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            summary = MessageSummaryParser.Parse(stream, cancellationToken);
        }
        try
        {
            lock (mailbox.Gate)
            {
                var f = mailbox.Folder(folder);
                if (f.Index.ByUid.TryGetValue(uid, out var record))
                {
                    record.Summary = summary;
                    f.Summaries.Add(uid, summary);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unavailable(ex);
        }
        return summary;
    }

    /// <inheritdoc />
    public ValueTask<FlagUpdateResult> UpdateFlagsAsync(string user, string folder, IReadOnlyCollection<uint> uids, FlagChange change, ulong? unchangedSince = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uids);
        ArgumentNullException.ThrowIfNull(change);
        MessageKeywords.Validate(change.Keywords); // atoms only: the index stores keywords space-separated
        var mailbox = Get(user);
        return Locked(mailbox, () =>
        {
            var f = mailbox.Folder(folder);
            f.Refresh();
            var updated = new List<MessageInfo>();
            var modified = new List<uint>();
            foreach (var uid in uids.Distinct().Order())
            {
                if (!f.Index.ByUid.TryGetValue(uid, out var m))
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
                    if (!f.SetFlags(m, flags, newKeywords))
                    {
                        // Another program renamed or removed it: take its state from the directory and try once more.
                        f.Reconcile(notify: true);
                        if (!f.Index.ByUid.TryGetValue(uid, out m) || !f.SetFlags(m, flags, newKeywords))
                        {
                            continue;
                        }
                    }
                }
                updated.Add(m.Info);
            }
            f.Commit(flagsAndExpungesOnly: true);
            return ValueTask.FromResult(new FlagUpdateResult(updated, modified));
        }, session);
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
        try
        {
            lock (mailbox.Gate)
            {
                using var publish = mailbox.PublishOnExit(session);
                var source = mailbox.Folder(folder);
                var target = mailbox.Folder(targetFolder);
                source.Refresh();
                move &= !ReferenceEquals(source, target);
                var from = new List<uint>();
                var to = new List<uint>();
                foreach (var uid in uids.Distinct().Order())
                {
                    if (!source.Index.ByUid.TryGetValue(uid, out var m))
                    {
                        continue;
                    }
                    var path = m.PathIn(source.Directory);
                    long fileSize;
                    try
                    {
                        // The file's own size (",S=" names it), which is less than the message's for a file with LF line ends.
                        fileSize = m.FileSize ??= new FileInfo(path).Length;
                    }
                    catch (FileNotFoundException)
                    {
                        continue; // removed by another program meanwhile
                    }
                    // ",W=" as the source knew it: a served size computed for an LF file, or one its name carried.
                    var sourceWire = m.Size != fileSize || MaildirFileName.TryParse(m.FileName ?? m.BaseName, out var sourceName) && sourceName.WireSizeFromName() is not null
                        ? m.Size : (long?)null;
                    var baseName = MaildirFileName.NewBaseName(_hostName, _options.TimeProvider.GetUtcNow(), fileSize, sourceWire);
                    string staged;
                    try
                    {
                        if (move)
                        {
                            // A rename keeps the one copy of the content: a crash leaves it in one folder or the other.
                            staged = path;
                        }
                        else
                        {
                            staged = Path.Combine(target.TmpDirectory, baseName);
                            // Copied into a file of our mode (File.Copy would take the source's, another MDA's maybe).
                            using (var original = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1))
                            using (var copy = DurableIO.Open(staged, FileMode.CreateNew, FileAccess.Write, FileShare.None, _options.FilePermissions))
                            {
                                original.CopyTo(copy, 64 * 1024);
                                copy.Flush(flushToDisk: _options.Fsync);
                            }
                            File.SetLastWriteTimeUtc(staged, m.InternalDate.UtcDateTime);
                        }
                        var copied = target.Deliver(staged, baseName, m.Size, fileSize, m.InternalDate, m.Flags, m.Passed, m.Keywords);
                        copied.Summary = m.Summary;
                        from.Add(uid);
                        to.Add(copied.Uid);
                    }
                    catch (FileNotFoundException)
                    {
                        continue; // removed by another program meanwhile
                    }
                    catch (IOException ex) when (DurableIO.IsDiskFull(ex))
                    {
                        throw new MailboxStoreException(MailboxStoreError.InsufficientStorage, "The mail storage is full.", ex);
                    }
                    if (move)
                    {
                        source.Remove(m, deleteFile: false);
                    }
                }
                source.Commit();
                return new CopyResult(target.Index.UidValidity, from, to);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unavailable(ex);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<uint>> ExpungeAsync(string user, string folder, IReadOnlyCollection<uint>? uids = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        var mailbox = Get(user);
        return Locked(mailbox, () =>
        {
            var f = mailbox.Folder(folder);
            f.Refresh();
            var remove = uids is null
                ? f.Index.ByUid.Values.Where(m => (m.Flags & MessageFlags.Deleted) != 0).ToList()
                : [.. uids.Distinct().Order().Where(f.Index.ByUid.ContainsKey).Select(uid => f.Index.ByUid[uid])];
            foreach (var m in remove)
            {
                f.Remove(m);
            }
            f.Commit(flagsAndExpungesOnly: true);
            IReadOnlyList<uint> result = [.. remove.Select(m => m.Uid)];
            return ValueTask.FromResult(result);
        }, session);
    }
}
