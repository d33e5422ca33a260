using System.Collections.Concurrent;
using Mail.Protocols.PostgreSql.Content;
using Mail.Protocols.PostgreSql.Queue;
using Mail.Protocols.PostgreSql.Schema;
using Mail.Protocols.Queue;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Mail.Protocols.PostgreSql.Tests;

/// <summary>What the PostgreSQL queue adds to the contract: hosts sharing one database, and content in chunks.</summary>
public sealed class PostgreSqlQueueTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private static readonly FakeTimeProvider s_time = new(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));

    private static QueueEnvelope Envelope(int i) => new($"sender{i}@example.org", [new QueueRecipient($"r{i}@remote.test")], s_time.GetUtcNow());

    [Fact]
    public async Task Hosts_draining_one_queue_together_each_take_every_entry_once()
    {
        var connectionString = await server.CreateDatabaseAsync();
        var hosts = Enumerable.Range(0, 4).Select(_ => NpgsqlDataSource.Create(connectionString)).ToList();
        try
        {
            await PostgreSqlSchema.ApplyAsync(hosts[0]);
            var enqueued = new HashSet<string>();
            var queue = new PostgreSqlMessageQueue(hosts[0], s_time);
            for (var i = 0; i < 200; i++)
            {
                enqueued.Add(await queue.EnqueueAsync(Envelope(i), new MemoryStream([(byte)'x'])));
            }

            // Each host leases small batches as fast as it can and completes what it got, on connections of its own.
            var taken = new ConcurrentBag<(int Host, string Id)>();
            await Task.WhenAll(hosts.Select((source, host) => Task.Run(async () =>
            {
                var own = new PostgreSqlMessageQueue(source, s_time);
                while (await own.LeaseAsync(7, TimeSpan.FromMinutes(5)) is { Count: > 0 } leases)
                {
                    foreach (var lease in leases)
                    {
                        taken.Add((host, lease.QueueId));
                        await own.CompleteAsync(lease);
                    }
                }
            })));

            Assert.Equal(enqueued.Order(), taken.Select(t => t.Id).Order()); // every entry, none twice
            Assert.True(taken.Select(t => t.Host).Distinct().Count() > 1, "the hosts did not share the work");
            Assert.Equal(0, await queue.CountAsync());
        }
        finally
        {
            foreach (var source in hosts)
            {
                await source.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task An_entry_this_version_cannot_read_is_parked_and_the_rest_of_the_batch_is_leased()
    {
        await using var source = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());
        await PostgreSqlSchema.ApplyAsync(source);
        var time = new FakeTimeProvider(s_time.GetUtcNow());
        var queue = new PostgreSqlMessageQueue(source, time);
        var odd = await queue.EnqueueAsync(Envelope(1), new MemoryStream([(byte)'x']));
        var good = await queue.EnqueueAsync(Envelope(2), new MemoryStream([(byte)'y']));
        // As a newer version might write it: a state this version has no name for.
        await using (var damage = source.CreateCommand($"UPDATE mail_queue SET recipients = '[{{\"Recipient\":{{\"Address\":\"r1@remote.test\"}},\"State\":\"Quarantined\"}}]' WHERE id = '{odd}'"))
        {
            await damage.ExecuteNonQueryAsync();
        }

        var leased = Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        Assert.Equal(good, leased.QueueId);
        await queue.CompleteAsync(leased);

        time.Advance(TimeSpan.FromDays(30));
        Assert.Empty(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5))); // parked, not due again
        Assert.Equal(1, await queue.CountAsync()); // and not lost: a person decides
    }

    [Fact]
    public async Task Content_of_several_chunks_reads_back_from_any_position_and_is_gone_with_its_entry()
    {
        await using var source = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());
        await PostgreSqlSchema.ApplyAsync(source);
        var queue = new PostgreSqlMessageQueue(source, s_time);
        var message = new byte[(2 * ContentChunks.ChunkSize) + 1234];
        Random.Shared.NextBytes(message);
        var id = await queue.EnqueueAsync(Envelope(1), new MemoryStream(message));
        await using (var rows = source.CreateCommand($"SELECT count(*) FROM mail_queue_content WHERE id = '{id}'"))
        {
            Assert.Equal(3L, await rows.ExecuteScalarAsync());
        }

        await using (var content = await queue.OpenContentAsync(id))
        {
            Assert.Equal(message.Length, content.Length);
            content.Seek(ContentChunks.ChunkSize + 17, SeekOrigin.Begin);
            var middle = new byte[ContentChunks.ChunkSize]; // across the second and third chunk
            await content.ReadExactlyAsync(middle);
            Assert.Equal(message.AsSpan(ContentChunks.ChunkSize + 17, ContentChunks.ChunkSize).ToArray(), middle);
            content.Position = 0;
            var copy = new MemoryStream();
            await content.CopyToAsync(copy);
            Assert.Equal(message, copy.ToArray());
        }

        await using var reading = await queue.OpenContentAsync(id);
        await queue.CompleteAsync(Assert.Single(await queue.LeaseAsync(1, TimeSpan.FromMinutes(5))));
        await Assert.ThrowsAsync<IOException>(() => reading.ReadAsync(new byte[10]).AsTask());
        await Assert.ThrowsAsync<MessageQueueException>(() => queue.OpenContentAsync(id).AsTask());
        await using var left = source.CreateCommand("SELECT count(*) FROM mail_queue_content");
        Assert.Equal(0L, await left.ExecuteScalarAsync());
    }
}
