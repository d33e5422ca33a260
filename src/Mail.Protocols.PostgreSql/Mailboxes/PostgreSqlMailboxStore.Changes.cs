using System.Globalization;
using Mail.Protocols.PostgreSql.Content;
using Mail.Protocols.Storage;
using Npgsql;

namespace Mail.Protocols.PostgreSql.Mailboxes;

// How changes reach sessions. This instance's own changes are published when they commit, under the user's gate; other
// hosts' arrive as notifications (ChangeListener), and for every folder a session here has open the store then reads what
// changed since the MODSEQ it last published (FollowedFolder), so a notification late, out of turn or lost costs a read,
// never a change. All publishing of one user happens under its gate, in commit order.
public sealed partial class PostgreSqlMailboxStore
{
    private readonly ChangeListener _listener;

    // The identity of this instance in notifications: its own are published already and skipped when they come back.
    private readonly string _instance = Guid.NewGuid().ToString("N");

    /// <inheritdoc />
    public MailboxSubscription Subscribe(string user, int capacity = MailboxSubscription.DefaultCapacity)
    {
        var mailbox = Get(user);
        if (!mailbox.Changes.HasSubscribers)
        {
            mailbox.FollowedStale = true; // nothing was published while nobody listened
        }
        _listener.Start();
        return mailbox.Changes.Subscribe(capacity);
    }

    /// <inheritdoc />
    public async ValueTask<FolderSnapshot> OpenFolderAsync(string user, string folder, MailboxSubscription? subscription = null, CancellationToken cancellationToken = default) =>
        (await OpenAsync(user, folder, null, subscription, cancellationToken).ConfigureAwait(false)).Snapshot;

    /// <inheritdoc />
    public async ValueTask<FolderResync> OpenFolderForResyncAsync(string user, string folder, ulong modSeq, MailboxSubscription? subscription = null, CancellationToken cancellationToken = default) =>
        await OpenAsync(user, folder, modSeq, subscription, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<ExpungedUids> GetExpungedSinceAsync(string user, string folder, ulong modSeq, CancellationToken cancellationToken = default)
    {
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        return await Run(async () =>
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    var f = await FindFolderAsync(connection, transaction, mailbox, Normalize(folder), cancellationToken).ConfigureAwait(false);
                    return await ExpungedSinceAsync(connection, transaction, f, modSeq, cancellationToken).ConfigureAwait(false);
                }
            }
        }).ConfigureAwait(false);
    }

    private static async Task<ExpungedUids> ExpungedSinceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, FolderRow folder, ulong modSeq, CancellationToken cancellationToken)
    {
        if (modSeq < folder.ExpungesRememberedAfter)
        {
            return new ExpungedUids(false, []);
        }
        using var select = Command(connection, transaction, "SELECT uid FROM mail_expunges WHERE folder_id = $1 AND modseq > $2 ORDER BY uid", folder.Id, (long)modSeq);
        var uids = new List<uint>();
        var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                uids.Add((uint)reader.GetInt64(0));
            }
        }
        return new ExpungedUids(true, uids);
    }

    // Under the gate, in one database snapshot: the folder's status and messages (and its expunges since a MODSEQ), and what
    // other hosts changed in it that this instance had not published yet; then the subscription follows it from there.
    // Like every path here, the connection is taken before the gate: none waits for a connection while holding the gate.
    private async Task<FolderResync> OpenAsync(string user, string folder, ulong? modSeq, MailboxSubscription? subscription, CancellationToken cancellationToken)
    {
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        mailbox.Changes.Check(subscription);
        var name = Normalize(folder);
        var connection = await Run(async () => await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await mailbox.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                DropStaleFollowed(mailbox);
                var (resync, caughtUp, followed) = await Run(async () =>
                {
                    var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
                    await using (transaction.ConfigureAwait(false))
                    {
                        var f = await FindFolderAsync(connection, transaction, mailbox, name, cancellationToken).ConfigureAwait(false);
                        var messages = await ListAsync(connection, transaction, f.Id, cancellationToken).ConfigureAwait(false);
                        var expunged = modSeq is { } since ? await ExpungedSinceAsync(connection, transaction, f, since, cancellationToken).ConfigureAwait(false) : new ExpungedUids(false, []);
                        List<MailboxChange> caughtUp = [];
                        var followed = mailbox.Followed.GetValueOrDefault(f.UidValidity);
                        if (followed is not null)
                        {
                            caughtUp = await CatchUpAsync(connection, transaction, followed, null, uint.MaxValue + 1L, announceFolder: false, cancellationToken).ConfigureAwait(false);
                        }
                        followed ??= new FollowedFolder(f.Id, f.UidValidity, f.Name, f.HighestModSeq, f.UidNext);
                        return (new FolderResync(new FolderSnapshot(StatusOf(f, messages), messages), expunged), caughtUp, followed);
                    }
                }).ConfigureAwait(false);
                mailbox.Followed[followed.UidValidity] = followed;
                // Other sessions hear what the snapshot holds first; the one opening drops it again (the snapshot has it).
                mailbox.Changes.Publish(caughtUp);
                mailbox.Changes.Opened(subscription, name, resync.Snapshot.Status.UidValidity);
                return resync;
            }
            finally
            {
                mailbox.Gate.Release();
            }
        }
    }

    // Runs a change in a transaction that commits durably, under the user's gate, and publishes what it changed when it has
    // committed: its own changes as the session's, others' it found it had not published yet first, for everyone. The
    // connection is taken (or was, by the caller) before the gate.
    private async ValueTask<T> Changing<T>(UserMailbox mailbox, Func<NpgsqlConnection, NpgsqlTransaction, Task<(T Result, List<MailboxChange> Changes)>> change,
        CancellationToken cancellationToken, MailboxSubscription? session = null, NpgsqlConnection? connection = null, NpgsqlTransaction? transaction = null)
    {
        mailbox.Changes.Check(session);
        var ownConnection = connection is null ? await Run(async () => await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false)).ConfigureAwait(false) : null;
        try
        {
            var c = connection ?? ownConnection!;
            await mailbox.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                DropStaleFollowed(mailbox);
                var (result, changes) = await Run(async () =>
                {
                    var ownTransaction = transaction is null ? await c.BeginTransactionAsync(cancellationToken).ConfigureAwait(false) : null;
                    try
                    {
                        var t = transaction ?? ownTransaction!;
                        if (ownTransaction is not null)
                        {
                            // A caller's transaction has it set already (see WriteContentAsync).
                            await DurableCommit.ApplyAsync(c, t, cancellationToken).ConfigureAwait(false);
                        }
                        var done = await change(c, t).ConfigureAwait(false);
                        // Not cancelled once asked for: a commit the server made must not be reported as failed (the client
                        // would send the message again).
                        await t.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                        return done;
                    }
                    finally
                    {
                        if (ownTransaction is not null)
                        {
                            await ownTransaction.DisposeAsync().ConfigureAwait(false);
                        }
                    }
                }).ConfigureAwait(false);
                // Committed: nothing from here on fails the call. Catching up is a read, made again at the next change.
                List<MailboxChange> before = [];
                try
                {
                    before = await CatchUpBeforeAsync(c, mailbox, changes, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    mailbox.FollowedStale = true;
                }
                mailbox.Changes.Publish(before);
                mailbox.Changes.Publish(Adjusted(mailbox, changes), session);
                return result;
            }
            finally
            {
                mailbox.Gate.Release();
            }
        }
        finally
        {
            if (ownConnection is not null)
            {
                await ownConnection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    // Before a change of a followed folder is published, the other hosts' changes committed before it (their notifications
    // may still be on the way) are published: read up to the MODSEQ just below this change's first, and every message not yet
    // heard of below the first UID this change gave out (whatever its MODSEQ now: changed again since, it is still new here).
    private async Task<List<MailboxChange>> CatchUpBeforeAsync(NpgsqlConnection connection, UserMailbox mailbox, List<MailboxChange> changes, CancellationToken cancellationToken)
    {
        List<MailboxChange> before = [];
        foreach (var run in changes.Where(c => c.IsMessageChange).GroupBy(c => c.UidValidity))
        {
            if (mailbox.Followed.TryGetValue(run.Key, out var followed) && run.Min(c => c.ModSeq) - 1 is var upTo && followed.PublishedThrough < upTo)
            {
                var ownFirstUid = run.Where(c => c.Kind == MailboxChangeKind.MessageAdded).Select(c => (long)c.Uid).DefaultIfEmpty(uint.MaxValue + 1L).Min();
                before.AddRange(await CatchUpAsync(connection, null, followed, upTo, ownFirstUid, announceFolder: false, cancellationToken).ConfigureAwait(false));
            }
        }
        return before;
    }

    // This instance's changes as the sessions following a folder must hear them: a message they never heard of (added by
    // another host, whose notification is still on the way) is added, not changed, and its expunge is nothing to them.
    // Folder changes move or end what is followed.
    private static List<MailboxChange> Adjusted(UserMailbox mailbox, List<MailboxChange> changes)
    {
        var adjusted = new List<MailboxChange>(changes.Count);
        foreach (var change in changes)
        {
            var followed = mailbox.Followed.GetValueOrDefault(change.UidValidity);
            switch (change.Kind)
            {
                case MailboxChangeKind.FolderDeleted:
                    mailbox.Followed.Remove(change.UidValidity);
                    break;
                case MailboxChangeKind.FolderRenamed:
                    RenameFollowed(mailbox, change.Folder, change.NewFolderName!);
                    break;
                case MailboxChangeKind.MessageExpunged when followed is not null && change.Uid >= followed.KnownUidNext:
                    continue;
                case MailboxChangeKind.FlagsChanged when followed is not null && change.Uid >= followed.KnownUidNext:
                    adjusted.Add(change with { Kind = MailboxChangeKind.MessageAdded });
                    followed.Heard(change.Uid, change.ModSeq);
                    continue;
            }
            followed?.Heard(change.Uid, change.ModSeq);
            adjusted.Add(change);
        }
        return adjusted;
    }

    private static void RenameFollowed(UserMailbox mailbox, string from, string to)
    {
        foreach (var followed in mailbox.Followed.Values)
        {
            if (followed.Name == from)
            {
                followed.Name = to;
            }
            else if (followed.Name.Length > from.Length && followed.Name[from.Length] == Separator && followed.Name.StartsWith(from, StringComparison.Ordinal))
            {
                followed.Name = to + followed.Name[from.Length..];
            }
        }
    }

    // Under the gate: with nobody subscribed nothing was published, so what was followed before is forgotten.
    private static void DropStaleFollowed(UserMailbox mailbox)
    {
        if (mailbox.FollowedStale || !mailbox.Changes.HasSubscribers)
        {
            mailbox.FollowedStale = false;
            mailbox.Followed.Clear();
        }
    }

    // Reads what changed in a followed folder since it was last published, as the changes to publish: its messages changed
    // (up to upTo, or all) or not heard of yet (below uidLimit, whatever their MODSEQ), and expunged, in MODSEQ order. With
    // no transaction of the caller's the reads share one snapshot of their own. A folder deleted or renamed is told only
    // with announceFolder (after a lost notification connection; otherwise its own notification tells it); deleted, it is
    // marked Gone.
    private async Task<List<MailboxChange>> CatchUpAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, FollowedFolder followed, ulong? upTo,
        long uidLimit, bool announceFolder, CancellationToken cancellationToken)
    {
        NpgsqlTransaction? own = null;
        try
        {
            own = transaction is null ? await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false) : null;
            var changes = new List<MailboxChange>();
            using var batch = new NpgsqlBatch(connection, transaction ?? own)
            {
                BatchCommands =
                {
                    BatchCommand($"SELECT {FolderRow.Columns} FROM mail_folders WHERE id = $1", followed.Id),
                    BatchCommand($"""
                        SELECT {MessageRows.Columns} FROM mail_messages
                        WHERE folder_id = $1 AND ((modseq > $2 AND modseq <= $3) OR (uid >= $4 AND uid < $5)) ORDER BY modseq
                        """, followed.Id, (long)followed.PublishedThrough, (long)(upTo ?? long.MaxValue), (long)followed.KnownUidNext, uidLimit),
                    BatchCommand("SELECT uid, modseq FROM mail_expunges WHERE folder_id = $1 AND modseq > $2 AND modseq <= $3 ORDER BY modseq",
                        followed.Id, (long)followed.PublishedThrough, (long)(upTo ?? long.MaxValue)),
                },
            };
            var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                var folder = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? FolderRow.Read(reader) : null;
                if (folder is null)
                {
                    if (announceFolder)
                    {
                        changes.Add(new MailboxChange(MailboxChangeKind.FolderDeleted, followed.Name, followed.UidValidity, 0, 0));
                    }
                    followed.Gone = true;
                    return changes;
                }
                if (folder.Name != followed.Name)
                {
                    if (announceFolder)
                    {
                        changes.Add(new MailboxChange(MailboxChangeKind.FolderRenamed, followed.Name, followed.UidValidity, 0, 0, null, folder.Name));
                    }
                    followed.Name = folder.Name;
                }
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                var messages = new List<MailboxChange>();
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var info = MessageRows.Read(reader);
                    var kind = info.Uid >= followed.KnownUidNext ? MailboxChangeKind.MessageAdded : MailboxChangeKind.FlagsChanged;
                    messages.Add(new MailboxChange(kind, folder.Name, folder.UidValidity, info.Uid, info.ModSeq, info));
                }
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var uid = (uint)reader.GetInt64(0);
                    if (uid < followed.KnownUidNext)
                    {
                        messages.Add(new MailboxChange(MailboxChangeKind.MessageExpunged, folder.Name, folder.UidValidity, uid, (ulong)reader.GetInt64(1)));
                    }
                }
                // The new messages first, in UID order (a session takes an added UID only above the last it holds, and a
                // message changed since it was added carries its later MODSEQ), then the rest in MODSEQ order: those
                // concern UIDs the sessions hold already.
                messages = [.. messages.Where(c => c.Kind == MailboxChangeKind.MessageAdded).OrderBy(c => c.Uid),
                    .. messages.Where(c => c.Kind != MailboxChangeKind.MessageAdded).OrderBy(c => c.ModSeq)];
                foreach (var change in messages)
                {
                    followed.Heard(change.Uid, Math.Min(change.ModSeq, upTo ?? ulong.MaxValue));
                }
                if (upTo is null)
                {
                    // Everything committed is read: a UID below UIDNEXT not heard of was expunged before it could be.
                    followed.Heard(folder.UidNext - 1, folder.HighestModSeq);
                }
                else
                {
                    followed.Heard(0, upTo.Value);
                }
                changes.AddRange(messages);
                return changes;
            }
        }
        finally
        {
            if (own is not null)
            {
                await own.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    // A notification from another instance (see ChangeNotice): the changes it names are read and published to this
    // instance's sessions of that user, if it has any. Folder changes are published as the notification tells them.
    private async Task OnNotificationAsync(string payload, CancellationToken cancellationToken)
    {
        if (ChangeNotice.TryParse(payload, out var notice) is false || notice.Instance == _instance
            || !_byMailboxId.TryGetValue(notice.MailboxId, out var mailbox) || !mailbox.Changes.HasSubscribers)
        {
            return;
        }
        var connection = notice.Kind == ChangeNotice.Messages ? await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false) : null;
        try
        {
            await mailbox.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                DropStaleFollowed(mailbox);
                List<MailboxChange> changes;
                var followed = mailbox.Followed.GetValueOrDefault(notice.UidValidity);
                switch (notice.Kind)
                {
                    case ChangeNotice.Messages when followed is null:
                        // A folder nobody here has open (for sessions hearing every folder): what is still at the MODSEQs the
                        // change gave out (a message changed again since is told at its later MODSEQ, by that change).
                        var once = new FollowedFolder(notice.FolderId, notice.UidValidity, notice.Name, notice.FromModSeq, notice.UidNextBefore);
                        changes = await CatchUpAsync(connection!, null, once, notice.ToModSeq, notice.UidNextBefore, announceFolder: false, cancellationToken).ConfigureAwait(false);
                        break;
                    case ChangeNotice.Messages:
                        changes = followed.PublishedThrough >= notice.ToModSeq ? []
                            : await CatchUpAsync(connection!, null, followed, null, uint.MaxValue + 1L, announceFolder: false, cancellationToken).ConfigureAwait(false);
                        if (followed.Gone)
                        {
                            mailbox.Followed.Remove(followed.UidValidity); // its deletion's own notification tells it
                        }
                        break;
                    case ChangeNotice.Created:
                        changes = [new MailboxChange(MailboxChangeKind.FolderCreated, notice.Name, notice.UidValidity, 0, 0)];
                        break;
                    case ChangeNotice.Deleted:
                        changes = [new MailboxChange(MailboxChangeKind.FolderDeleted, notice.Name, notice.UidValidity, 0, 0)];
                        mailbox.Followed.Remove(notice.UidValidity);
                        break;
                    default:
                        RenameFollowed(mailbox, notice.Name, notice.NewName!);
                        changes = [new MailboxChange(MailboxChangeKind.FolderRenamed, notice.Name, notice.UidValidity, 0, 0, null, notice.NewName)];
                        break;
                }
                mailbox.Changes.Publish(changes);
            }
            finally
            {
                mailbox.Gate.Release();
            }
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    // The notification connection listens (again): whatever was missed before is read for every followed folder, folder
    // deletions and renames included.
    private async Task OnListeningAgainAsync(CancellationToken cancellationToken)
    {
        foreach (var mailbox in _users.Values)
        {
            if (!mailbox.Changes.HasSubscribers)
            {
                continue;
            }
            try
            {
                var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    await mailbox.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                    try
                    {
                        DropStaleFollowed(mailbox);
                        foreach (var followed in mailbox.Followed.Values.ToList())
                        {
                            var changes = await CatchUpAsync(connection, null, followed, null, uint.MaxValue + 1L, announceFolder: true, cancellationToken).ConfigureAwait(false);
                            if (followed.Gone)
                            {
                                mailbox.Followed.Remove(followed.UidValidity);
                            }
                            mailbox.Changes.Publish(changes);
                        }
                    }
                    finally
                    {
                        mailbox.Gate.Release();
                    }
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                // This user's sessions catch up at their folder's next notification or open; the others go on now.
            }
        }
    }

    // Sent when the transaction commits (PostgreSQL delivers notifications in commit order), not before.
    private static async Task NotifyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string payload, CancellationToken cancellationToken)
    {
        using var notify = Command(connection, transaction, "SELECT pg_notify($1, $2)", ChangeListener.Channel, payload);
        await notify.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private string FolderNotification(char kind, long mailboxId, long folderId, uint uidValidity, string name, string? newName = null) =>
        new ChangeNotice(kind, _instance, mailboxId, folderId, uidValidity, name, newName, 0, 0, 0).ToString();

    private string MessageNotification(long mailboxId, FolderRow folder, ulong fromModSeq, ulong toModSeq) =>
        new ChangeNotice(ChangeNotice.Messages, _instance, mailboxId, folder.Id, folder.UidValidity, folder.Name, null, fromModSeq, toModSeq, folder.UidNext).ToString();

    private static NpgsqlBatchCommand BatchCommand(string sql, params object[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        return command;
    }

    // What has been published to this instance's sessions of one folder: every change up to PublishedThrough, and every UID
    // below KnownUidNext (added, or gone before it could be).
    private sealed class FollowedFolder(long id, uint uidValidity, string name, ulong publishedThrough, uint knownUidNext)
    {
        public long Id { get; } = id;

        public uint UidValidity { get; } = uidValidity;

        public string Name { get; set; } = name;

        public ulong PublishedThrough { get; private set; } = publishedThrough;

        public uint KnownUidNext { get; private set; } = knownUidNext;

        public bool Gone { get; set; }

        public void Heard(uint uid, ulong modSeq)
        {
            PublishedThrough = Math.Max(PublishedThrough, modSeq);
            KnownUidNext = Math.Max(KnownUidNext, uid + 1);
        }
    }
}

/// <summary>
/// The payload of one notification (channel <see cref="ChangeListener.Channel"/>): tab-separated, small (the names are at
/// most 255 characters), naming what changed, not carrying it: <c>kind instance mailbox folder uidvalidity from to uidnext name [newname]</c>.
/// </summary>
internal readonly record struct ChangeNotice(char Kind, string Instance, long MailboxId, long FolderId, uint UidValidity, string Name, string? NewName,
    ulong FromModSeq, ulong ToModSeq, uint UidNextBefore)
{
    public const char Messages = 'M';
    public const char Created = 'C';
    public const char Deleted = 'D';
    public const char Renamed = 'R';

    public override string ToString() => string.Join('\t',
        Kind.ToString(), Instance, MailboxId.ToString(CultureInfo.InvariantCulture), FolderId.ToString(CultureInfo.InvariantCulture),
        UidValidity.ToString(CultureInfo.InvariantCulture), FromModSeq.ToString(CultureInfo.InvariantCulture), ToModSeq.ToString(CultureInfo.InvariantCulture),
        UidNextBefore.ToString(CultureInfo.InvariantCulture), Name, NewName ?? "");

    public static bool TryParse(string payload, out ChangeNotice notice)
    {
        notice = default;
        var parts = payload.Split('\t');
        if (parts.Length != 10 || parts[0].Length != 1 || parts[0][0] is not (Messages or Created or Deleted or Renamed)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var mailbox)
            || !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var folder)
            || !uint.TryParse(parts[4], NumberStyles.None, CultureInfo.InvariantCulture, out var uidValidity)
            || !ulong.TryParse(parts[5], NumberStyles.None, CultureInfo.InvariantCulture, out var from)
            || !ulong.TryParse(parts[6], NumberStyles.None, CultureInfo.InvariantCulture, out var to)
            || !uint.TryParse(parts[7], NumberStyles.None, CultureInfo.InvariantCulture, out var uidNext))
        {
            return false;
        }
        notice = new ChangeNotice(parts[0][0], parts[1], mailbox, folder, uidValidity, parts[8], parts[9].Length == 0 ? null : parts[9], from, to, uidNext);
        return true;
    }
}
