using System.Text;
using Mail.Protocols.Maildir.Queue;
using Mail.Protocols.Queue;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Maildir.Tests.Queue;

/// <summary>What the file queue adds to the contract: a restart, a damaged entry, and two instances sharing a directory.</summary>
public sealed class FileMessageQueueTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    public void Dispose() => _directory.Dispose();

    private FileMessageQueue Open() => new(_directory.Path, _time);

    private QueueEnvelope Envelope(int i) =>
        new("alice@example.test", [new QueueRecipient($"r{i}@remote.test", DsnNotify.Success | DsnNotify.Failure, $"rfc822;r{i}@remote.test")], _time.GetUtcNow(),
            $"env{i}", DsnReturn.Full, MessageBodyType.BinaryMime, SmtpUtf8: true);

    private static MemoryStream Content(int i) => new(Encoding.ASCII.GetBytes($"Subject: {i}\r\n\r\nbody\r\n"));

    // An entry as the first (reflection-based) writer left it: enums by name, a flags value as a list, nulls left out.
    // The generated serializer must read it and write the same text back, or an upgrade would strand queued mail.
    private const string EarlierEntry =
        """{"Envelope":{"ReversePath":"alice@example.test","Recipients":[{"Address":"r1@remote.test","Notify":"Success, Failure","OriginalRecipient":"rfc822;r1@remote.test"}],"ReceivedAt":"2026-11-29T12:00:00+00:00","EnvelopeId":"env1","Return":"Headers","Body":"BinaryMime","SmtpUtf8":true},"Recipients":[{"Recipient":{"Address":"r1@remote.test","Notify":"Success, Failure","OriginalRecipient":"rfc822;r1@remote.test"},"State":"Pending","LastReply":"421 4.4.2 try later","LastAttempt":"2026-11-29T12:00:00+00:00","DsnPending":false}],"Attempts":1,"NextAttempt":"2026-11-29T12:15:00+00:00","LeaseExpires":"0001-01-01T00:00:00+00:00"}""";

    [Fact]
    public void An_entry_in_the_earlier_writer_s_format_reads_and_writes_back_the_same()
    {
        var entry = QueueEntryFile.Deserialize(Encoding.UTF8.GetBytes(EarlierEntry));

        Assert.Equal(DsnNotify.Success | DsnNotify.Failure, entry.Envelope.Recipients[0].Notify);
        Assert.Equal(DsnReturn.Headers, entry.Envelope.Return);
        Assert.Equal(MessageBodyType.BinaryMime, entry.Envelope.Body);
        Assert.Null(entry.Envelope.TraceParent);
        Assert.Null(entry.LeaseToken);
        Assert.Equal("421 4.4.2 try later", entry.Recipients[0].LastReply);
        Assert.Equal(EarlierEntry, Encoding.UTF8.GetString(entry.Serialize()));
    }

    [Fact]
    public async Task A_restart_keeps_entries_their_schedule_attempts_and_envelope()
    {
        string id;
        var envelope = Envelope(1);
        using (var queue = Open())
        {
            id = await queue.EnqueueAsync(envelope, Content(1));
            var lease = Assert.Single(await queue.LeaseAsync(1, TimeSpan.FromMinutes(5)));
            await queue.RescheduleAsync(lease, [lease.Recipients[0] with { LastReply = "421 4.4.2 try later", LastAttempt = _time.GetUtcNow() }], _time.GetUtcNow().AddMinutes(15));
        }
        using var restarted = Open();
        Assert.Equal(1, await restarted.CountAsync());
        Assert.Empty(await restarted.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        _time.Advance(TimeSpan.FromMinutes(15));
        var again = Assert.Single(await restarted.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        Assert.Equal(id, again.QueueId);
        Assert.Equal(1, again.Attempts);
        Assert.Equal("421 4.4.2 try later", again.Recipients[0].LastReply);
        Assert.Equal(envelope with { Recipients = again.Envelope.Recipients }, again.Envelope);
        Assert.Equal(envelope.Recipients, again.Envelope.Recipients);
    }

    [Fact]
    public async Task An_unreadable_entry_is_set_aside_with_a_warning_and_the_others_go_on()
    {
        using var queue = Open();
        var good = await queue.EnqueueAsync(Envelope(1), Content(1));
        var bad = await queue.EnqueueAsync(Envelope(2), Content(2));
        await File.WriteAllTextAsync(Path.Combine(_directory.Path, "env", bad + ".json"), "{\"Envelope\": tru");
        var lease = Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        Assert.Equal(good, lease.QueueId);
        Assert.True(File.Exists(Path.Combine(_directory.Path, "corrupt", bad + ".json")));
        Assert.Equal(1, await queue.CountAsync());
    }

    [Fact]
    public async Task Two_instances_sharing_a_directory_never_lease_the_same_entry_twice()
    {
        using var first = Open();
        using var second = Open();
        var ids = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            ids.Add(await (i % 2 == 0 ? first : second).EnqueueAsync(Envelope(i), Content(i)));
        }
        var leased = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Task.WhenAll(new[] { first, second }.Select(queue => Task.Run(async () =>
        {
            for (var round = 0; round < 20; round++)
            {
                foreach (var lease in await queue.LeaseAsync(3, TimeSpan.FromMinutes(5)))
                {
                    leased.Add(lease.QueueId);
                }
            }
        })));
        Assert.Equal(ids.Order(StringComparer.Ordinal), leased.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_lease_taken_over_after_expiry_by_another_instance_cannot_be_completed_by_the_first()
    {
        using var first = Open();
        using var second = Open();
        await first.EnqueueAsync(Envelope(1), Content(1));
        var stale = Assert.Single(await first.LeaseAsync(1, TimeSpan.FromMinutes(1)));
        _time.Advance(TimeSpan.FromMinutes(2));
        var current = Assert.Single(await second.LeaseAsync(1, TimeSpan.FromMinutes(5)));
        await Assert.ThrowsAsync<MessageQueueException>(async () => await first.RescheduleAsync(stale, stale.Recipients, _time.GetUtcNow()));
        await second.CompleteAsync(current);
        Assert.Equal(0, await first.CountAsync());
        Assert.Empty(Directory.GetFiles(Path.Combine(_directory.Path, "msg")));
    }
}
