using Mail.Protocols.Queue;

namespace Mail.Protocols.InMemory;

/// <summary>
/// The reference <see cref="IMessageQueue"/> in memory, with leases on <see cref="TimeProvider"/>.
/// Not durable: queued messages are lost when the process ends.
/// </summary>
public sealed class InMemoryMessageQueue : IMessageQueue
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _timeProvider;
    private long _nextId;

    /// <summary>Creates an empty queue.</summary>
    public InMemoryMessageQueue(TimeProvider? timeProvider = null) => _timeProvider = timeProvider ?? TimeProvider.System;

    /// <inheritdoc />
    public async ValueTask<string> EnqueueAsync(QueueEnvelope envelope, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(content);
        var copy = await MessageContent.ReadAsync(content, cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var id = "Q" + (++_nextId).ToString("D8", System.Globalization.CultureInfo.InvariantCulture);
            _entries[id] = new Entry(id, envelope, copy, [.. envelope.Recipients.Select(r => new RecipientStatus(r, RecipientState.Pending))], _timeProvider.GetUtcNow());
            return id;
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<QueueLease>> LeaseAsync(int maxEntries, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEntries);
        var now = _timeProvider.GetUtcNow();
        var leases = new List<QueueLease>();
        lock (_lock)
        {
            foreach (var entry in _entries.Values.Where(e => e.NextAttempt <= now && e.LeaseExpires <= now).OrderBy(e => e.NextAttempt).Take(maxEntries))
            {
                entry.LeaseToken = Guid.NewGuid().ToString("N");
                entry.LeaseExpires = now + leaseDuration;
                leases.Add(new QueueLease(entry.Id, entry.LeaseToken, entry.Envelope, entry.Recipients, entry.Attempts, entry.LeaseExpires));
            }
        }
        return ValueTask.FromResult<IReadOnlyList<QueueLease>>(leases);
    }

    /// <inheritdoc />
    public ValueTask<Stream> OpenContentAsync(string queueId, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(queueId, out var e)
                ? ValueTask.FromResult(e.Content.OpenRead())
                : throw new MessageQueueException($"No queue entry {queueId}.");
        }
    }

    /// <inheritdoc />
    public ValueTask CompleteAsync(QueueLease lease, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            _entries.Remove(Held(lease).Id);
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask RescheduleAsync(QueueLease lease, IReadOnlyList<RecipientStatus> recipients, DateTimeOffset nextAttempt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        lock (_lock)
        {
            var entry = Held(lease);
            entry.Recipients = [.. recipients];
            entry.Attempts++;
            entry.NextAttempt = nextAttempt;
            entry.LeaseExpires = DateTimeOffset.MinValue;
            entry.LeaseToken = null;
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask GiveUpAsync(QueueLease lease, IReadOnlyList<RecipientStatus> recipients, CancellationToken cancellationToken = default) =>
        CompleteAsync(lease, cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> CountAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_entries.Count);
        }
    }

    /// <inheritdoc />
    public ValueTask<DateTimeOffset?> GetOldestReceivedAtAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_entries.Count == 0 ? null : (DateTimeOffset?)_entries.Values.Min(entry => entry.Envelope.ReceivedAt));
        }
    }

    // The entry a lease holds, refusing stale or expired leases.
    private Entry Held(QueueLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (!_entries.TryGetValue(lease.QueueId, out var entry) || entry.LeaseToken != lease.LeaseToken || entry.LeaseExpires <= _timeProvider.GetUtcNow())
        {
            throw new MessageQueueException($"The lease on {lease.QueueId} is not held.");
        }
        return entry;
    }

    private sealed class Entry(string id, QueueEnvelope envelope, MessageContent content, IReadOnlyList<RecipientStatus> recipients, DateTimeOffset nextAttempt)
    {
        public string Id { get; } = id;
        public QueueEnvelope Envelope { get; } = envelope;
        public MessageContent Content { get; } = content;
        public IReadOnlyList<RecipientStatus> Recipients { get; set; } = recipients;
        public DateTimeOffset NextAttempt { get; set; } = nextAttempt;
        public DateTimeOffset LeaseExpires { get; set; } = DateTimeOffset.MinValue;
        public string? LeaseToken { get; set; }
        public int Attempts { get; set; }
    }
}
