using System.Globalization;
using Mail.Protocols.Storage;
using static CustomMailboxStore.MailboxFiles;

namespace CustomMailboxStore;

// The message half of IMailboxStore: each operation changes one folder's index.json (two for a move) and its .eml files.
public sealed partial class FileMailboxStore
{
    /// <inheritdoc />
    public ValueTask<IReadOnlyList<MessageInfo>> ListMessagesAsync(string user, string folder, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<MessageInfo>>(user, (state, list) => [.. Open(state, list, folder).Index.Messages.Select(m => m.ToInfo())], cancellationToken);

    /// <inheritdoc />
    public async ValueTask<AppendResult> AppendAsync(string user, string folder, Stream content, AppendOptions? options = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var keywords = MessageKeywords.Validate(options?.Keywords); // before anything is read: a bad keyword stores nothing
        GetUser(user).Changes.Check(session);
        var temp = Path.Combine(_temp, Guid.NewGuid().ToString("N") + ".eml");
        try
        {
            // 1. Outside the lock, the whole message into a temp file: a slow sender holds up nobody, and if
            //    the stream fails, only the temp file (deleted below) ever existed.
            long size;
            try
            {
                await using var file = CreateFile(temp, FileMode.CreateNew, 81920, useAsync: true);
                await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true); // on the disk before the SMTP client hears 250
                size = file.Length;
            }
            catch (IOException ex) when (IsDiskFull(ex))
            {
                throw ToStoreError(ex); // other errors may be the caller's stream failing: they pass unchanged
            }

            // 2. Under the lock: take the next UID, rename the file into the folder, record it in the index.
            return await RunAsync(user, (state, list) =>
            {
                var (entry, directory, index) = Open(state, list, folder);
                var uid = index.UidNext++;
                var message = new MessageEntry(uid, options?.Flags ?? MessageFlags.None, keywords,
                    options?.InternalDate ?? _time.GetUtcNow(), ++index.HighestModSeq, size, FileName(uid));
                var path = Path.Combine(directory, message.File);
                // overwrite: a file with this name can only be left over from a crash before its index was written.
                File.Move(temp, path, overwrite: true);
                index.Messages.Add(message);
                try
                {
                    SaveIndex(directory, index); // the moment the message exists
                }
                catch
                {
                    DeleteQuietly(path);
                    throw;
                }
                Publish(state, [new MailboxChange(MailboxChangeKind.MessageAdded, entry.Name, index.UidValidity, uid, message.ModSeq, message.ToInfo())], session);
                return new AppendResult(index.UidValidity, uid, size);
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            DeleteQuietly(temp); // nothing left to delete after the rename
        }
    }

    /// <inheritdoc />
    public ValueTask<Stream> OpenContentAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default) =>
        RunAsync<Stream>(user, (state, list) =>
            // FileShare.Delete: an expunge in another session may delete the file while this one still reads it.
            new FileStream(MessagePath(state, list, folder, uid), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 4096, useAsync: true),
            cancellationToken);

    /// <inheritdoc />
    public ValueTask<MessageSummary> GetSummaryAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default) =>
        RunAsync(user, (state, list) => _summaries.GetOrAdd(MessagePath(state, list, folder, uid), path =>
        {
            // Parsed under the lock for simplicity; it happens once per message.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
            return MessageSummaryParser.Parse(stream, cancellationToken);
        }), cancellationToken);

    /// <inheritdoc />
    public ValueTask<FlagUpdateResult> UpdateFlagsAsync(string user, string folder, IReadOnlyCollection<uint> uids, FlagChange change, ulong? unchangedSince = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uids);
        ArgumentNullException.ThrowIfNull(change);
        MessageKeywords.Validate(change.Keywords); // all or nothing: checked before any message changes
        GetUser(user).Changes.Check(session);
        return RunAsync(user, (state, list) =>
        {
            var (entry, directory, index) = Open(state, list, folder);
            var (updated, modified, changes) = (new List<MessageInfo>(), new List<uint>(), new List<MailboxChange>());
            foreach (var uid in uids.Distinct().Order())
            {
                var i = index.Messages.FindIndex(m => m.Uid == uid);
                if (i < 0)
                {
                    continue; // UIDs not in the folder are ignored
                }
                var m = index.Messages[i];
                if (unchangedSince is { } since && m.ModSeq > since)
                {
                    modified.Add(uid);
                    continue;
                }
                if (change.TryApply(m.Flags, m.Keywords, out var flags, out var newKeywords))
                {
                    m = index.Messages[i] = m with { Flags = flags, Keywords = newKeywords, ModSeq = ++index.HighestModSeq };
                    changes.Add(new MailboxChange(MailboxChangeKind.FlagsChanged, entry.Name, index.UidValidity, uid, m.ModSeq, m.ToInfo()));
                }
                updated.Add(m.ToInfo());
            }
            if (changes.Count > 0)
            {
                SaveIndex(directory, index);
                Publish(state, changes, session);
            }
            return new FlagUpdateResult(updated, modified);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<CopyResult> CopyAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, MailboxSubscription? session = null, CancellationToken cancellationToken = default) =>
        TransferAsync(user, folder, uids, targetFolder, move: false, session, cancellationToken);

    /// <inheritdoc />
    public ValueTask<CopyResult> MoveAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, MailboxSubscription? session = null, CancellationToken cancellationToken = default) =>
        TransferAsync(user, folder, uids, targetFolder, move: true, session, cancellationToken);

    private ValueTask<CopyResult> TransferAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, bool move, MailboxSubscription? session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uids);
        GetUser(user).Changes.Check(session);
        return RunAsync(user, (state, list) =>
        {
            var source = Open(state, list, folder);
            var target = Open(state, list, targetFolder);
            if (source.Entry == target.Entry)
            {
                // Into the same folder: one index object (two would overwrite each other), and a move is a copy.
                (target, move) = (source, false);
            }
            var (from, to, moved, added, expunged) = (new List<uint>(), new List<uint>(), new List<MessageEntry>(), new List<MailboxChange>(), new List<MailboxChange>());
            foreach (var uid in uids.Distinct().Order())
            {
                if (source.Index.Messages.Find(m => m.Uid == uid) is not { } m)
                {
                    continue;
                }
                var newUid = target.Index.UidNext++;
                var copy = m with { Uid = newUid, ModSeq = ++target.Index.HighestModSeq, File = FileName(newUid) };
                CopyDurably(Path.Combine(source.Directory, m.File), Path.Combine(target.Directory, copy.File));
                target.Index.Messages.Add(copy);
                from.Add(uid);
                to.Add(newUid);
                added.Add(new MailboxChange(MailboxChangeKind.MessageAdded, target.Entry.Name, target.Index.UidValidity, newUid, copy.ModSeq, copy.ToInfo()));
                if (move)
                {
                    source.Index.Messages.Remove(m);
                    moved.Add(m);
                    expunged.Add(new MailboxChange(MailboxChangeKind.MessageExpunged, source.Entry.Name, source.Index.UidValidity, uid, RecordExpunge(source.Index, uid)));
                }
            }
            if (from.Count > 0)
            {
                // Target first: a crash between the two writes leaves a duplicate, never a lost message.
                SaveIndex(target.Directory, target.Index);
                if (move)
                {
                    SaveIndex(source.Directory, source.Index);
                    DeleteFiles(source.Directory, moved);
                }
                Publish(state, [.. added, .. expunged], session); // one batch per folder
            }
            return new CopyResult(target.Index.UidValidity, from, to);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<uint>> ExpungeAsync(string user, string folder, IReadOnlyCollection<uint>? uids = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        GetUser(user).Changes.Check(session);
        return RunAsync<IReadOnlyList<uint>>(user, (state, list) =>
        {
            var (entry, directory, index) = Open(state, list, folder);
            var wanted = uids?.ToHashSet();
            var remove = index.Messages.Where(m => wanted is null ? m.Flags.HasFlag(MessageFlags.Deleted) : wanted.Contains(m.Uid)).ToList();
            if (remove.Count == 0)
            {
                return [];
            }
            var changes = new List<MailboxChange>();
            foreach (var m in remove)
            {
                index.Messages.Remove(m);
                changes.Add(new MailboxChange(MailboxChangeKind.MessageExpunged, entry.Name, index.UidValidity, m.Uid, RecordExpunge(index, m.Uid)));
            }
            SaveIndex(directory, index); // UIDNEXT stays: the removed UIDs are never handed out again
            DeleteFiles(directory, remove);
            Publish(state, changes, session);
            return [.. remove.Select(m => m.Uid)];
        }, cancellationToken);
    }

    private static string MessagePath(UserState state, FolderList list, string folder, uint uid)
    {
        var (_, directory, index) = Open(state, list, folder);
        var message = index.Messages.Find(m => m.Uid == uid) ?? throw new MailboxStoreException(MailboxStoreError.MessageNotFound, $"No message with UID {uid}.");
        return Path.Combine(directory, message.File);
    }

    private static string FileName(uint uid) => uid.ToString(CultureInfo.InvariantCulture) + ".eml";

    private void DeleteFiles(string directory, IEnumerable<MessageEntry> messages)
    {
        foreach (var path in messages.Select(m => Path.Combine(directory, m.File)))
        {
            _summaries.TryRemove(path, out _);
            DeleteQuietly(path);
        }
    }
}
