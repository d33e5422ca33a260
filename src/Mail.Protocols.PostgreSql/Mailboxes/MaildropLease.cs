using Npgsql;

namespace Mail.Protocols.PostgreSql.Mailboxes;

/// <summary>
/// A user's maildrop lease (RFC 1939 §8) as a PostgreSQL session advisory lock, held on a connection of its own: it excludes
/// POP3 sessions of every host on the database, and ends with its connection if the host dies.
/// </summary>
internal sealed class MaildropLease : IDisposable
{
    // The lock's key: the backends' own high bits ("MP") and the mailbox's id, so no other lock of this package shares it.
    private const long KeySpace = 0x4D50L << 48;
    private readonly NpgsqlConnection _connection;
    private readonly long _key;
    private int _disposed;

    private MaildropLease(NpgsqlConnection connection, long key) => (_connection, _key) = (connection, key);

    public static async Task<IDisposable?> TryAcquireAsync(NpgsqlDataSource dataSource, long mailboxId, CancellationToken cancellationToken)
    {
        var key = KeySpace | mailboxId;
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var take = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", connection);
            take.Parameters.Add(new NpgsqlParameter<long> { TypedValue = key });
            if (await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true)
            {
                return new MaildropLease(connection, key);
            }
        }
        catch
        {
            // The server may have taken the lock before the failure (a cancellation): let go of it, if the connection still
            // answers, before it goes back to the pool (a broken one is not put back).
            ReleaseAll(connection);
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        await connection.DisposeAsync().ConfigureAwait(false);
        return null;
    }

    // Best effort: the connection goes back to the pool next, where Npgsql's reset (DISCARD ALL) would let go of the lock
    // only when the connection is used again.
    private static void ReleaseAll(NpgsqlConnection connection)
    {
        try
        {
            using var release = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", connection);
            release.ExecuteNonQuery();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            // Unlocked before the connection goes back to the pool, which would otherwise keep the lock with it.
            using var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", _connection);
            release.Parameters.Add(new NpgsqlParameter<long> { TypedValue = _key });
            release.ExecuteNonQuery();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            // A broken connection is not put back in the pool, and its session, with the lock, ends with it; one that only
            // did not answer in time is asked once more, for every lock it holds.
            ReleaseAll(_connection);
        }
        finally
        {
            _connection.Dispose();
        }
    }
}
