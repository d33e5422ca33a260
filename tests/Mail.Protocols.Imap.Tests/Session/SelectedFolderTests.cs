using Mail.Protocols.Imap.Session;

namespace Mail.Protocols.Imap.Tests.Session;

/// <summary>
/// The selected folder's UIDs (runs of consecutive UIDs, or a flat array when runs would be larger) against a plain
/// sorted list: random appends and expunges from many seeds, every query compared after every step.
/// </summary>
public sealed class SelectedFolderTests
{
    [Fact]
    public void A_folder_without_gaps_is_one_run_however_large()
    {
        var folder = new SelectedFolder(Range(1, 10_000));

        Assert.True(folder.IsRuns);
        Assert.Equal(8, folder.StorageBytes);
        Assert.Equal(10_000, folder.Count);
        Assert.Equal(10_000u, folder.LastUid);
        Assert.Equal(1u, folder.UidAt(1));
        Assert.Equal(5_000u, folder.UidAt(5_000));
        Assert.Equal(7_321, folder.SequenceOf(7_321));
        Assert.Equal(0, folder.SequenceOf(10_001));
        Assert.Equal(0, folder.SequenceOf(0));
    }

    [Fact]
    public void Appending_the_next_uid_extends_the_last_run_without_growing()
    {
        var folder = new SelectedFolder(Range(1, 1_000));

        Assert.True(folder.Add(1_001));
        Assert.False(folder.Add(1_001));
        Assert.False(folder.Add(500));

        Assert.Equal(8, folder.StorageBytes);
        Assert.Equal(1_001, folder.SequenceOf(1_001));
        Assert.Equal(1_002u, folder.UidNext);
    }

    [Fact]
    public void Expunging_inside_a_run_splits_it_and_renumbers_what_follows()
    {
        var folder = new SelectedFolder(Range(1, 10));

        Assert.Equal(5, folder.Remove(5));
        Assert.Equal(0, folder.Remove(5));

        Assert.Equal(9, folder.Count);
        Assert.Equal(0, folder.SequenceOf(5));
        Assert.Equal(5, folder.SequenceOf(6));
        Assert.Equal(6u, folder.UidAt(5));
        Assert.Equal([1u, 2, 3, 4, 6, 7, 8, 9, 10], folder.ToArray());
    }

    [Fact]
    public void Every_other_uid_missing_is_kept_flat_at_four_octets_a_message()
    {
        // The worst case for runs: a run per message would cost 8 octets each, so the flat form is chosen.
        var uids = Enumerable.Range(0, 10_000).Select(i => (uint)(2 * i + 1)).ToArray();
        var folder = new SelectedFolder(uids);

        Assert.False(folder.IsRuns);
        Assert.Equal(4 * 10_000, folder.StorageBytes);
        Assert.Equal(uids, folder.ToArray());
        Assert.Equal(5_000, folder.SequenceOf(9_999));
        Assert.Equal(0, folder.SequenceOf(10_000));
    }

    [Fact]
    public void Expunging_every_other_message_switches_to_the_flat_form_and_stays_bounded()
    {
        var folder = new SelectedFolder(Range(1, 10_000));

        for (uint uid = 2; uid <= 10_000; uid += 2)
        {
            Assert.NotEqual(0, folder.Remove(uid));
            // Never more than a flat array of the folder as selected: the run array does not grow past that.
            Assert.True(folder.StorageBytes <= 4 * 10_000 + 64, $"{folder.StorageBytes} octets after removing {uid}");
        }

        Assert.False(folder.IsRuns);
        Assert.Equal(5_000, folder.Count);
        Assert.True(folder.StorageBytes <= 4 * 10_000);
        Assert.Equal(2_500, folder.SequenceOf(4_999));
    }

    [Fact]
    public void Uid_ranges_are_found_within_runs_and_across_gaps()
    {
        var folder = new SelectedFolder([3, 4, 5, 9, 10, 20]);

        Assert.Equal([4u, 5, 9], Between(folder, 4, 9));
        Assert.Equal([3u, 4, 5, 9, 10, 20], Between(folder, 1, uint.MaxValue));
        Assert.Equal([], Between(folder, 6, 8));
        Assert.Equal([], Between(folder, 21, 30));
        Assert.Equal([], Between(folder, 9, 8));
        Assert.Equal([10u], Between(folder, 10, 19));
    }

    [Fact]
    public void Sequence_ranges_beyond_the_folder_are_cut_at_its_end()
    {
        var folder = new SelectedFolder([3, 4, 5, 9, 10, 20]);

        Assert.Equal([5u, 9, 10, 20], Sequences(folder, 3, 100));
        Assert.Equal([], Sequences(folder, 7, 9));
        Assert.Equal([3u], Sequences(folder, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => folder.UidAt(7));
        Assert.Throws<ArgumentOutOfRangeException>(() => folder.UidAt(0));
    }

    [Fact]
    public void The_largest_uid_is_kept_at_the_top_of_the_range()
    {
        var folder = new SelectedFolder([uint.MaxValue - 1]);

        Assert.True(folder.Add(uint.MaxValue));
        Assert.Equal(uint.MaxValue, folder.LastUid);
        Assert.Equal([uint.MaxValue - 1, uint.MaxValue], Between(folder, 1, uint.MaxValue));
        Assert.Equal(2, folder.SequenceOf(uint.MaxValue));
        Assert.False(folder.Add(uint.MaxValue));
    }

    [Fact]
    public void An_empty_folder_answers_every_query()
    {
        var folder = new SelectedFolder([]);

        Assert.Equal(0, folder.Count);
        Assert.Equal(0u, folder.LastUid);
        Assert.Equal(0, folder.SequenceOf(1));
        Assert.Equal(0, folder.Remove(1));
        Assert.Equal([], Between(folder, 1, uint.MaxValue));
        Assert.Equal([], Sequences(folder, 1, uint.MaxValue));
        Assert.True(folder.Add(7));
        Assert.Equal(1, folder.SequenceOf(7));
    }

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        for (var seed = 1; seed <= 40; seed++)
        {
            data.Add(seed);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_appends_and_expunges_agree_with_a_sorted_list(int seed)
    {
        var random = new Random(seed);
        // Seeds differ in how gappy the folder is: from one run to a UID skipped after most messages.
        var gapChance = (seed % 5) * 0.2;
        var initial = new List<uint>();
        var next = 1u;
        for (var i = random.Next(0, 300); i > 0; i--)
        {
            next += random.NextDouble() < gapChance ? (uint)random.Next(2, 5) : 1;
            initial.Add(next);
        }
        var model = new List<uint>(initial);
        var folder = new SelectedFolder(initial);
        var peak = model.Count;
        Compare(model, folder, random, peak);

        for (var step = 0; step < 400; step++)
        {
            var choice = random.Next(10);
            if (choice < 4)
            {
                // Append: the next UID or one after a gap (a message this session never saw), or a known one (refused).
                var last = model.Count == 0 ? 0 : model[^1];
                var uid = random.Next(8) == 0 && model.Count > 0 ? model[random.Next(model.Count)] : last + (uint)random.Next(1, 4);
                var added = folder.Add(uid);
                Assert.Equal(uid > last, added);
                if (added)
                {
                    model.Add(uid);
                }
            }
            else
            {
                // Expunge: a known message (often one inside a run), or one that is not there.
                var uid = model.Count > 0 && random.Next(6) != 0 ? model[random.Next(model.Count)] : (uint)random.Next(1, 1_000);
                var index = model.BinarySearch(uid);
                Assert.Equal(index < 0 ? 0 : index + 1, folder.Remove(uid));
                if (index >= 0)
                {
                    model.RemoveAt(index);
                }
            }
            peak = Math.Max(peak, model.Count);
            Compare(model, folder, random, peak);
        }
    }

    private static void Compare(List<uint> model, SelectedFolder folder, Random random, int peak)
    {
        Assert.Equal(model.Count, folder.Count);
        Assert.Equal(model.Count == 0 ? 0 : model[^1], folder.LastUid);
        Assert.Equal(model, folder.ToArray());
        // Never larger than a flat array of the most messages it held (neither form shrinks), bar the flat array's
        // growth by a quarter and the smallest run arrays.
        Assert.True(folder.StorageBytes <= Math.Max(8 * SelectedFolder.MinRunsBeforeFlat, 5 * peak + 64),
            $"{folder.StorageBytes} octets for {model.Count} messages, at most {peak}");
        for (var sequence = 1; sequence <= model.Count; sequence++)
        {
            Assert.Equal(model[sequence - 1], folder.UidAt(sequence));
            Assert.Equal(sequence, folder.SequenceOf(model[sequence - 1]));
        }
        var top = model.Count == 0 ? 10u : model[^1] + 3;
        for (var probe = 0; probe < 20; probe++)
        {
            var uid = (uint)random.Next(0, (int)top);
            var index = model.BinarySearch(uid);
            Assert.Equal(index < 0 ? 0 : index + 1, folder.SequenceOf(uid));

            var first = (uint)random.Next(0, (int)top);
            var last = first + (uint)random.Next(0, 40);
            Assert.Equal(model.Where(u => u >= first && u <= last), Between(folder, first, last));
            Assert.Equal(model.Where((_, i) => i + 1 >= first && i + 1 <= last), Sequences(folder, first, last));
        }
    }

    private static uint[] Range(uint first, uint last) => Enumerable.Range((int)first, (int)(last - first + 1)).Select(i => (uint)i).ToArray();

    private static List<uint> Between(SelectedFolder folder, uint first, uint last)
    {
        var into = new List<uint>();
        folder.AddUidsBetween(into, first, last);
        return into;
    }

    private static List<uint> Sequences(SelectedFolder folder, uint first, uint last)
    {
        var into = new List<uint>();
        folder.AddUidsOfSequences(into, first, last);
        return into;
    }
}
