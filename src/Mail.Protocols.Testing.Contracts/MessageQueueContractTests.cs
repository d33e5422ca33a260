using System.Text;
using Mail.Protocols.Queue;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Mail.Protocols.Testing.Contracts;

/// <summary>
/// The <see cref="IMessageQueue"/> contract as tests: derive from this class, return a new, empty queue on the
/// given clock from <see cref="CreateQueue"/>, and every backend is held to the same lease semantics.
/// </summary>
public abstract class MessageQueueContractTests
{
    /// <summary>The content every test enqueues.</summary>
    protected static readonly byte[] s_content = Encoding.ASCII.GetBytes("Subject: queued\r\n\r\nbody\r\n");

    /// <summary>A new, empty queue whose leases and schedule follow <paramref name="time"/>.</summary>
    protected abstract IMessageQueue CreateQueue(TimeProvider time);

    /// <summary>A fake clock at a fixed start.</summary>
    protected static FakeTimeProvider Clock() => new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    /// <summary>An envelope with two recipients and DSN parameters.</summary>
    protected static QueueEnvelope Envelope(DateTimeOffset at) =>
        new("a@example.org", [new QueueRecipient("x@one.test", DsnNotify.Failure, "rfc822;x@one.test"), new QueueRecipient("y@two.test")], at, "env-1", DsnReturn.Headers, MessageBodyType.EightBitMime);

    [Fact]
    public async Task Enqueued_message_keeps_its_envelope_and_content()
    {
        var time = Clock();
        var queue = CreateQueue(time);
        var id = await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new MemoryStream(s_content));
        Assert.Equal(1, await queue.CountAsync());
        var lease = Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        Assert.Equal(id, lease.QueueId);
        Assert.Equal(Envelope(time.GetUtcNow()).Recipients, lease.Envelope.Recipients);
        Assert.Equal("env-1", lease.Envelope.EnvelopeId);
        Assert.Equal(DsnReturn.Headers, lease.Envelope.Return);
        Assert.All(lease.Recipients, r => Assert.Equal(RecipientState.Pending, r.State));
        await using var content = await queue.OpenContentAsync(id);
        var copy = new MemoryStream();
        await content.CopyToAsync(copy);
        Assert.Equal(s_content, copy.ToArray());
    }

    [Fact]
    public async Task The_oldest_entry_is_the_one_received_first_leased_or_not()
    {
        var time = Clock();
        var queue = CreateQueue(time);
        Assert.Null(await queue.GetOldestReceivedAtAsync());
        var first = time.GetUtcNow();
        await queue.EnqueueAsync(Envelope(first.AddHours(1)), new MemoryStream(s_content));
        await queue.EnqueueAsync(Envelope(first), new MemoryStream(s_content));
        Assert.Equal(first, await queue.GetOldestReceivedAtAsync());

        var leases = await queue.LeaseAsync(10, TimeSpan.FromMinutes(5));
        Assert.Equal(first, await queue.GetOldestReceivedAtAsync());
        await queue.CompleteAsync(leases.Single(lease => lease.Envelope.ReceivedAt == first));
        Assert.Equal(first.AddHours(1), await queue.GetOldestReceivedAtAsync());
        await queue.CompleteAsync(leases.Single(lease => lease.Envelope.ReceivedAt != first));
        Assert.Null(await queue.GetOldestReceivedAtAsync());
    }

    [Theory]
    [InlineData(65_536)]
    [InlineData(300_000)]
    public async Task A_large_message_from_a_stream_that_is_not_seekable_keeps_its_content(int size)
    {
        var time = Clock();
        var queue = CreateQueue(time);
        var message = TricklingStream.Message(size);

        var id = await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new TricklingStream(message, chunk: 1_000));

        await using var content = await queue.OpenContentAsync(id);
        var copy = new MemoryStream();
        await content.CopyToAsync(copy);
        Assert.Equal(message, copy.ToArray());
    }

    [Fact]
    public async Task Content_longer_than_its_stream_says_is_kept_whole_or_refused()
    {
        var time = Clock();
        var queue = CreateQueue(time);
        var message = TricklingStream.Message(70_000);
        try
        {
            var id = await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new UnderstatedLengthStream(message, statedLength: 1_000));
            await using var content = await queue.OpenContentAsync(id);
            var copy = new MemoryStream();
            await content.CopyToAsync(copy);
            Assert.Equal(message, copy.ToArray());
        }
        catch (InvalidDataException)
        {
            Assert.Equal(0, await queue.CountAsync()); // refused: nothing, and certainly not the first 1,000 octets
        }
    }

    [Fact]
    public async Task A_leased_entry_is_hidden_until_its_lease_expires_then_offered_again()
    {
        var time = Clock();
        var queue = CreateQueue(time);
        await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new MemoryStream(s_content));
        var first = Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        Assert.Empty(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        time.Advance(TimeSpan.FromMinutes(6));
        var second = Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        Assert.Equal(first.QueueId, second.QueueId);
        // The first worker's lease is stale: it can no longer complete the entry.
        await Assert.ThrowsAsync<MessageQueueException>(async () => await queue.CompleteAsync(first));
        await queue.CompleteAsync(second);
        Assert.Equal(0, await queue.CountAsync());
    }

    [Fact]
    public async Task Reschedule_keeps_per_recipient_state_and_hides_the_entry_until_due()
    {
        var time = Clock();
        var queue = CreateQueue(time);
        await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new MemoryStream(s_content));
        var lease = Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        var statuses = new[]
        {
            lease.Recipients[0] with { State = RecipientState.Delivered, LastReply = "250 2.0.0 ok", RemoteHost = "mx.one.test" },
            lease.Recipients[1] with { State = RecipientState.Pending, LastReply = "451 4.7.1 later", DsnPending = true },
        };
        await queue.RescheduleAsync(lease, statuses, time.GetUtcNow() + TimeSpan.FromMinutes(15));
        time.Advance(TimeSpan.FromMinutes(14));
        Assert.Empty(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        time.Advance(TimeSpan.FromMinutes(1));
        var again = Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        Assert.Equal(1, again.Attempts);
        Assert.Equal(RecipientState.Delivered, again.Recipients[0].State);
        Assert.Equal("451 4.7.1 later", again.Recipients[1].LastReply);
        Assert.Equal([false, true], again.Recipients.Select(r => r.DsnPending));
        await queue.GiveUpAsync(again, again.Recipients);
        Assert.Equal(0, await queue.CountAsync());
    }

    [Fact]
    public async Task Every_envelope_field_round_trips()
    {
        var time = Clock();
        var queue = CreateQueue(time);
        var bounce = new QueueEnvelope("", [new QueueRecipient("bob@example.org", DsnNotify.Never)], new DateTimeOffset(2026, 11, 29, 13, 14, 15, 678, TimeSpan.FromHours(-5)));
        var international = new QueueEnvelope("jörg@bücher.example",
            [
                new QueueRecipient("用户@例子.test", DsnNotify.Success | DsnNotify.Delay, "utf-8;\u7528\u6237@\u4F8B\u5B50.test"),
                new QueueRecipient("x@one.test", DsnNotify.Failure, "rfc822;x+2Bsub@one.test"),
                new QueueRecipient("y@two.test"),
            ],
            new DateTimeOffset(2026, 11, 30, 1, 2, 3, TimeSpan.FromMinutes(330)), "ENV+2B1", DsnReturn.Full, MessageBodyType.BinaryMime, SmtpUtf8: true,
            TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        var ids = new[] { await queue.EnqueueAsync(bounce, new MemoryStream(s_content)), await queue.EnqueueAsync(international, new MemoryStream(s_content)) };
        Assert.Equal(2, ids.Distinct().Count());

        var leases = (await queue.LeaseAsync(10, TimeSpan.FromMinutes(5))).ToDictionary(l => l.QueueId);
        AssertSame(bounce, leases[ids[0]].Envelope);
        AssertSame(international, leases[ids[1]].Envelope);
        Assert.Equal(international.Recipients, leases[ids[1]].Recipients.Select(r => r.Recipient));
        Assert.All(leases.Values, l => Assert.Equal(0, l.Attempts));
    }

    [Fact]
    public async Task A_remote_reply_with_any_characters_is_kept_as_it_came()
    {
        // A reply is the remote server's text: a NUL, a lone control character or a character beyond the BMP must not make
        // the entry impossible to reschedule (it would then be retried for ever and never bounce).
        var time = Clock();
        var queue = CreateQueue(time);
        await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new MemoryStream(s_content));
        var lease = Assert.Single(await queue.LeaseAsync(1, TimeSpan.FromMinutes(5)));
        const string Reply = "451 4.3.0 odd\0reply\u0001 \U0001F4E8 \u00E9";

        await queue.RescheduleAsync(lease, [.. lease.Recipients.Select(r => r with { LastReply = Reply, RemoteHost = "mx\0.one.test" })], time.GetUtcNow());

        var again = Assert.Single(await queue.LeaseAsync(1, TimeSpan.FromMinutes(5)));
        Assert.All(again.Recipients, r => Assert.Equal(Reply, r.LastReply));
        Assert.All(again.Recipients, r => Assert.Equal("mx\0.one.test", r.RemoteHost));
    }

    /// <summary>Field by field: the lists in a record compare by reference.</summary>
    protected static void AssertSame(QueueEnvelope expected, QueueEnvelope actual)
    {
        Assert.Equal(expected.ReversePath, actual.ReversePath);
        Assert.Equal(expected.Recipients, actual.Recipients);
        Assert.Equal(expected.ReceivedAt, actual.ReceivedAt);
        Assert.Equal(expected.ReceivedAt.Offset, actual.ReceivedAt.Offset);
        Assert.Equal(expected.EnvelopeId, actual.EnvelopeId);
        Assert.Equal(expected.Return, actual.Return);
        Assert.Equal(expected.Body, actual.Body);
        Assert.Equal(expected.SmtpUtf8, actual.SmtpUtf8);
        Assert.Equal(expected.TraceParent, actual.TraceParent);
    }

    [Fact]
    public async Task A_failed_or_cancelled_enqueue_stores_nothing()
    {
        var time = Clock();
        var queue = CreateQueue(time);
        await Assert.ThrowsAsync<IOException>(async () => await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new FailingStream()));
        using var cancellation = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new CancellingStream(cancellation), cancellation.Token));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new MemoryStream(s_content), cancelled.Token));

        Assert.Equal(0, await queue.CountAsync());
        Assert.Empty(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        var id = await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new MemoryStream(s_content));
        Assert.Equal(id, Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5))).QueueId);
    }

    [Fact]
    public async Task Expired_superseded_and_finished_leases_are_refused()
    {
        var time = Clock();
        var queue = CreateQueue(time);
        await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new MemoryStream(s_content));
        var first = Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        var pending = first.Recipients;

        // Expired, not yet taken by anyone: still refused, and the entry stays.
        time.Advance(TimeSpan.FromMinutes(5));
        await Assert.ThrowsAsync<MessageQueueException>(async () => await queue.CompleteAsync(first));
        await Assert.ThrowsAsync<MessageQueueException>(async () => await queue.RescheduleAsync(first, pending, time.GetUtcNow()));
        await Assert.ThrowsAsync<MessageQueueException>(async () => await queue.GiveUpAsync(first, pending));
        Assert.Equal(1, await queue.CountAsync());

        // Superseded by a second worker's lease.
        var second = Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        Assert.NotEqual(first.LeaseToken, second.LeaseToken);
        await Assert.ThrowsAsync<MessageQueueException>(async () => await queue.RescheduleAsync(first, pending, time.GetUtcNow()));
        await Assert.ThrowsAsync<MessageQueueException>(async () => await queue.GiveUpAsync(first, pending));
        Assert.Equal(1, await queue.CountAsync());

        // Ended by a reschedule: the lease that ended it is spent.
        await queue.RescheduleAsync(second, pending, time.GetUtcNow());
        await Assert.ThrowsAsync<MessageQueueException>(async () => await queue.CompleteAsync(second));
        await Assert.ThrowsAsync<MessageQueueException>(async () => await queue.RescheduleAsync(second, pending, time.GetUtcNow()));

        // Ended by completion: the entry is gone and so is its content.
        var third = Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        Assert.Equal(1, third.Attempts);
        await queue.CompleteAsync(third);
        await Assert.ThrowsAsync<MessageQueueException>(async () => await queue.CompleteAsync(third));
        await Assert.ThrowsAsync<MessageQueueException>(async () => await queue.OpenContentAsync(third.QueueId));
        Assert.Equal(0, await queue.CountAsync());
    }

    [Fact]
    public async Task Concurrent_leasers_never_get_the_same_entry()
    {
        const int Entries = 30, Leasers = 8;
        var time = Clock();
        var queue = CreateQueue(time);
        for (var i = 0; i < Entries; i++)
        {
            await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new MemoryStream(s_content));
        }
        var arrived = 0;
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var leasers = Enumerable.Range(0, Leasers).Select(_ => Task.Run(async () =>
        {
            // A barrier: every leaser is ready before any of them leases.
            if (Interlocked.Increment(ref arrived) == Leasers)
            {
                allArrived.SetResult();
            }
            await go.Task;
            var mine = new List<QueueLease>();
            while (await queue.LeaseAsync(2, TimeSpan.FromMinutes(5)) is { Count: > 0 } leases)
            {
                mine.AddRange(leases);
            }
            return mine;
        })).ToList();
        await allArrived.Task;
        go.SetResult();
        var leased = (await Task.WhenAll(leasers)).SelectMany(l => l).ToList();

        Assert.Equal(Entries, leased.Count);
        Assert.Equal(Entries, leased.Select(l => l.QueueId).Distinct().Count());
        foreach (var lease in leased)
        {
            await queue.CompleteAsync(lease); // every lease is the one the queue holds
        }
        Assert.Equal(0, await queue.CountAsync());
    }

    [Fact]
    public async Task Due_entries_are_leased_earliest_first()
    {
        var time = Clock();
        var queue = CreateQueue(time);
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new MemoryStream(s_content)));
        }
        var leases = (await queue.LeaseAsync(10, TimeSpan.FromMinutes(5))).ToDictionary(l => l.QueueId);
        var start = time.GetUtcNow();
        int[] minutes = [30, 10, 40, 20];
        for (var i = 0; i < ids.Count; i++)
        {
            await queue.RescheduleAsync(leases[ids[i]], leases[ids[i]].Recipients, start + TimeSpan.FromMinutes(minutes[i]));
        }
        var fresh = await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new MemoryStream(s_content)); // due now

        time.Advance(TimeSpan.FromMinutes(25));
        Assert.Equal([fresh, ids[1], ids[3]], (await queue.LeaseAsync(10, TimeSpan.FromHours(1))).Select(l => l.QueueId));
        time.Advance(TimeSpan.FromMinutes(20));
        var order = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            order.Add(Assert.Single(await queue.LeaseAsync(1, TimeSpan.FromHours(1))).QueueId);
        }
        Assert.Equal([ids[0], ids[2]], order);
    }

    [Fact]
    public async Task Content_of_an_unknown_entry_is_refused()
    {
        var queue = CreateQueue(Clock());
        await Assert.ThrowsAsync<MessageQueueException>(async () => await queue.OpenContentAsync("no-such-entry"));
    }

    [Fact]
    public async Task Lease_returns_at_most_the_number_asked_for()
    {
        var time = Clock();
        var queue = CreateQueue(time);
        for (var i = 0; i < 5; i++)
        {
            await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new MemoryStream(s_content));
        }
        Assert.Equal(3, (await queue.LeaseAsync(3, TimeSpan.FromMinutes(5))).Count);
        Assert.Equal(2, (await queue.LeaseAsync(3, TimeSpan.FromMinutes(5))).Count);
        Assert.Equal(5, await queue.CountAsync());
    }
}
