using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Session;

/// <summary>
/// The selected folder as this session has told its client about it: the UIDs in sequence-number order, UIDVALIDITY,
/// and the HIGHESTMODSEQ reported. Sequence numbers change only when the session reports an EXPUNGE, so between two
/// reports the client's numbers and these agree.
/// </summary>
/// <remarks>
/// The UIDs are kept in one of two forms, whichever is smaller (docs/performance.md, idle IMAP connections):
/// <list type="bullet">
/// <item><em>Runs</em>: UIDs of a folder are mostly runs of consecutive numbers, so each run is kept as its first UID and
/// the sequence number of its last message (a prefix count), 8 octets a run. A folder without gaps is one run however
/// large it is. <see cref="UidAt"/> is a binary search over the runs' prefix counts, <see cref="SequenceOf"/> one over
/// their first UIDs.</item>
/// <item><em>Flat</em>: a <c>uint</c> per message (4 octets). A folder switches to it for good (until it is selected
/// again) as soon as it has more than half as many runs as messages, or when the run array would have to grow past the
/// size of the flat form, so the worst case (every other UID missing) costs what a flat array does: 4 octets a message,
/// plus at most the array's growth by a quarter.</item>
/// </list>
/// Lookups are O(log runs) or O(log messages); listing a range is a lookup then a walk; an expunge is O(runs) or
/// O(messages), as the flat array always was.
/// </remarks>
internal sealed class SelectedFolder
{
    // Runs of consecutive UIDs: run i holds the sequence numbers _runs[i-1].End + 1 .. _runs[i].End (from 1 for i = 0)
    // and the UIDs First .. First + its length - 1. Null in the flat form.
    private Run[]? _runs;
    private int _runCount;
    // The flat form: the UIDs in sequence order, _count of them used. Null in the run form.
    private uint[]? _flat;
    private int _count;

    /// <summary>The fewest runs at which the flat form is considered: a tiny folder stays in runs.</summary>
    internal const int MinRunsBeforeFlat = 8;

    public SelectedFolder(string name, bool readOnly, FolderSnapshot snapshot)
        : this(name, readOnly, snapshot.Status, snapshot.Messages.Select(m => m.Uid))
    {
    }

    /// <summary>A folder of the given UIDs (ascending, each above 0), for tests.</summary>
    internal SelectedFolder(IReadOnlyCollection<uint> uids)
        : this("INBOX", readOnly: false, new FolderStatus("INBOX", 1, uids.Count == 0 ? 1 : uids.Max() + 1, 1, uids.Count, 0, 0), uids)
    {
    }

    private SelectedFolder(string name, bool readOnly, FolderStatus status, IEnumerable<uint> uids)
    {
        Name = name;
        ReadOnly = readOnly;
        UidValidity = status.UidValidity;
        UidNext = status.UidNext;
        HighestModSeq = status.HighestModSeq;
        // One pass to count the runs, a second to fill whichever form is smaller.
        var runs = 0;
        var count = 0;
        var previous = 0u;
        foreach (var uid in uids)
        {
            if (count == 0 || uid != previous + 1)
            {
                runs++;
            }
            previous = uid;
            count++;
        }
        if (RunsTooMany(runs, count))
        {
            _flat = new uint[count];
            foreach (var uid in uids)
            {
                _flat[_count++] = uid;
            }
            return;
        }
        _runs = runs == 0 ? [] : new Run[runs];
        foreach (var uid in uids)
        {
            _count++;
            if (_runCount > 0 && uid == previous + 1)
            {
                _runs[_runCount - 1].End = _count;
            }
            else
            {
                _runs[_runCount++] = new Run(uid, _count);
            }
            previous = uid;
        }
    }

    /// <summary>The folder's name.</summary>
    public string Name { get; set; }

    /// <summary>Opened with EXAMINE (or SELECT of a folder that refuses changes).</summary>
    public bool ReadOnly { get; }

    /// <summary>The folder's UIDVALIDITY.</summary>
    public uint UidValidity { get; }

    /// <summary>The UIDNEXT last known.</summary>
    public uint UidNext { get; private set; }

    /// <summary>The highest MODSEQ the client has been told of.</summary>
    public ulong HighestModSeq { get; set; }

    /// <summary>Messages as the client knows them (the last EXISTS).</summary>
    public int Count => _count;

    /// <summary>The largest UID, 0 when empty.</summary>
    public uint LastUid
    {
        get
        {
            if (_count == 0)
            {
                return 0;
            }
            if (_flat is { } flat)
            {
                return flat[_count - 1];
            }
            var last = _runCount - 1;
            return _runs![last].First + (uint)(_count - Start(last));
        }
    }

    /// <summary>True while the UIDs are kept as runs (false: a flat array). For tests and the documentation's figures.</summary>
    internal bool IsRuns => _runs is not null;

    /// <summary>The octets the UIDs take now (the array's length, not its header), for tests.</summary>
    internal int StorageBytes => _flat is { } flat ? flat.Length * sizeof(uint) : _runs!.Length * Run.Size;

    /// <summary>The UID of sequence number <paramref name="sequence"/> (1-based, at most <see cref="Count"/>).</summary>
    public uint UidAt(int sequence)
    {
        if ((uint)(sequence - 1) >= (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(sequence));
        }
        if (_flat is { } flat)
        {
            return flat[sequence - 1];
        }
        var run = RunOfSequence(sequence);
        return _runs![run].First + (uint)(sequence - Start(run));
    }

    /// <summary>The sequence number of <paramref name="uid"/>, or 0 when it is not in the folder.</summary>
    public int SequenceOf(uint uid)
    {
        if (_flat is { } flat)
        {
            var index = flat.AsSpan(0, _count).BinarySearch(uid);
            return index < 0 ? 0 : index + 1;
        }
        var run = RunOfUid(uid);
        if (run < 0)
        {
            return 0;
        }
        var start = Start(run);
        var offset = uid - _runs![run].First;
        return offset < (uint)(_runs[run].End - start + 1) ? start + (int)offset : 0;
    }

    /// <summary>
    /// Adds to <paramref name="into"/> the UIDs of sequence numbers <paramref name="first"/> to <paramref name="last"/>
    /// (1-based, inclusive; numbers beyond <see cref="Count"/> are ignored), in order.
    /// </summary>
    public void AddUidsOfSequences(List<uint> into, uint first, uint last)
    {
        first = Math.Max(first, 1);
        last = Math.Min(last, (uint)_count);
        if (first > last)
        {
            return;
        }
        if (_flat is { } flat)
        {
            into.AddRange(flat.AsSpan((int)first - 1, (int)(last - first + 1)));
            return;
        }
        into.EnsureCapacity(into.Count + (int)(last - first + 1));
        var runs = _runs!;
        var sequence = (int)first;
        for (var run = RunOfSequence(sequence); sequence <= last; run++)
        {
            var start = Start(run);
            var end = Math.Min(runs[run].End, (int)last);
            for (var uid = runs[run].First + (uint)(sequence - start); sequence <= end; sequence++, uid++)
            {
                into.Add(uid);
            }
        }
    }

    /// <summary>
    /// Adds to <paramref name="into"/> the UIDs of the folder from <paramref name="first"/> to <paramref name="last"/>
    /// (inclusive), ascending. Finding the first is a binary search, so a narrow range of a large folder costs little.
    /// </summary>
    public void AddUidsBetween(List<uint> into, uint first, uint last)
    {
        if (first > last || _count == 0)
        {
            return;
        }
        if (_flat is { } flat)
        {
            var all = flat.AsSpan(0, _count);
            var index = all.BinarySearch(first);
            for (var i = index < 0 ? ~index : index; i < all.Length && all[i] <= last; i++)
            {
                into.Add(all[i]);
            }
            return;
        }
        var runs = _runs!;
        for (var run = Math.Max(RunOfUid(first), 0); run < _runCount && runs[run].First <= last; run++)
        {
            var runLast = runs[run].First + (uint)(runs[run].End - Start(run));
            var from = Math.Max(first, runs[run].First);
            var to = Math.Min(last, runLast);
            if (from > to)
            {
                continue; // the range starts after this run ends
            }
            for (var uid = from; ; uid++)
            {
                into.Add(uid);
                if (uid == to)
                {
                    break;
                }
            }
        }
    }

    /// <summary>The UIDs in sequence-number order, as a new array.</summary>
    public uint[] ToArray()
    {
        if (_flat is { } flat)
        {
            return flat.AsSpan(0, _count).ToArray();
        }
        var result = new uint[_count];
        var sequence = 0;
        for (var run = 0; run < _runCount; run++)
        {
            for (var uid = _runs![run].First; sequence < _runs[run].End; uid++)
            {
                result[sequence++] = uid;
            }
        }
        return result;
    }

    /// <summary>Adds a message that came after all others (UIDs only grow). False when it is already known.</summary>
    public bool Add(uint uid)
    {
        if (uid <= LastUid)
        {
            return false;
        }
        Append(uid);
        UidNext = Math.Max(UidNext, uid == uint.MaxValue ? uid : uid + 1);
        return true;
    }

    /// <summary>Removes a message; returns the sequence number it had, or 0 when it was not known.</summary>
    public int Remove(uint uid)
    {
        var sequence = SequenceOf(uid);
        if (sequence == 0)
        {
            return 0;
        }
        var run = _runs is null ? 0 : RunOfSequence(sequence);
        if (_runs is not null && Start(run) < sequence && sequence < _runs[run].End && !HasRoomForRun())
        {
            // The message splits its run, and a larger run array would cost more than the flat form.
            ToFlat();
        }
        if (_flat is { } flat)
        {
            Array.Copy(flat, sequence, flat, sequence - 1, _count - sequence);
            _count--;
            return sequence;
        }
        var runs = _runs!;
        var start = Start(run);
        var end = runs[run].End;
        var next = run + 1; // the first run after the change whose prefix count drops by one
        if (start == end)
        {
            // The run was this one message: it goes.
            Array.Copy(runs, run + 1, runs, run, _runCount - run - 1);
            _runCount--;
            next = run;
        }
        else if (sequence == start)
        {
            runs[run].First++;
            runs[run].End--;
        }
        else if (sequence == end)
        {
            runs[run].End--;
        }
        else
        {
            // A message inside the run: it splits in two (there is room, see above).
            Array.Copy(runs, run + 1, runs, run + 2, _runCount - run - 1);
            _runCount++;
            runs[run + 1] = new Run(uid + 1, end - 1);
            runs[run].End = sequence - 1;
            next = run + 2;
        }
        for (var i = next; i < _runCount; i++)
        {
            runs[i].End--;
        }
        _count--;
        if (RunsTooMany(_runCount, _count))
        {
            ToFlat();
        }
        return sequence;
    }

    // Runs cost 8 octets each, a flat array 4 a message: past half as many runs as messages, the flat form is smaller.
    private static bool RunsTooMany(int runs, int count) => runs > MinRunsBeforeFlat && runs * 2 > count;

    // Appends a UID above all others.
    private void Append(uint uid)
    {
        if (_flat is { } flat)
        {
            if (_count == flat.Length)
            {
                // Grows by a quarter (at least 16): an idle session keeps what it has, so little is spare.
                Array.Resize(ref _flat, flat.Length + Math.Max(16, flat.Length / 4));
            }
            _flat![_count++] = uid;
            return;
        }
        if (_runCount > 0 && uid == LastUid + 1)
        {
            _runs![_runCount - 1].End++;
            _count++;
            return;
        }
        if (!HasRoomForRun())
        {
            ToFlat();
            Append(uid);
            return;
        }
        _runs![_runCount++] = new Run(uid, ++_count);
        if (RunsTooMany(_runCount, _count))
        {
            ToFlat();
        }
    }

    // Makes room for one more run and returns true, or returns false when the grown run array would take more than
    // the flat form of the folder would (then the caller switches to it): the run array never costs more than 4 octets a
    // message, bar the smallest arrays.
    private bool HasRoomForRun()
    {
        if (_runCount < _runs!.Length)
        {
            return true;
        }
        var grown = Math.Max(4, _runs.Length * 2);
        if (grown > MinRunsBeforeFlat && grown * Run.Size > (_count + 1) * sizeof(uint))
        {
            return false;
        }
        Array.Resize(ref _runs, grown);
        return true;
    }

    private void ToFlat()
    {
        var flat = ToArray();
        _runs = null;
        _runCount = 0;
        _flat = flat;
    }

    // The sequence number of the first message of run i.
    private int Start(int run) => run == 0 ? 1 : _runs![run - 1].End + 1;

    // The run holding sequence number `sequence` (1..Count): the first whose End is at or above it.
    private int RunOfSequence(int sequence)
    {
        var runs = _runs!;
        int low = 0, high = _runCount - 1;
        while (low < high)
        {
            var middle = low + ((high - low) >> 1);
            if (runs[middle].End < sequence)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }
        return low;
    }

    // The last run whose first UID is at or below `uid`; -1 when every run starts above it.
    private int RunOfUid(uint uid)
    {
        var runs = _runs!;
        int low = 0, high = _runCount - 1, found = -1;
        while (low <= high)
        {
            var middle = low + ((high - low) >> 1);
            if (runs[middle].First <= uid)
            {
                found = middle;
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }
        return found;
    }

    private struct Run(uint first, int end)
    {
        public const int Size = 8;

        /// <summary>The run's first UID.</summary>
        public uint First = first;

        /// <summary>The sequence number of the run's last message (the messages in this run and all before it).</summary>
        public int End = end;
    }
}
