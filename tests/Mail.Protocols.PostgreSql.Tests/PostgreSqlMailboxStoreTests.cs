using System.Text;
using Mail.Protocols.PostgreSql.Content;
using Mail.Protocols.PostgreSql.Mailboxes;
using Mail.Protocols.PostgreSql.Schema;
using Mail.Protocols.Storage;
using Npgsql;

namespace Mail.Protocols.PostgreSql.Tests;

/// <summary>What the PostgreSQL store does beyond the contract: content over many chunk rows, copies sharing it, bounded expunges.</summary>
public sealed class PostgreSqlMailboxStoreTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private const string User = "alice@example.test";

    private async Task<(NpgsqlDataSource Source, PostgreSqlMailboxStore Store)> StoreAsync(int expungesKept = ExpungedUidLog.DefaultCapacity)
    {
        var source = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());
        await PostgreSqlSchema.ApplyAsync(source);
        return (source, new PostgreSqlMailboxStore(source, expungesKept: expungesKept));
    }

    // A message of the given length: a header, then lines of text whose every octet says where it is.
    private static byte[] Message(int length)
    {
        var header = Encoding.ASCII.GetBytes("From: bob@example.org\r\nSubject: large\r\nContent-Type: text/plain\r\n\r\n");
        var octets = new byte[length];
        header.CopyTo(octets, 0);
        for (var i = header.Length; i < length; i++)
        {
            octets[i] = (i % 100) switch { 98 => (byte)'\r', 99 => (byte)'\n', _ => (byte)('a' + (i / 100 % 26)) };
        }
        return octets;
    }

    private async Task<long> CountAsync(NpgsqlDataSource source, string table)
    {
        await using var count = source.CreateCommand($"SELECT count(*) FROM {table}");
        return (long)(await count.ExecuteScalarAsync())!;
    }

    [Theory]
    [InlineData(ContentChunks.ChunkSize)] // exactly one full row, then an empty read
    [InlineData(ContentChunks.ChunkSize * 2 + 12345)]
    public async Task Content_over_several_chunk_rows_reads_back_whole_from_any_position_and_is_summarised_when_asked(int length)
    {
        var (source, store) = await StoreAsync();
        await using var _ = source;
        using var __ = store;
        var octets = Message(length);
        var appended = await store.AppendAsync(User, "INBOX", new MemoryStream(octets));
        Assert.Equal(length, appended.Size);

        await using (var content = await store.OpenContentAsync(User, "INBOX", appended.Uid))
        {
            var copy = new MemoryStream();
            await content.CopyToAsync(copy);
            Assert.Equal(octets, copy.ToArray());
            content.Position = ContentChunks.ChunkSize - 3; // across a row's end (or to the end)
            var around = new byte[Math.Min(6, length - (ContentChunks.ChunkSize - 3))];
            await content.ReadExactlyAsync(around);
            Assert.Equal(octets.AsSpan(ContentChunks.ChunkSize - 3, around.Length).ToArray(), around);
            content.Position = length;
            Assert.Equal(0, await content.ReadAsync(new byte[1]));
        }
        // Not parsed at the append (longer than a row): parsed now, a chunk at a time, and kept.
        await using (var stored = source.CreateCommand("SELECT summary IS NULL FROM mail_contents"))
        {
            Assert.Equal(true, await stored.ExecuteScalarAsync());
        }
        var summary = await store.GetSummaryAsync(User, "INBOX", appended.Uid);
        Assert.Equal("large", summary.Envelope.Subject);
        Assert.Equal(length, summary.Body.EndOffset);
        await using (var stored = source.CreateCommand("SELECT summary IS NULL FROM mail_contents"))
        {
            Assert.Equal(false, await stored.ExecuteScalarAsync());
        }
    }

    [Fact]
    public async Task Copies_share_their_content_which_goes_with_the_last_of_them()
    {
        var (source, store) = await StoreAsync();
        await using var _ = source;
        using var __ = store;
        await store.CreateFolderAsync(User, "Archive");
        var original = await store.AppendAsync(User, "INBOX", new MemoryStream(Message(ContentChunks.ChunkSize + 10)));
        var copied = await store.CopyAsync(User, "INBOX", [original.Uid], "Archive");
        Assert.Equal((1L, 2L), (await CountAsync(source, "mail_contents"), await CountAsync(source, "mail_content_chunks")));

        await store.ExpungeAsync(User, "INBOX", [original.Uid]);
        await using (var content = await store.OpenContentAsync(User, "Archive", copied.TargetUids[0]))
        {
            Assert.Equal(ContentChunks.ChunkSize + 10, content.Length);
        }
        Assert.Equal(1L, await CountAsync(source, "mail_contents"));

        await store.DeleteFolderAsync(User, "Archive");
        Assert.Equal((0L, 0L), (await CountAsync(source, "mail_contents"), await CountAsync(source, "mail_content_chunks")));
    }

    [Fact]
    public async Task Expunges_past_the_bound_are_forgotten_an_eighth_at_once_and_said_to_be()
    {
        var (source, store) = await StoreAsync(expungesKept: 16);
        await using var _ = source;
        using var __ = store;
        var before = (await store.GetStatusAsync(User, "INBOX")).HighestModSeq;
        var uids = new List<uint>();
        for (var i = 0; i < 20; i++)
        {
            uids.Add((await store.AppendAsync(User, "INBOX", new MemoryStream(Message(200)))).Uid);
        }
        var afterAppends = (await store.GetStatusAsync(User, "INBOX")).HighestModSeq;
        foreach (var uid in uids)
        {
            await store.ExpungeAsync(User, "INBOX", [uid]);
        }

        // 20 expunged, 16 kept at least: the oldest went, so the oldest MODSEQs are no longer answered for.
        var kept = await CountAsync(source, "mail_expunges");
        Assert.InRange(kept, 16, 18);
        Assert.False((await store.GetExpungedSinceAsync(User, "INBOX", before)).Remembered);
        var recent = await store.GetExpungedSinceAsync(User, "INBOX", afterAppends + 4);
        Assert.True(recent.Remembered);
        Assert.Equal(uids.Skip(4), recent.Uids);
    }
}
