using System.Data.Common;
using Mail.Protocols.Storage;
using Npgsql;

namespace Mail.Protocols.PostgreSql.Mailboxes;

/// <summary>A row of <c>mail_folders</c>, as a statement selecting <see cref="Columns"/> reads it.</summary>
internal sealed record FolderRow(long Id, string Name, uint UidValidity, uint UidNext, ulong HighestModSeq, ulong ExpungesRememberedAfter, int ExpungesKept)
{
    public const string Columns = "id, name, uid_validity, uid_next, highest_modseq, expunges_remembered_after, expunges_kept";

    public static FolderRow Read(DbDataReader reader) => new(
        reader.GetInt64(0), reader.GetString(1), (uint)reader.GetInt64(2), (uint)Math.Min(reader.GetInt64(3), uint.MaxValue),
        (ulong)reader.GetInt64(4), (ulong)reader.GetInt64(5), reader.GetInt32(6));

    public static async Task<FolderRow?> ReadOneAsync(NpgsqlCommand select, CancellationToken cancellationToken)
    {
        var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Read(reader) : null;
        }
    }
}

/// <summary>The columns of <c>mail_messages</c> that make a <see cref="MessageInfo"/>, and how they are read and written.</summary>
internal static class MessageRows
{
    public const string Columns = "uid, flags, keywords, internal_date, internal_date_offset, size, modseq";


    public static MessageInfo Read(DbDataReader reader)
    {
        var offset = TimeSpan.FromMinutes(reader.GetInt16(4));
        var date = new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(3), DateTimeKind.Utc)).ToOffset(offset);
        return new MessageInfo((uint)reader.GetInt64(0), (MessageFlags)reader.GetInt32(1), reader.GetFieldValue<string[]>(2), date, reader.GetInt64(5), (ulong)reader.GetInt64(6));
    }

    /// <summary>Every row <paramref name="select"/> (selecting <see cref="Columns"/>) returns, in its order.</summary>
    public static async Task<List<MessageInfo>> ReadAllAsync(NpgsqlCommand select, CancellationToken cancellationToken)
    {
        var messages = new List<MessageInfo>();
        var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                messages.Add(Read(reader));
            }
        }
        return messages;
    }

    // The offset in whole minutes (every real zone's is), within smallint.
    public static short Offset(DateTimeOffset date) => (short)Math.Clamp(date.Offset.TotalMinutes, short.MinValue, short.MaxValue);
}
