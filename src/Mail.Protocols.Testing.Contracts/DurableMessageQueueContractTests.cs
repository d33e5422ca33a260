using Mail.Protocols.Queue;
using Xunit;

namespace Mail.Protocols.Testing.Contracts;

/// <summary>
/// The <see cref="IMessageQueue"/> contract for a durable queue: everything in <see cref="MessageQueueContractTests"/>,
/// and what must survive a restart. Derive from this class instead when your queue keeps its entries across
/// processes, and implement <see cref="Reopen"/>; the in-memory queue derives from <see cref="MessageQueueContractTests"/>.
/// </summary>
public abstract class DurableMessageQueueContractTests : MessageQueueContractTests
{
    /// <summary>
    /// Opens the storage of <paramref name="queue"/> (made by <see cref="MessageQueueContractTests.CreateQueue"/>) again as a
    /// new instance on <paramref name="time"/>, as a restarted process would. Release what the old instance holds first.
    /// </summary>
    protected abstract IMessageQueue Reopen(IMessageQueue queue, TimeProvider time);

    [Fact]
    public async Task Entries_their_state_schedule_and_leases_survive_a_restart()
    {
        var time = Clock();
        var queue = CreateQueue(time);
        var envelope = new QueueEnvelope("", [new QueueRecipient("x@one.test", DsnNotify.Failure | DsnNotify.Delay, "rfc822;x@one.test"), new QueueRecipient("ü@two.test")],
            new DateTimeOffset(2026, 11, 29, 7, 0, 0, 250, TimeSpan.FromHours(9)), "env-9", DsnReturn.Full, MessageBodyType.EightBitMime, SmtpUtf8: true);
        var rescheduled = await queue.EnqueueAsync(envelope, new MemoryStream(s_content));
        var lease = Assert.Single(await queue.LeaseAsync(1, TimeSpan.FromMinutes(5)));
        Assert.Equal(rescheduled, lease.QueueId);
        var attemptAt = time.GetUtcNow();
        await queue.RescheduleAsync(lease,
            [lease.Recipients[0] with { State = RecipientState.Delivered, LastReply = "250 2.0.0 ok", RemoteHost = "mx.one.test", LastAttempt = attemptAt },
             lease.Recipients[1] with { State = RecipientState.DelayNotified, LastReply = "451 4.7.1 later", LastAttempt = attemptAt, DsnPending = true }],
            time.GetUtcNow() + TimeSpan.FromMinutes(30));
        var held = await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new MemoryStream(s_content));
        var heldLease = Assert.Single(await queue.LeaseAsync(1, TimeSpan.FromMinutes(10)));
        Assert.Equal(held, heldLease.QueueId);
        var fresh = await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new MemoryStream(s_content));

        var reopened = Reopen(queue, time);

        Assert.Equal(3, await reopened.CountAsync());
        foreach (var id in new[] { rescheduled, held, fresh })
        {
            await using var content = await reopened.OpenContentAsync(id);
            var copy = new MemoryStream();
            await content.CopyToAsync(copy);
            Assert.Equal(s_content, copy.ToArray());
        }
        // Only the never-leased entry is due: the rescheduled one waits for its time, the leased one for its lease.
        Assert.Equal(fresh, Assert.Single(await reopened.LeaseAsync(10, TimeSpan.FromHours(1))).QueueId);
        time.Advance(TimeSpan.FromMinutes(10));
        var taken = Assert.Single(await reopened.LeaseAsync(10, TimeSpan.FromHours(1)));
        Assert.Equal(held, taken.QueueId);
        await Assert.ThrowsAsync<MessageQueueException>(async () => await reopened.CompleteAsync(heldLease));
        time.Advance(TimeSpan.FromMinutes(20));
        var again = Assert.Single(await reopened.LeaseAsync(10, TimeSpan.FromHours(1)));
        Assert.Equal(rescheduled, again.QueueId);
        AssertSame(envelope, again.Envelope);
        Assert.Equal(1, again.Attempts);
        // A notification still owed (DsnPending) is state too: a restart must not forget that the sender is owed one.
        (RecipientState, string?, string?, DateTimeOffset?, bool)[] states =
            [(RecipientState.Delivered, "250 2.0.0 ok", "mx.one.test", attemptAt, false), (RecipientState.DelayNotified, "451 4.7.1 later", null, attemptAt, true)];
        Assert.Equal(states, again.Recipients.Select(r => (r.State, r.LastReply, r.RemoteHost, r.LastAttempt, r.DsnPending)));
        Assert.Equal(envelope.Recipients, again.Recipients.Select(r => r.Recipient));
        await reopened.CompleteAsync(again);
        await reopened.CompleteAsync(taken);
        Assert.Equal(1, await reopened.CountAsync());
    }

    [Fact]
    public async Task A_failed_enqueue_leaves_nothing_after_a_restart()
    {
        var time = Clock();
        var queue = CreateQueue(time);
        await Assert.ThrowsAsync<IOException>(async () => await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new FailingStream()));
        using var cancellation = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await queue.EnqueueAsync(Envelope(time.GetUtcNow()), new CancellingStream(cancellation), cancellation.Token));

        var reopened = Reopen(queue, time);

        Assert.Equal(0, await reopened.CountAsync());
        Assert.Empty(await reopened.LeaseAsync(10, TimeSpan.FromMinutes(5)));
    }
}
