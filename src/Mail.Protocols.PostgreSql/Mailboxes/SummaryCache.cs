using System.Collections.Concurrent;
using Mail.Protocols.Storage;

namespace Mail.Protocols.PostgreSql.Mailboxes;

/// <summary>
/// The MIME summaries this instance has read or parsed, by content id: a content never changes and its id is never given
/// again, so an entry is right for as long as it is kept. Bounded: when full it starts afresh (cheap, and a header sync
/// refills what it needs from the database).
/// </summary>
internal sealed class SummaryCache(int capacity)
{
    private readonly ConcurrentDictionary<long, MessageSummary> _entries = new();
    private int _added; // counted apart: ConcurrentDictionary.Count takes every lock

    public bool TryGet(long contentId, out MessageSummary summary) => _entries.TryGetValue(contentId, out summary!);

    public void Add(long contentId, MessageSummary summary)
    {
        if (Interlocked.Increment(ref _added) > capacity)
        {
            Interlocked.Exchange(ref _added, 1);
            _entries.Clear();
        }
        _entries[contentId] = summary;
    }
}
