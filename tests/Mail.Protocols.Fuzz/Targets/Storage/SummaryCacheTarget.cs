using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Mail.Protocols.Maildir.Index;

namespace Mail.Protocols.Fuzz.Targets.Storage;

/// <summary>
/// The Maildir store's summary cache, "mailprotocols.summaries" (<see cref="SummaryCache"/>), damaged or written by hand: a
/// cache, so a line it cannot use must be skipped (the message is parsed again), never trusted. Properties: reading never
/// throws; every summary it gives for a message passes <see cref="SummaryChecks.Check"/> against that message's size (no
/// null, offsets inside the message, depth bounded), so IMAP can write it and read the sections it names.
/// </summary>
internal sealed class SummaryCacheTarget : IFuzzTarget
{
    private const uint UidValidity = 7;
    private const long MessageSize = 4096;
    private const UnixFileMode Permissions = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public string Name => "SummaryCache";

    public void Run(ReadOnlySpan<byte> input)
    {
        var directory = ScratchDirectory.Fresh(Name);
        File.WriteAllBytes(Path.Combine(directory, SummaryCache.FileName), input.ToArray());
        var uids = new SortedSet<uint>();
        foreach (var line in ScratchDirectory.Lines(input))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && uint.TryParse(line.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
            {
                uids.Add(uid);
            }
        }

        var live = new EveryUid();
        var cache = new SummaryCache(directory, UidValidity, Permissions);
        foreach (var uid in uids)
        {
            if (cache.TryGet(uid, live, out var summary))
            {
                SummaryChecks.Check(summary, MessageSize);
            }
        }
    }

    /// <summary>Every UID is a live message of <see cref="MessageSize"/> octets.</summary>
    private sealed class EveryUid : IReadOnlyDictionary<uint, MessageRecord>
    {
        public MessageRecord this[uint key] => Record(key);

        public IEnumerable<uint> Keys => [];

        public IEnumerable<MessageRecord> Values => [];

        public int Count => int.MaxValue;

        public bool ContainsKey(uint key) => true;

        public bool TryGetValue(uint key, [MaybeNullWhen(false)] out MessageRecord value)
        {
            value = Record(key);
            return true;
        }

        public IEnumerator<KeyValuePair<uint, MessageRecord>> GetEnumerator() => Enumerable.Empty<KeyValuePair<uint, MessageRecord>>().GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        private static MessageRecord Record(uint uid) => new(uid, $"{uid}.M1P1Q1.fuzz", DateTimeOffset.UnixEpoch, MessageSize);
    }
}
