using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>Summaries of a whole folder in one call take the user's lock a fixed number of times, however many messages.</summary>
public sealed class SummaryBatchTests : IDisposable
{
    private readonly StoreFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Summaries_of_three_hundred_messages_take_the_lock_once_when_known_and_twice_when_parsed()
    {
        var uids = new List<uint>();
        for (var i = 0; i < 300; i++)
        {
            uids.Add((await _fixture.AppendAsync($"message {i}")).Uid);
        }
        var store = _fixture.Store;

        var before = store.GateEntries;
        var parsed = await store.GetSummariesAsync(StoreFixture.User, "INBOX", uids);
        Assert.Equal(2, store.GateEntries - before); // collect, parse outside the lock, record

        before = store.GateEntries;
        var known = await store.GetSummariesAsync(StoreFixture.User, "INBOX", uids);
        Assert.Equal(1, store.GateEntries - before);

        Assert.Equal(uids, known.Select(e => e.Info.Uid));
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"message {i}"), known.Select(e => e.Summary.Envelope.Subject));
        Assert.Equal(parsed.Select(e => e.Summary.Envelope.Subject), known.Select(e => e.Summary.Envelope.Subject));

        // After a restart the summaries come from the cache file: still one lock for the lot.
        var restarted = _fixture.Restart();
        before = restarted.GateEntries;
        Assert.Equal(300, (await restarted.GetSummariesAsync(StoreFixture.User, "INBOX", uids)).Count);
        Assert.Equal(1, restarted.GateEntries - before);
    }
}
