using Mail.Protocols.Maildir.Index;
using Mail.Protocols.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>The expunges a folder's index remembers for QRESYNC: kept through compaction, bounded, and read back from older indexes.</summary>
public sealed class ExpungedUidsTests : IDisposable
{
    private const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly TempDirectory _directory = new();

    private FolderIndex Open(int capacity = ExpungedUidLog.DefaultCapacity) =>
        FolderIndex.Open(_directory.Path, SpecialUse.None, () => 42, sync: false, Mode, NullLogger.Instance, capacity);

    private string IndexPath => Path.Combine(_directory.Path, FolderIndex.FileName);

    [Fact]
    public void Expunges_are_kept_through_compaction_up_to_the_bound_and_after_a_reopen()
    {
        var index = Open(capacity: 100);
        var records = Enumerable.Range(0, 1200).Select(i => index.Add($"base{i}", DateTimeOffset.UnixEpoch, 10, MessageFlags.None, false, [])).ToList();
        index.Commit();
        var start = index.HighestModSeq;
        var modSeqs = new List<ulong>();
        foreach (var record in records)
        {
            modSeqs.Add(index.Remove(record));
        }
        // 2,400 lines of history for no message: this commit compacts the journal into a snapshot.
        index.Commit();
        var text = File.ReadAllText(IndexPath);
        Assert.DoesNotContain("\nA ", text, StringComparison.Ordinal);
        Assert.True(text.Split('\n').Length < 200, "the snapshot holds the bounded expunges, not the history");
        index.Dispose();

        index = Open(capacity: 100);
        Assert.InRange(index.Expunged.Entries.Count, 1, 100);
        Assert.False(index.Expunged.Since(start).Remembered);
        // The last 50 expunges are remembered, with their UIDs and MODSEQs.
        var since = modSeqs[^51];
        var expunged = index.Expunged.Since(since);
        Assert.True(expunged.Remembered);
        Assert.Equal(records.TakeLast(50).Select(r => r.Uid), expunged.Uids);
        Assert.Equal(index.HighestModSeq, modSeqs[^1]);
        index.Dispose();
    }

    [Fact]
    public void An_index_compacted_before_expunges_were_kept_remembers_those_after_its_snapshot_only()
    {
        // Header, the snapshot's counters (UIDNEXT 5, HIGHESTMODSEQ 9) and one message, then a later expunge.
        File.WriteAllText(IndexPath, "mailprotocols-index 1 42 0\nN 5 9\nA 3 8 0 10 0 0 base3\nX 4 10\nX 3 11\n");
        using var index = Open();

        Assert.True(index.Expunged.Since(9).Remembered);
        Assert.Equal(new uint[] { 3, 4 }, index.Expunged.Since(9).Uids);
        Assert.Equal(new uint[] { 3 }, index.Expunged.Since(10).Uids);
        Assert.False(index.Expunged.Since(8).Remembered);
    }

    [Fact]
    public void A_torn_index_tail_forgets_the_expunges_it_may_have_held()
    {
        File.WriteAllText(IndexPath, "mailprotocols-index 1 42 0\nN 5 9\nX 0 3\nX 2 5\nA 3 8 0 10 0 0 base3\nX 3 1");
        using var index = Open();

        // The torn line may have been an expunge under the MODSEQ the store skips past: nothing before that is answered.
        Assert.False(index.Expunged.Since(5).Remembered);
        Assert.Equal((true, 0), (index.Expunged.Since(index.HighestModSeq).Remembered, index.Expunged.Since(index.HighestModSeq).Uids.Count));
    }

    public void Dispose() => _directory.Dispose();
}
