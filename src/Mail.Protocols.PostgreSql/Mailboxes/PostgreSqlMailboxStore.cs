using System.Collections.Concurrent;
using System.Text;
using Mail.Protocols.PostgreSql.Content;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Npgsql;

namespace Mail.Protocols.PostgreSql.Mailboxes;

/// <summary>
/// An <see cref="IMailboxStore"/> in PostgreSQL that several hosts serve together: folders, messages with their content in
/// chunk rows (streamed in and out, shared by copies), flags and keywords, UIDs and MODSEQs handed out under the folder's
/// row lock so that they commit in the order given, expunges remembered for QRESYNC, subscriptions and special use.
/// A change made on one host reaches the sessions of the others through LISTEN/NOTIFY within moments.
/// </summary>
/// <remarks>
/// <para>
/// Every change commits before its call returns (with <c>synchronous_commit = on</c>, whatever the server's default). The
/// sessions of this instance hear a change when the call that made it returns; those of other instances when its
/// notification arrives, after which they read what changed since the MODSEQ they last heard (so a lost notification
/// connection costs a catch-up, not a change). The tables come from <see cref="Schema.PostgreSqlSchema"/>: apply it before
/// the first use. See docs/postgresql.md.
/// </para>
/// <para>
/// Database errors are reported as <see cref="MailboxStoreError.Unavailable"/> (the engines answer them as temporary failures).
/// </para>
/// </remarks>
public sealed partial class PostgreSqlMailboxStore : IMailboxStore, IAsyncDisposable, IDisposable
{
    private const string InboxName = "INBOX";
    private const int MaxNameLength = 255;
    private const char Separator = '/';
    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly int _expungesKept;
    private readonly ConcurrentDictionary<string, UserMailbox> _users = new(StringComparer.Ordinal); // by login normal form
    private readonly ConcurrentDictionary<long, UserMailbox> _byMailboxId = new();
    private readonly SummaryCache _summaryCache = new(capacity: 10_000);

    /// <summary>Creates a store on the tables of <paramref name="dataSource"/>'s database.</summary>
    /// <param name="dataSource">Where connections come from (pooling, TLS and credentials are its business).</param>
    /// <param name="timeProvider">The clock of internal dates and of new UIDVALIDITY values; the system's by default.</param>
    /// <param name="expungesKept">How many expunges each folder remembers for QRESYNC (at least this many, the newest).</param>
    public PostgreSqlMailboxStore(NpgsqlDataSource dataSource, TimeProvider? timeProvider = null, int expungesKept = ExpungedUidLog.DefaultCapacity)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentOutOfRangeException.ThrowIfLessThan(expungesKept, 1);
        _dataSource = dataSource;
        _time = timeProvider ?? TimeProvider.System;
        _expungesKept = expungesKept;
        _listener = new ChangeListener(dataSource, OnNotificationAsync, OnListeningAgainAsync);
    }

    /// <inheritdoc />
    public char HierarchySeparator => Separator;

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<FolderInfo>> ListFoldersAsync(string user, CancellationToken cancellationToken = default)
    {
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        return await Run(async () =>
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var select = Command(connection, null, "SELECT name, special_use FROM mail_folders WHERE mailbox_id = $1", mailbox.Id);
                var folders = new List<FolderInfo>();
                var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        folders.Add(new FolderInfo(reader.GetString(0), (SpecialUse)reader.GetInt32(1), false));
                    }
                }
                return FolderTree.Build(folders, HierarchySeparator);
            }
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<FolderInfo> CreateFolderAsync(string user, string folder, SpecialUse specialUse = SpecialUse.None, CancellationToken cancellationToken = default)
    {
        var name = ValidName(folder);
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        return await Changing(mailbox, async (connection, transaction) =>
        {
            await LockMailboxAsync(connection, transaction, mailbox, cancellationToken).ConfigureAwait(false);
            using (var exists = Command(connection, transaction, "SELECT 1 FROM mail_folders WHERE mailbox_id = $1 AND name = $2", mailbox.Id, name))
            {
                if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null)
                {
                    throw new MailboxStoreException(MailboxStoreError.FolderExists, $"Folder '{folder}' already exists.");
                }
            }
            // Missing parents become folders too.
            var changes = new List<MailboxChange>();
            for (var end = name.IndexOf(HierarchySeparator, StringComparison.Ordinal); end > 0; end = name.IndexOf(HierarchySeparator, end + 1))
            {
                var parent = name[..end];
                if (await InsertFolderAsync(connection, transaction, mailbox, parent, SpecialUse.None, ifMissing: true, cancellationToken).ConfigureAwait(false) is { } made)
                {
                    changes.Add(made);
                }
            }
            changes.Add((await InsertFolderAsync(connection, transaction, mailbox, name, specialUse, ifMissing: false, cancellationToken).ConfigureAwait(false))!);
            return (new FolderInfo(name, specialUse, false), changes.Where(c => c.Folder == name).ToList());
        }, cancellationToken).ConfigureAwait(false);
    }

    // Inserts a folder under a new UIDVALIDITY (and, unless it is a missing parent, ifMissing, queues its notification);
    // null when ifMissing and the name exists.
    private async Task<MailboxChange?> InsertFolderAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, UserMailbox mailbox, string name,
        SpecialUse specialUse, bool ifMissing, CancellationToken cancellationToken)
    {
        var uidValidity = await NewUidValidityAsync(connection, transaction, mailbox, cancellationToken).ConfigureAwait(false);
        using var insert = Command(connection, transaction, $"""
            INSERT INTO mail_folders (mailbox_id, name, special_use, uid_validity) VALUES ($1, $2, $3, $4)
            {(ifMissing ? "ON CONFLICT (mailbox_id, name) DO NOTHING" : "")} RETURNING id
            """, mailbox.Id, name, (int)specialUse, (long)uidValidity);
        if (await insert.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long id)
        {
            return null;
        }
        if (!ifMissing)
        {
            // The folder asked for, not the parents made for it: as this host's sessions hear it.
            await NotifyAsync(connection, transaction, FolderNotification(ChangeNotice.Created, mailbox.Id, id, uidValidity, name), cancellationToken).ConfigureAwait(false);
        }
        return new MailboxChange(MailboxChangeKind.FolderCreated, name, uidValidity, 0, 0);
    }

    // UIDVALIDITY values come from the clock and only rise per user, across hosts and restarts (RFC 9051 §2.3.1.1): a folder
    // created again under a name gets one that no client can have cached for it. Takes the user's row lock.
    private async Task<uint> NewUidValidityAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, UserMailbox mailbox, CancellationToken cancellationToken)
    {
        using var next = Command(connection, transaction, """
            UPDATE mail_mailboxes SET last_uid_validity = GREATEST(last_uid_validity + 1, $2) WHERE id = $1 RETURNING last_uid_validity
            """, mailbox.Id, _time.GetUtcNow().ToUnixTimeSeconds());
        var value = (long)(await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        return value is > 0 and <= uint.MaxValue
            ? (uint)value
            : throw new MailboxStoreException(MailboxStoreError.Unavailable, "The user's UIDVALIDITY values are used up.");
    }

    /// <inheritdoc />
    public async ValueTask SetSpecialUseAsync(string user, string folder, SpecialUse specialUse, CancellationToken cancellationToken = default)
    {
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        await Run(async () =>
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                if (await DurablyAsync(connection, "UPDATE mail_folders SET special_use = $3 WHERE mailbox_id = $1 AND name = $2", cancellationToken,
                    mailbox.Id, Normalize(folder), (int)specialUse).ConfigureAwait(false) == 0)
                {
                    throw NotFound(folder);
                }
                return true;
            }
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask RenameFolderAsync(string user, string folder, string newName, CancellationToken cancellationToken = default)
    {
        var to = ValidName(newName);
        var from = Normalize(folder);
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        await Changing(mailbox, async (connection, transaction) =>
        {
            await LockMailboxAsync(connection, transaction, mailbox, cancellationToken).ConfigureAwait(false);
            // The folder and everything below it, in id order, as a transfer locks them (a transfer between two of them on
            // another host must not deadlock with this); then the folder's row is read.
            using (var lockRows = Command(connection, transaction, """
                SELECT id FROM mail_folders WHERE mailbox_id = $1 AND (name = $2 OR left(name, length($2) + 1) = $2 || '/') ORDER BY id FOR UPDATE
                """, mailbox.Id, from))
            {
                await lockRows.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            var source = await LockFolderAsync(connection, transaction, mailbox, from, cancellationToken).ConfigureAwait(false);
            using (var exists = Command(connection, transaction, "SELECT 1 FROM mail_folders WHERE mailbox_id = $1 AND name = $2", mailbox.Id, to))
            {
                if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null)
                {
                    throw new MailboxStoreException(MailboxStoreError.FolderExists, $"Folder '{newName}' already exists.");
                }
            }
            if (from == InboxName)
            {
                return (true, await RenameInboxAsync(connection, transaction, mailbox, source, to, cancellationToken).ConfigureAwait(false));
            }
            // The folder and everything below it (missing parents of the new name are listed as \Noselect names).
            using (var rename = Command(connection, transaction, """
                UPDATE mail_folders SET name = $3 || substr(name, length($2) + 1)
                WHERE mailbox_id = $1 AND (name = $2 OR left(name, length($2) + 1) = $2 || '/')
                """, mailbox.Id, from, to))
            {
                try
                {
                    await rename.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
                {
                    throw new MailboxStoreException(MailboxStoreError.FolderExists, $"A folder below '{newName}' already exists.", ex);
                }
            }
            await NotifyAsync(connection, transaction, FolderNotification(ChangeNotice.Renamed, mailbox.Id, source.Id, source.UidValidity, from, to), cancellationToken).ConfigureAwait(false);
            return (true, new List<MailboxChange> { new(MailboxChangeKind.FolderRenamed, from, source.UidValidity, 0, 0, null, to) });
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DeleteFolderAsync(string user, string folder, CancellationToken cancellationToken = default)
    {
        var name = Normalize(folder);
        if (name == InboxName)
        {
            throw new MailboxStoreException(MailboxStoreError.NotAllowed, "INBOX cannot be deleted.");
        }
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        await Changing(mailbox, async (connection, transaction) =>
        {
            await LockMailboxAsync(connection, transaction, mailbox, cancellationToken).ConfigureAwait(false);
            var deleted = await LockFolderAsync(connection, transaction, mailbox, name, cancellationToken).ConfigureAwait(false);
            // Messages first, so that contents no other message shares go with them.
            using (var messages = Command(connection, transaction, """
                WITH gone AS (DELETE FROM mail_messages WHERE folder_id = $1 RETURNING content_id)
                SELECT array_agg(content_id) FROM gone
                """, deleted.Id))
            {
                if (await messages.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long[] contents)
                {
                    await DeleteUnusedContentsAsync(connection, transaction, contents, cancellationToken).ConfigureAwait(false);
                }
            }
            using (var delete = Command(connection, transaction, "DELETE FROM mail_folders WHERE id = $1", deleted.Id))
            {
                await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await NotifyAsync(connection, transaction, FolderNotification(ChangeNotice.Deleted, mailbox.Id, deleted.Id, deleted.UidValidity, name), cancellationToken).ConfigureAwait(false);
            return (true, new List<MailboxChange> { new(MailboxChangeKind.FolderDeleted, name, deleted.UidValidity, 0, 0) });
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> ListSubscriptionsAsync(string user, CancellationToken cancellationToken = default)
    {
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        return await Run(async () =>
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var select = Command(connection, null, "SELECT name FROM mail_subscriptions WHERE mailbox_id = $1", mailbox.Id);
                var names = new List<string>();
                var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        names.Add(reader.GetString(0));
                    }
                }
                names.Sort(StringComparer.Ordinal); // ordinal, not the database's collation
                return (IReadOnlyList<string>)names;
            }
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask AddSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default) =>
        ChangeSubscriptionAsync(user, folder, "INSERT INTO mail_subscriptions (mailbox_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", cancellationToken);

    /// <inheritdoc />
    public ValueTask RemoveSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default) =>
        ChangeSubscriptionAsync(user, folder, "DELETE FROM mail_subscriptions WHERE mailbox_id = $1 AND name = $2", cancellationToken);

    private async ValueTask ChangeSubscriptionAsync(string user, string folder, string sql, CancellationToken cancellationToken)
    {
        var name = ValidName(folder);
        var mailbox = await MailboxAsync(user, cancellationToken).ConfigureAwait(false);
        await Run(async () =>
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                return await DurablyAsync(connection, sql, cancellationToken, mailbox.Id, name).ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
    }

    // The user's row in this instance: the hub of its sessions, the gate its changes are published under, and its
    // mailbox id, found (or made, with its INBOX) on first use.
    private async ValueTask<UserMailbox> MailboxAsync(string user, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        var mailbox = Get(user);
        if (mailbox.Id == 0)
        {
            var id = await Run(() => EnsureMailboxAsync(mailbox.Login, cancellationToken)).ConfigureAwait(false);
            mailbox.Id = id;
            _byMailboxId[id] = mailbox;
        }
        return mailbox;
    }

    private UserMailbox Get(string user)
    {
        if (!UserName.TryNormalize(user, out var login) || !IsWellFormed(login))
        {
            throw new MailboxStoreException(MailboxStoreError.InvalidName, "The user name is not valid Unicode.");
        }
        return _users.GetOrAdd(login, (key, spelling) => new UserMailbox(key, spelling, HierarchySeparator), user);
    }

    private async Task<long> EnsureMailboxAsync(string login, CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using (var select = Command(connection, null, "SELECT id FROM mail_mailboxes WHERE login = $1", login))
            {
                if (await select.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long found)
                {
                    return found;
                }
            }
            // The user and its INBOX come together; a host making the same user at the same moment waits on the unique
            // login, then finds both.
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                await DurableCommit.ApplyAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                var uidValidity = _time.GetUtcNow().ToUnixTimeSeconds();
                using var insert = Command(connection, transaction, """
                    WITH made AS (
                        INSERT INTO mail_mailboxes (login, last_uid_validity) VALUES ($1, $2) ON CONFLICT (login) DO NOTHING RETURNING id),
                    inbox AS (
                        INSERT INTO mail_folders (mailbox_id, name, uid_validity) SELECT id, 'INBOX', $2 FROM made)
                    SELECT id FROM made
                    """, login, uidValidity);
                var made = await insert.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                if (made is long id)
                {
                    return id;
                }
            }
            using var again = Command(connection, null, "SELECT id FROM mail_mailboxes WHERE login = $1", login);
            return (long)(await again.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
    }

    private static async Task LockMailboxAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, UserMailbox mailbox, CancellationToken cancellationToken)
    {
        using var lockRow = Command(connection, transaction, "SELECT 1 FROM mail_mailboxes WHERE id = $1 FOR UPDATE", mailbox.Id);
        await lockRow.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // Locks a folder's row: every change to its messages holds it until commit, so UIDs and MODSEQs commit in order.
    private static async Task<FolderRow> LockFolderAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, UserMailbox mailbox, string name, CancellationToken cancellationToken)
    {
        using var select = Command(connection, transaction, $"SELECT {FolderRow.Columns} FROM mail_folders WHERE mailbox_id = $1 AND name = $2 FOR UPDATE", mailbox.Id, name);
        return await FolderRow.ReadOneAsync(select, cancellationToken).ConfigureAwait(false) ?? throw NotFound(name);
    }

    // Locks a folder's row found before without a lock: by its id, and it must still have its name (another host may have
    // renamed it, and made another folder under the name, meanwhile).
    private static async Task<FolderRow> LockFolderAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, FolderRow found, CancellationToken cancellationToken)
    {
        using var select = Command(connection, transaction, $"SELECT {FolderRow.Columns} FROM mail_folders WHERE id = $1 FOR UPDATE", found.Id);
        return await FolderRow.ReadOneAsync(select, cancellationToken).ConfigureAwait(false) is { } locked && locked.Name == found.Name ? locked : throw NotFound(found.Name);
    }

    private static async Task<FolderRow> FindFolderAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, UserMailbox mailbox, string name, CancellationToken cancellationToken)
    {
        using var select = Command(connection, transaction, $"SELECT {FolderRow.Columns} FROM mail_folders WHERE mailbox_id = $1 AND name = $2", mailbox.Id, name);
        return await FolderRow.ReadOneAsync(select, cancellationToken).ConfigureAwait(false) ?? throw NotFound(name);
    }

    // Contents no message refers to any more go (COPY shares them between messages of one user). The rows are locked first
    // (in id order), and the DELETE, a statement of its own, then sees what a transaction that held them committed: two
    // hosts expunging the last two copies from two folders at once cannot each leave the content to the other.
    private static async Task DeleteUnusedContentsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long[] contents, CancellationToken cancellationToken)
    {
        using (var lockRows = Command(connection, transaction, "SELECT id FROM mail_contents WHERE id = ANY($1) ORDER BY id FOR UPDATE", contents))
        {
            await lockRows.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        using var delete = Command(connection, transaction, """
            DELETE FROM mail_contents c WHERE c.id = ANY($1) AND NOT EXISTS (SELECT 1 FROM mail_messages m WHERE m.content_id = c.id)
            """, contents);
        await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static MailboxStoreException NotFound(string folder) => new(MailboxStoreError.FolderNotFound, $"Folder '{folder}' does not exist.");

    private static string Normalize(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return string.Equals(folder, InboxName, StringComparison.OrdinalIgnoreCase) ? InboxName : folder;
    }

    private string ValidName(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (folder.Length == 0 || folder.Length > MaxNameLength || folder[0] == HierarchySeparator || folder[^1] == HierarchySeparator
            || folder.Contains($"{HierarchySeparator}{HierarchySeparator}", StringComparison.Ordinal) || folder.Any(char.IsControl) || !IsWellFormed(folder))
        {
            throw new MailboxStoreException(MailboxStoreError.InvalidName, "Invalid folder name.");
        }
        return Normalize(folder);
    }

    // A lone surrogate has no UTF-8 form: stored, it would turn into U+FFFD and name another folder.
    private static bool IsWellFormed(string text)
    {
        try
        {
            _ = s_strictUtf8.GetByteCount(text);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // Database trouble is the store being unavailable: every engine answers it as a temporary failure.
    private static async Task<T> Run<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException { Source: "Npgsql" })
        {
            throw new MailboxStoreException(MailboxStoreError.Unavailable, "The mail database could not be read or written.", ex);
        }
    }

    // One statement committed durably (synchronous_commit = on for its transaction, whatever the server's default); returns
    // the rows it changed.
    private static async Task<int> DurablyAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            await DurableCommit.ApplyAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            using var statement = Command(connection, transaction, sql, parameters);
            var changed = await statement.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return changed;
        }
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, params object[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        return command;
    }

    /// <summary>Stops listening for other hosts' changes.</summary>
    public async ValueTask DisposeAsync() => await _listener.DisposeAsync().ConfigureAwait(false);

    /// <summary>Stops listening for other hosts' changes.</summary>
    public void Dispose() => _listener.Dispose();

    // What this instance knows of one user: the hub of its sessions, the gate under which its changes are made and published
    // (in the order they commit), and the folders it follows for those sessions.
    private sealed class UserMailbox(string login, string spelling, char separator)
    {
        public string Login { get; } = login;

        public long Id { get; set; }

        public MailboxChangeHub Changes { get; } = new(spelling, separator);

        public SemaphoreSlim Gate { get; } = new(1, 1);

        // Under Gate: by folder id, what has been published of each folder a session of this instance opened.
        public Dictionary<long, FollowedFolder> Followed { get; } = [];

        // Set when the first session subscribes: what was followed before may be stale.
        public volatile bool FollowedStale;
    }
}
