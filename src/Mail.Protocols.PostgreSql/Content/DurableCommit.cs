using Npgsql;

namespace Mail.Protocols.PostgreSql.Content;

/// <summary>
/// Every transaction that stores mail commits to disk (and to a synchronous standby, if one is configured) before the
/// reply that says it was taken, whatever the server's or role's <c>synchronous_commit</c> default is: it sets the setting
/// for itself, first.
/// </summary>
internal static class DurableCommit
{
    public const string Sql = "SET LOCAL synchronous_commit = on";

    /// <summary>The setting as the first statement of a batch.</summary>
    public static NpgsqlBatchCommand BatchCommand() => new(Sql);

    /// <summary>Sets it for <paramref name="transaction"/>.</summary>
    public static async Task ApplyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(Sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
