using System.Text;
using Mail.Protocols.Queue;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Mail.Protocols.TestSupport.Contracts;

/// <summary>
/// The <see cref="IMessageQueue"/> contract as tests: derive from this class, return a new, empty queue on the
/// given clock from <see cref="CreateQueue"/>, and every backend is held to the same lease semantics.
/// </summary>
public abstract class MessageQueueContractTests
{
    private static readonly byte[] s_content = Encoding.ASCII.GetBytes("Subject: queued\r\n\r\nbody\r\n");

    /// <summary>A new, empty queue whose leases and schedule follow <paramref name="time"/>.</summary>
    protected abstract IMessageQueue CreateQueue(TimeProvider time);

    private static FakeTimeProvider Clock() => new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    private static QueueEnvelope Envelope(DateTimeOffset at) =>
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
            lease.Recipients[1] with { State = RecipientState.Pending, LastReply = "451 4.7.1 later" },
        };
        await queue.RescheduleAsync(lease, statuses, time.GetUtcNow() + TimeSpan.FromMinutes(15));
        time.Advance(TimeSpan.FromMinutes(14));
        Assert.Empty(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        time.Advance(TimeSpan.FromMinutes(1));
        var again = Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5)));
        Assert.Equal(1, again.Attempts);
        Assert.Equal(RecipientState.Delivered, again.Recipients[0].State);
        Assert.Equal("451 4.7.1 later", again.Recipients[1].LastReply);
        await queue.GiveUpAsync(again, again.Recipients);
        Assert.Equal(0, await queue.CountAsync());
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
