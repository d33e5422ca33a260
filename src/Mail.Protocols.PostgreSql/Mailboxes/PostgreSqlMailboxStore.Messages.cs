using System.Buffers;
using System.Globalization;
using Mail.Protocols.PostgreSql.Content;
using Mail.Protocols.Storage;
using Npgsql;

namespace Mail.Protocols.PostgreSql.Mailboxes;

// Messages: status and lists, append with its content in chunk rows, content and summaries, flags, copy, move, expunge.
public sealed partial class PostgreSqlMailboxStore
{
    private const string ChunkTable = "mail_content_chunks";

    /// <inheritdoc />
    public async ValueTask<FolderStatus> GetStatusAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        var name = Normalize(folder);
        return await Run(async () =>
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var select = Command(connection, null, $"""
                    SELECT {FolderRow.Columns}, count(m.uid)::integer, (count(m.uid) FILTER (WHERE m.flags & 1 = 0))::integer,
                        coalesce(sum(m.size), 0)::bigint, (count(m.uid) FILTER (WHERE m.flags & 8 <> 0))::integer
                    FROM mail_folders f LEFT JOIN mail_messages m ON m.folder_id = f.id
                    WHERE f.mailbox_id = $1 AND f.name = $2 GROUP BY f.id
                    """, mailbox.Id, name);
                var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        throw NotFound(folder);
                    }
                    var f = FolderRow.Read(reader);
                    return new FolderStatus(f.Name, f.UidValidity, f.UidNext, f.HighestModSeq, reader.GetInt32(7), reader.GetInt32(8), reader.GetInt64(9), reader.GetInt32(10));
                }
            }
        }).ConfigureAwait(false);
    }

    private static FolderStatus StatusOf(FolderRow f, List<MessageInfo> messages) => new(
        f.Name, f.UidValidity, f.UidNext, f.HighestModSeq, messages.Count,
        messages.Count(m => (m.Flags & MessageFlags.Seen) == 0), messages.Sum(m => m.Size), messages.Count(m => (m.Flags & MessageFlags.Deleted) != 0));

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<MessageInfo>> ListMessagesAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        var name = Normalize(folder);
        return await Run(async () =>
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    var f = await FindFolderAsync(connection, transaction, mailbox, name, cancellationToken).ConfigureAwait(false);
                    return await ListAsync(connection, transaction, f.Id, cancellationToken).ConfigureAwait(false);
                }
            }
        }).ConfigureAwait(false);
    }

    private static async Task<List<MessageInfo>> ListAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long folderId, CancellationToken cancellationToken)
    {
        using var select = Command(connection, transaction, $"SELECT {MessageRows.Columns} FROM mail_messages WHERE folder_id = $1 ORDER BY uid", folderId);
        return await MessageRows.ReadAllAsync(select, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<AppendResult> AppendAsync(string user, string folder, Stream content, AppendOptions? options = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var keywords = MessageKeywords.Validate(options?.Keywords);
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        mailbox.Changes.Check(session);
        var name = Normalize(folder);
        var date = options?.InternalDate ?? _time.GetUtcNow();
        var connection = await Run(async () => await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // The content is written before the folder is locked (a slow sender holds up nobody), in the transaction that
            // stores the message: a stream that fails or is cancelled leaves nothing, not even a UID taken.
            var transaction = await Run(async () => await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var (contentId, size, parsed) = await WriteContentAsync(connection, transaction, content, cancellationToken).ConfigureAwait(false);
                var flags = options?.Flags ?? MessageFlags.None;
                var appended = await Changing(mailbox, async (c, t) =>
                {
                    // One statement while the folder's row is locked (to the commit): the UID and MODSEQ taken, the message
                    // stored, the other hosts notified.
                    using var append = Command(c, t, $"""
                        WITH f AS (
                            UPDATE mail_folders SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1
                            WHERE mailbox_id = $1 AND name = $2
                            RETURNING id, name, uid_validity, uid_next - 1 AS uid, highest_modseq AS modseq),
                        m AS (
                            INSERT INTO mail_messages (folder_id, uid, modseq, flags, keywords, internal_date, internal_date_offset, size, content_id)
                            SELECT id, uid, modseq, $3, $4, $5, $6, $7, $8 FROM f)
                        SELECT id, name, uid_validity, uid, modseq,
                            pg_notify('{ChangeListener.Channel}', concat_ws(E'\t', 'M', $9::text, $10::text, id, uid_validity, modseq - 1, modseq, uid, name, ''))
                        FROM f
                        """, mailbox.Id, name, (int)flags, keywords, date.UtcDateTime, MessageRows.Offset(date), size, contentId, _instance, mailbox.Id.ToString(CultureInfo.InvariantCulture));
                    var reader = await append.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    await using (reader.ConfigureAwait(false))
                    {
                        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                        {
                            throw NotFound(folder);
                        }
                        var (folderName, uidValidity, uid, modSeq) = (reader.GetString(1), (uint)reader.GetInt64(2), (uint)reader.GetInt64(3), (ulong)reader.GetInt64(4));
                        var info = new MessageInfo(uid, flags, keywords, date, size, modSeq);
                        return (new AppendResult(uidValidity, uid, size), new List<MailboxChange> { new(MailboxChangeKind.MessageAdded, folderName, uidValidity, uid, modSeq, info) });
                    }
                }, cancellationToken, session, connection, transaction).ConfigureAwait(false);
                if (parsed is not null)
                {
                    // Committed: a session reading the new message (the IMAP client told of it) finds its summary here.
                    _summaryCache.Add(contentId, parsed);
                }
                return appended;
            }
        }
    }

    // The content's rows, made durable on commit, and its summary when it fits in one row (parsed from the octets in hand; a
    // longer message is parsed when its summary is first asked for). Content of one row, most mail, costs one round trip.
    private static async Task<(long Id, long Size, MessageSummary? Summary)> WriteContentAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Stream content,
        CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ContentChunks.ChunkSize);
        try
        {
            var filled = await content.ReadAtLeastAsync(buffer.AsMemory(0, ContentChunks.ChunkSize), ContentChunks.ChunkSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            var first = new ArraySegment<byte>(buffer, 0, filled);
            if (filled < ContentChunks.ChunkSize)
            {
                var parsed = MessageSummaryParser.Parse(new MemoryStream(buffer, 0, filled, writable: false), cancellationToken);
                var summary = MessageSummaryJson.SerializeToUtf8Bytes(parsed);
                var (contentId, length) = await Run(async () =>
                {
                    using var batch = new NpgsqlBatch(connection, transaction)
                    {
                        BatchCommands =
                        {
                            DurableCommit.BatchCommand(),
                            BatchCommand("""
                                WITH c AS (INSERT INTO mail_contents (size, summary) VALUES ($1, $2) RETURNING id),
                                k AS (INSERT INTO mail_content_chunks (id, chunk, data) SELECT id, 0, $3 FROM c)
                                SELECT id FROM c
                                """, (long)filled, summary, first),
                        },
                    };
                    return ((long)(await batch.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!, (long)filled);
                }).ConfigureAwait(false);
                return (contentId, length, parsed);
            }
            var id = await Run(async () =>
            {
                using var batch = new NpgsqlBatch(connection, transaction)
                {
                    BatchCommands =
                    {
                        DurableCommit.BatchCommand(),
                        BatchCommand("""
                            WITH c AS (INSERT INTO mail_contents (size) VALUES (0) RETURNING id),
                            k AS (INSERT INTO mail_content_chunks (id, chunk, data) SELECT id, 0, $1 FROM c)
                            SELECT id FROM c
                            """, first),
                    },
                };
                return (long)(await batch.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }).ConfigureAwait(false);
            long rest;
            try
            {
                rest = await ContentChunks.WriteAsync(connection, transaction, ChunkTable, id, content, cancellationToken, firstChunk: 1).ConfigureAwait(false);
            }
            catch (NpgsqlException ex)
            {
                // Only the database's: a failing client stream's own exception reaches the caller as it is.
                throw new MailboxStoreException(MailboxStoreError.Unavailable, "The mail database could not be written.", ex);
            }
            var size = ContentChunks.ChunkSize + rest;
            await Run(async () =>
            {
                using var update = Command(connection, transaction, "UPDATE mail_contents SET size = $2 WHERE id = $1", id, size);
                return await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);
            return (id, size, null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task AdvanceFolderAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, FolderRow folder, long uidNext, ulong highestModSeq, int expunged,
        CancellationToken cancellationToken)
    {
        using var update = Command(connection, transaction, """
            UPDATE mail_folders SET uid_next = $2, highest_modseq = $3, expunges_kept = expunges_kept + $4 WHERE id = $1
            """, folder.Id, uidNext, (long)highestModSeq, expunged);
        await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<Stream> OpenContentAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default)
    {
        var (contentId, size, _) = await FindContentAsync(user, folder, uid, withSummary: false, cancellationToken).ConfigureAwait(false);
        return new ChunkedContentStream<long>(_dataSource, ChunkTable, contentId, size);
    }

    /// <inheritdoc />
    public async ValueTask<MessageSummary> GetSummaryAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default)
    {
        var (contentId, size, json) = await FindContentAsync(user, folder, uid, withSummary: true, cancellationToken).ConfigureAwait(false);
        return await SummaryAsync(contentId, size, json, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(long ContentId, long Size, byte[]? Summary)> FindContentAsync(string user, string folder, uint uid, bool withSummary, CancellationToken cancellationToken)
    {
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        var name = Normalize(folder);
        return await Run(async () =>
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                var f = await FindFolderAsync(connection, null, mailbox, name, cancellationToken).ConfigureAwait(false);
                using var select = Command(connection, null, $"""
                    SELECT c.id, c.size, {(withSummary ? "c.summary" : "NULL::bytea")} FROM mail_messages m JOIN mail_contents c ON c.id = m.content_id
                    WHERE m.folder_id = $1 AND m.uid = $2
                    """, f.Id, (long)uid);
                var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        throw new MailboxStoreException(MailboxStoreError.MessageNotFound, $"No message with UID {uid}.");
                    }
                    return (reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<byte[]>(2));
                }
            }
        }).ConfigureAwait(false);
    }

    // The stored summary if it is sound; otherwise the message is parsed (read a chunk at a time) and its summary stored.
    private async Task<MessageSummary> SummaryAsync(long contentId, long size, byte[]? json, CancellationToken cancellationToken)
    {
        if (_summaryCache.TryGet(contentId, out var cached))
        {
            return cached;
        }
        if (json is not null && MessageSummaryJson.TryDeserialize(json, size, out var stored))
        {
            _summaryCache.Add(contentId, stored);
            return stored;
        }
        MessageSummary summary;
        try
        {
            summary = await Task.Run(() =>
            {
                using var content = new ChunkedContentStream<long>(_dataSource, ChunkTable, contentId, size);
                return MessageSummaryParser.Parse(content, cancellationToken);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new MailboxStoreException(MailboxStoreError.MessageNotFound, "The message was expunged while it was read.", ex);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new MailboxStoreException(MailboxStoreError.Unavailable, "The mail database could not be read.", ex);
        }
        await Run(async () =>
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var update = Command(connection, null, "UPDATE mail_contents SET summary = $2 WHERE id = $1", contentId, MessageSummaryJson.SerializeToUtf8Bytes(summary));
                return await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
        _summaryCache.Add(contentId, summary);
        return summary;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<MessageSummaryEntry>> GetSummariesAsync(string user, string folder, IReadOnlyCollection<uint> uids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uids);
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        var name = Normalize(folder);
        var (rows, stored) = await Run(async () =>
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                // One snapshot: a message listed has its content row in the second read, whoever expunges it meanwhile.
                var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
                await using var transactionScope = transaction.ConfigureAwait(false);
                var f = await FindFolderAsync(connection, transaction, mailbox, name, cancellationToken).ConfigureAwait(false);
                var list = new List<(MessageInfo Info, long ContentId)>();
                using (var select = Command(connection, transaction, $"""
                    SELECT {MessageRows.Columns}, content_id FROM mail_messages WHERE folder_id = $1 AND uid = ANY($2) ORDER BY uid
                    """, f.Id, uids.Select(u => (long)u).ToArray()))
                {
                    var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    await using (reader.ConfigureAwait(false))
                    {
                        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                        {
                            list.Add((MessageRows.Read(reader), reader.GetInt64(7)));
                        }
                    }
                }
                // Only the summaries this instance does not hold already come from the database (those it holds are taken now:
                // the cache may be emptied meanwhile).
                var cached = new Dictionary<long, MessageSummary>();
                foreach (var (_, id) in list)
                {
                    if (_summaryCache.TryGet(id, out var summary))
                    {
                        cached[id] = summary;
                    }
                }
                var missing = list.Select(r => r.ContentId).Where(id => !cached.ContainsKey(id)).Distinct().ToArray();
                var json = new Dictionary<long, byte[]?>();
                if (missing.Length > 0)
                {
                    using var summaries = Command(connection, transaction, "SELECT id, summary FROM mail_contents WHERE id = ANY($1)", missing);
                    var reader = await summaries.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    await using (reader.ConfigureAwait(false))
                    {
                        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                        {
                            json[reader.GetInt64(0)] = reader.IsDBNull(1) ? null : reader.GetFieldValue<byte[]>(1);
                        }
                    }
                }
                return (list, (Cached: cached, Json: json));
            }
        }).ConfigureAwait(false);
        var entries = new List<MessageSummaryEntry>(rows.Count);
        foreach (var (info, contentId) in rows)
        {
            var summary = stored.Cached.TryGetValue(contentId, out var held) ? held
                : await SummaryAsync(contentId, info.Size, stored.Json.GetValueOrDefault(contentId), cancellationToken).ConfigureAwait(false);
            entries.Add(new MessageSummaryEntry(info, summary));
        }
        return entries;
    }

    /// <inheritdoc />
    public async ValueTask<FlagUpdateResult> UpdateFlagsAsync(string user, string folder, IReadOnlyCollection<uint> uids, FlagChange change, ulong? unchangedSince = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uids);
        ArgumentNullException.ThrowIfNull(change);
        MessageKeywords.Validate(change.Keywords);
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        var name = Normalize(folder);
        return await Changing(mailbox, async (connection, transaction) =>
        {
            var f = await LockFolderAsync(connection, transaction, mailbox, name, cancellationToken).ConfigureAwait(false);
            var current = await SelectMessagesAsync(connection, transaction, f.Id, uids, cancellationToken).ConfigureAwait(false);
            var updated = new List<MessageInfo>();
            var modified = new List<uint>();
            var changes = new List<MailboxChange>();
            var modSeq = f.HighestModSeq;
            foreach (var m in current)
            {
                if (unchangedSince is { } since && m.ModSeq > since)
                {
                    modified.Add(m.Uid);
                    continue;
                }
                if (change.TryApply(m.Flags, m.Keywords, out var flags, out var keywords))
                {
                    var info = m with { Flags = flags, Keywords = keywords, ModSeq = ++modSeq };
                    changes.Add(new MailboxChange(MailboxChangeKind.FlagsChanged, f.Name, f.UidValidity, m.Uid, info.ModSeq, info));
                    updated.Add(info);
                }
                else
                {
                    updated.Add(m);
                }
            }
            if (changes.Count > 0)
            {
                using (var update = Command(connection, transaction, """
                    UPDATE mail_messages m SET flags = v.flags, keywords = string_to_array(v.keywords, ' '), modseq = v.modseq
                    FROM unnest($2::bigint[], $3::integer[], $4::text[], $5::bigint[]) AS v (uid, flags, keywords, modseq)
                    WHERE m.folder_id = $1 AND m.uid = v.uid
                    """, f.Id, changes.Select(c => (long)c.Uid).ToArray(), changes.Select(c => (int)c.Message!.Flags).ToArray(),
                    changes.Select(c => string.Join(' ', c.Message!.Keywords)).ToArray(), changes.Select(c => (long)c.ModSeq).ToArray()))
                {
                    await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                await AdvanceFolderAsync(connection, transaction, f, f.UidNext, modSeq, 0, cancellationToken).ConfigureAwait(false);
                await NotifyAsync(connection, transaction, MessageNotification(mailbox.Id, f, f.HighestModSeq, modSeq), cancellationToken).ConfigureAwait(false);
            }
            return (new FlagUpdateResult(updated, modified), changes);
        }, cancellationToken, session).ConfigureAwait(false);
    }

    private static async Task<List<MessageInfo>> SelectMessagesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long folderId, IReadOnlyCollection<uint> uids,
        CancellationToken cancellationToken)
    {
        using var select = Command(connection, transaction, $"SELECT {MessageRows.Columns} FROM mail_messages WHERE folder_id = $1 AND uid = ANY($2) ORDER BY uid",
            folderId, uids.Select(u => (long)u).ToArray());
        return await MessageRows.ReadAllAsync(select, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<CopyResult> CopyAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, MailboxSubscription? session = null, CancellationToken cancellationToken = default) =>
        TransferAsync(user, folder, uids, targetFolder, move: false, session, cancellationToken);

    /// <inheritdoc />
    public ValueTask<CopyResult> MoveAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, MailboxSubscription? session = null, CancellationToken cancellationToken = default) =>
        TransferAsync(user, folder, uids, targetFolder, move: true, session, cancellationToken);

    private async ValueTask<CopyResult> TransferAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, bool move, MailboxSubscription? session,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uids);
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        var (from, to) = (Normalize(folder), Normalize(targetFolder));
        return await Changing(mailbox, async (connection, transaction) =>
        {
            // Both rows locked, in one order for every transfer (a move each way at once must not deadlock).
            var source = await FindFolderAsync(connection, transaction, mailbox, from, cancellationToken).ConfigureAwait(false);
            var target = await FindFolderAsync(connection, transaction, mailbox, to, cancellationToken).ConfigureAwait(false);
            var order = source.Id <= target.Id ? new[] { source, target } : [target, source];
            foreach (var found in order.DistinctBy(f => f.Id))
            {
                var locked = await LockFolderAsync(connection, transaction, found, cancellationToken).ConfigureAwait(false);
                (source, target) = (locked.Id == source.Id ? locked : source, locked.Id == target.Id ? locked : target);
            }
            var messages = await SelectMessagesAsync(connection, transaction, source.Id, uids, cancellationToken).ConfigureAwait(false);
            return await MoveMessagesAsync(connection, transaction, mailbox, source, target, messages, move && source.Id != target.Id, cancellationToken).ConfigureAwait(false);
        }, cancellationToken, session).ConfigureAwait(false);
    }

    // Copies messages (sharing their content) or moves them (their rows change folder) to the target under new UIDs and
    // MODSEQs; a move expunges them from the source. Both folders' rows are locked by the caller.
    private async Task<(CopyResult Result, List<MailboxChange> Changes)> MoveMessagesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, UserMailbox mailbox,
        FolderRow source, FolderRow target, List<MessageInfo> messages, bool move, CancellationToken cancellationToken)
    {
        var oldUids = messages.Select(m => (long)m.Uid).ToArray();
        var newUids = messages.Select((_, i) => target.UidNext + (long)i).ToArray();
        var modSeqs = messages.Select((_, i) => (long)target.HighestModSeq + 1 + i).ToArray();
        var added = messages.Select((m, i) => new MailboxChange(MailboxChangeKind.MessageAdded, target.Name, target.UidValidity, (uint)newUids[i], (ulong)modSeqs[i],
            m with { Uid = (uint)newUids[i], ModSeq = (ulong)modSeqs[i] })).ToList();
        if (messages.Count == 0)
        {
            return (new CopyResult(target.UidValidity, [], []), []);
        }
        if (!move)
        {
            // The contents the copies will share, locked in id order as an expunge locks them: not row by row in UID order
            // by the foreign-key checks, which could deadlock with an expunge on another host.
            using var share = Command(connection, transaction, """
                SELECT c.id FROM mail_contents c WHERE c.id IN (SELECT content_id FROM mail_messages WHERE folder_id = $1 AND uid = ANY($2))
                ORDER BY c.id FOR KEY SHARE
                """, source.Id, oldUids);
            await share.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        using (var write = Command(connection, transaction, move
            ? """
              UPDATE mail_messages m SET folder_id = $1, uid = v.new_uid, modseq = v.modseq
              FROM unnest($3::bigint[], $4::bigint[], $5::bigint[]) AS v (old_uid, new_uid, modseq)
              WHERE m.folder_id = $2 AND m.uid = v.old_uid
              """
            : """
              INSERT INTO mail_messages (folder_id, uid, modseq, flags, keywords, internal_date, internal_date_offset, size, content_id)
              SELECT $1, v.new_uid, v.modseq, m.flags, m.keywords, m.internal_date, m.internal_date_offset, m.size, m.content_id
              FROM unnest($3::bigint[], $4::bigint[], $5::bigint[]) AS v (old_uid, new_uid, modseq)
              JOIN mail_messages m ON m.folder_id = $2 AND m.uid = v.old_uid
              """, target.Id, source.Id, oldUids, newUids, modSeqs))
        {
            await write.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        var lastModSeq = (ulong)modSeqs[^1];
        await AdvanceFolderAsync(connection, transaction, target, newUids[^1] + 1, lastModSeq, 0, cancellationToken).ConfigureAwait(false);
        await NotifyAsync(connection, transaction, MessageNotification(mailbox.Id, target, target.HighestModSeq, lastModSeq), cancellationToken).ConfigureAwait(false);
        var changes = added;
        if (move)
        {
            changes.AddRange(await RecordExpungesAsync(connection, transaction, mailbox, source, [.. messages.Select(m => m.Uid)], cancellationToken).ConfigureAwait(false));
        }
        return (new CopyResult(target.UidValidity, [.. messages.Select(m => m.Uid)], [.. newUids.Select(u => (uint)u)]), changes);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<uint>> ExpungeAsync(string user, string folder, IReadOnlyCollection<uint>? uids = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
    {
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        var name = Normalize(folder);
        return await Changing(mailbox, async (connection, transaction) =>
        {
            var f = await LockFolderAsync(connection, transaction, mailbox, name, cancellationToken).ConfigureAwait(false);
            using var delete = uids is null
                ? Command(connection, transaction, "DELETE FROM mail_messages WHERE folder_id = $1 AND flags & 8 <> 0 RETURNING uid, content_id", f.Id)
                : Command(connection, transaction, "DELETE FROM mail_messages WHERE folder_id = $1 AND uid = ANY($2) RETURNING uid, content_id", f.Id, uids.Select(u => (long)u).ToArray());
            var removed = new List<uint>();
            var contents = new List<long>();
            var reader = await delete.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    removed.Add((uint)reader.GetInt64(0));
                    contents.Add(reader.GetInt64(1));
                }
            }
            removed.Sort();
            if (removed.Count == 0)
            {
                return ((IReadOnlyList<uint>)removed, new List<MailboxChange>());
            }
            await DeleteUnusedContentsAsync(connection, transaction, [.. contents], cancellationToken).ConfigureAwait(false);
            var changes = await RecordExpungesAsync(connection, transaction, mailbox, f, removed, cancellationToken).ConfigureAwait(false);
            return ((IReadOnlyList<uint>)removed, changes);
        }, cancellationToken, session).ConfigureAwait(false);
    }

    // Gives each removed UID (ascending) the MODSEQ of its expunge, remembers it for VANISHED (forgetting the oldest past the
    // bound, an eighth at once), raises the folder's HIGHESTMODSEQ and notifies. The rows are gone already.
    private async Task<List<MailboxChange>> RecordExpungesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, UserMailbox mailbox, FolderRow folder,
        List<uint> removed, CancellationToken cancellationToken)
    {
        var modSeqs = removed.Select((_, i) => (long)folder.HighestModSeq + 1 + i).ToArray();
        using (var remember = Command(connection, transaction, """
            INSERT INTO mail_expunges (folder_id, uid, modseq) SELECT $1, * FROM unnest($2::bigint[], $3::bigint[])
            """, folder.Id, removed.Select(u => (long)u).ToArray(), modSeqs))
        {
            await remember.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        var last = (ulong)modSeqs[^1];
        await AdvanceFolderAsync(connection, transaction, folder, folder.UidNext, last, removed.Count, cancellationToken).ConfigureAwait(false);
        if (folder.ExpungesKept + removed.Count > _expungesKept + Math.Max(1, _expungesKept / 8))
        {
            using var forget = Command(connection, transaction, """
                WITH cut AS (SELECT modseq FROM mail_expunges WHERE folder_id = $1 ORDER BY modseq DESC OFFSET $2 LIMIT 1),
                gone AS (DELETE FROM mail_expunges WHERE folder_id = $1 AND modseq <= (SELECT modseq FROM cut) RETURNING 1)
                UPDATE mail_folders SET expunges_remembered_after = GREATEST(expunges_remembered_after, (SELECT modseq FROM cut)),
                    expunges_kept = expunges_kept - (SELECT count(*) FROM gone)
                WHERE id = $1 AND EXISTS (SELECT 1 FROM cut)
                """, folder.Id, _expungesKept);
            await forget.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await NotifyAsync(connection, transaction, MessageNotification(mailbox.Id, folder, folder.HighestModSeq, last), cancellationToken).ConfigureAwait(false);
        return [.. removed.Select((uid, i) => new MailboxChange(MailboxChangeKind.MessageExpunged, folder.Name, folder.UidValidity, uid, (ulong)modSeqs[i]))];
    }

    // RFC 9051 §6.3.5: INBOX's messages move to a new folder (new UIDs under its own UIDVALIDITY), INBOX stays, empty.
    private async Task<List<MailboxChange>> RenameInboxAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, UserMailbox mailbox, FolderRow inbox, string newName,
        CancellationToken cancellationToken)
    {
        var created = (await InsertFolderAsync(connection, transaction, mailbox, newName, SpecialUse.None, ifMissing: false, cancellationToken).ConfigureAwait(false))!;
        var target = await LockFolderAsync(connection, transaction, mailbox, newName, cancellationToken).ConfigureAwait(false);
        var messages = await ListAsync(connection, transaction, inbox.Id, cancellationToken).ConfigureAwait(false);
        var (_, changes) = await MoveMessagesAsync(connection, transaction, mailbox, inbox, target, messages, move: true, cancellationToken).ConfigureAwait(false);
        // The new folder's additions are not announced: it did not exist for anyone; INBOX's expunges, then the new folder are.
        return [.. changes.Where(c => c.Kind == MailboxChangeKind.MessageExpunged), created];
    }

    /// <inheritdoc />
    public async ValueTask<IDisposable?> TryAcquireMaildropLeaseAsync(string user, CancellationToken cancellationToken = default)
    {
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        return await Run(() => MaildropLease.TryAcquireAsync(_dataSource, mailbox.Id, cancellationToken)).ConfigureAwait(false);
    }
}
