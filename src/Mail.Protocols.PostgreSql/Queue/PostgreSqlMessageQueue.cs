using System.Text.Json;
using System.Text.Json.Serialization;
using Mail.Protocols.PostgreSql.Content;
using Mail.Protocols.Queue;
using Npgsql;
using NpgsqlTypes;

namespace Mail.Protocols.PostgreSql.Queue;

/// <summary>
/// An <see cref="IMessageQueue"/> in PostgreSQL that several hosts drain together: a lease is taken with
/// <c>FOR UPDATE SKIP LOCKED</c>, so two hosts never hold one entry, and every change is checked against the lease token
/// and its expiry in the same statement. An entry is on disk (committed) when <see cref="EnqueueAsync"/> returns; its
/// content is written and read in chunks (<c>mail_queue_content</c>), never whole.
/// </summary>
/// <remarks>
/// The clock is the <see cref="TimeProvider"/>'s, not the database's: schedules and leases follow the hosts' clocks, which
/// must agree (as NTP keeps them) within a small part of a lease. The tables come from <see cref="Schema.PostgreSqlSchema"/>:
/// apply it before the first use.
/// </remarks>
/// <param name="dataSource">Where connections come from (pooling, TLS and credentials are its business).</param>
/// <param name="timeProvider">The clock of schedules and leases; the system's by default.</param>
public sealed class PostgreSqlMessageQueue(NpgsqlDataSource dataSource, TimeProvider? timeProvider = null) : IMessageQueue
{
    private const string ContentTable = "mail_queue_content";
    private readonly NpgsqlDataSource _dataSource = dataSource ?? throw new ArgumentNullException(nameof(dataSource));
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    /// <inheritdoc />
    public async ValueTask<string> EnqueueAsync(QueueEnvelope envelope, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(content);
        var id = Guid.CreateVersion7().ToString("N");
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        // Content and entry commit together or not at all: a stream that fails or is cancelled leaves nothing.
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        // Committed means on disk before the SMTP server says 250, whatever the database's or role's default is.
        await DurableCommit.ApplyAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        var length = await ContentChunks.WriteAsync(connection, transaction, ContentTable, id, content, cancellationToken).ConfigureAwait(false);
        using (var insert = new NpgsqlCommand("""
            INSERT INTO mail_queue (id, envelope, recipients, next_attempt, received_at, content_length)
            VALUES ($1, $2, $3, $4, $5, $6)
            """, connection, transaction))
        {
            var now = _time.GetUtcNow().ToUniversalTime();
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
            insert.Parameters.Add(Json(JsonSerializer.Serialize(envelope, QueueJson.Default.QueueEnvelope)));
            insert.Parameters.Add(Json(Serialize([.. envelope.Recipients.Select(r => new RecipientStatus(r, RecipientState.Pending))])));
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = envelope.ReceivedAt.ToUniversalTime() });
            insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = length });
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return id;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<QueueLease>> LeaseAsync(int maxEntries, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEntries);
        var now = _time.GetUtcNow().ToUniversalTime();
        var token = Guid.NewGuid().ToString("N");
        var expires = now + leaseDuration;
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        // In a transaction: an error or a cancellation while the rows are read leaves the entries unleased, not hidden.
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        // The due entries are locked as they are chosen; an entry another host is leasing right now is skipped, not waited for.
        using var lease = new NpgsqlCommand("""
            UPDATE mail_queue q SET lease_token = $1, lease_expires = $2
            FROM (SELECT id FROM mail_queue WHERE next_attempt <= $3 AND lease_expires <= $3
                  ORDER BY next_attempt, id LIMIT $4 FOR UPDATE SKIP LOCKED) due
            WHERE q.id = due.id
            RETURNING q.id, q.envelope::text, q.recipients::text, q.attempts, q.next_attempt
            """, connection, transaction);
        lease.Parameters.Add(new NpgsqlParameter<string> { TypedValue = token });
        lease.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = expires });
        lease.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        lease.Parameters.Add(new NpgsqlParameter<int> { TypedValue = maxEntries });
        var leased = new List<(DateTimeOffset Due, QueueLease Lease)>();
        var unreadable = new List<string>();
        var reader = await lease.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var id = reader.GetString(0);
                if (Read(reader.GetString(1), reader.GetString(2)) is { } entry)
                {
                    leased.Add((reader.GetFieldValue<DateTimeOffset>(4), new QueueLease(id, token, entry.Envelope, entry.Recipients, reader.GetInt32(3), expires)));
                }
                else
                {
                    unreadable.Add(id);
                }
            }
        }
        if (unreadable.Count > 0)
        {
            // Not this host's to deliver (written by a newer version, or damaged by hand): parked, never due, for a person
            // to look at (next_attempt = 'infinity'), rather than spoiling every batch it falls into.
            using var park = new NpgsqlCommand(
                "UPDATE mail_queue SET next_attempt = 'infinity', lease_token = NULL, lease_expires = '-infinity' WHERE id = ANY($1)", connection, transaction);
            park.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. unreadable] });
            await park.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        // RETURNING gives no order: the leases go out as they were chosen.
        return [.. leased.OrderBy(l => l.Due).ThenBy(l => l.Lease.QueueId, StringComparer.Ordinal).Select(l => l.Lease)];
    }

    // An entry's envelope and recipients, or null when the JSON is not one this version reads.
    private static (QueueEnvelope Envelope, RecipientStatus[] Recipients)? Read(string envelopeJson, string recipientsJson)
    {
        try
        {
            return JsonSerializer.Deserialize(envelopeJson, QueueJson.Default.QueueEnvelope) is { ReversePath: not null, Recipients: not null } envelope
                && JsonSerializer.Deserialize(recipientsJson, QueueJson.Default.RecipientStatusArray) is { } recipients
                && recipients.All(r => r is { Recipient.Address: not null })
                ? (envelope, recipients)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async ValueTask<Stream> OpenContentAsync(string queueId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queueId);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        using var select = new NpgsqlCommand("SELECT content_length FROM mail_queue WHERE id = $1", connection);
        select.Parameters.Add(new NpgsqlParameter<string> { TypedValue = queueId });
        return await select.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long length
            ? new ChunkedContentStream<string>(_dataSource, ContentTable, queueId, length)
            : throw new MessageQueueException($"No queue entry {queueId}.");
    }

    /// <inheritdoc />
    public ValueTask CompleteAsync(QueueLease lease, CancellationToken cancellationToken = default) => RemoveAsync(lease, cancellationToken);

    /// <inheritdoc />
    /// <remarks>The entry is removed with its content: the results were for the caller's bounce, which it has produced.</remarks>
    public ValueTask GiveUpAsync(QueueLease lease, IReadOnlyList<RecipientStatus> recipients, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        return RemoveAsync(lease, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask RescheduleAsync(QueueLease lease, IReadOnlyList<RecipientStatus> recipients, DateTimeOffset nextAttempt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(recipients);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        using var update = new NpgsqlCommand("""
            UPDATE mail_queue SET recipients = $4, attempts = attempts + 1, next_attempt = $5, lease_token = NULL, lease_expires = '-infinity'
            WHERE id = $1 AND lease_token = $2 AND lease_expires > $3
            """, connection);
        AddLease(update, lease);
        update.Parameters.Add(Json(Serialize([.. recipients])));
        update.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = nextAttempt.ToUniversalTime() });
        await HeldAsync(update, lease, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<int> CountAsync(CancellationToken cancellationToken = default)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        using var count = new NpgsqlCommand("SELECT count(*) FROM mail_queue", connection);
        return (int)(long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async ValueTask<DateTimeOffset?> GetOldestReceivedAtAsync(CancellationToken cancellationToken = default)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        // The column finds it; the envelope gives its exact value (the column keeps microseconds and no offset).
        using var oldest = new NpgsqlCommand("SELECT envelope::text FROM mail_queue ORDER BY received_at LIMIT 1", connection);
        return await oldest.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json
            && JsonSerializer.Deserialize(json, QueueJson.Default.QueueEnvelope) is { } envelope
            ? envelope.ReceivedAt
            : null;
    }

    private async ValueTask RemoveAsync(QueueLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        using var delete = new NpgsqlCommand("DELETE FROM mail_queue WHERE id = $1 AND lease_token = $2 AND lease_expires > $3", connection);
        AddLease(delete, lease);
        await HeldAsync(delete, lease, cancellationToken).ConfigureAwait(false);
    }

    // $1, $2, $3: the entry, the lease's token, and now (a lease that ran out is not held, even before another took it).
    private void AddLease(NpgsqlCommand command, QueueLease lease)
    {
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = lease.QueueId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = lease.LeaseToken });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = _time.GetUtcNow().ToUniversalTime() });
    }

    private static async Task HeldAsync(NpgsqlCommand command, QueueLease lease, CancellationToken cancellationToken)
    {
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
        {
            throw new MessageQueueException($"The lease on {lease.QueueId} is not held.");
        }
    }

    private static string Serialize(RecipientStatus[] recipients) => JsonSerializer.Serialize(recipients, QueueJson.Default.RecipientStatusArray);

    // json, not jsonb: jsonb refuses U+0000, which a remote server's reply (LastReply) may carry.
    private static NpgsqlParameter Json(string json) => new() { Value = json, NpgsqlDbType = NpgsqlDbType.Json };
}

/// <summary>The JSON of envelopes and recipient states in the queue's json columns (enums by name, nulls left out).</summary>
[JsonSourceGenerationOptions(UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(QueueEnvelope))]
[JsonSerializable(typeof(RecipientStatus[]))]
internal sealed partial class QueueJson : JsonSerializerContext;
