using Mail.Protocols.Maildir.Index;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Fuzz.Targets.Storage;

/// <summary>
/// The MIME summary of a message (<see cref="MessageSummaryParser.Parse"/>: ENVELOPE, BODYSTRUCTURE, offsets, header cache).
/// Properties: no exception (the parser documents none for content); the summary passes <see cref="SummaryChecks.Check"/>
/// (offsets ordered and inside the message, depth bounded, header cache capped); the kept header is exactly the message's
/// first BodyOffset octets, and it is missing only for a header over the cap; the summary does not depend on how the
/// content stream splits its reads (a stream returning short reads at points drawn from the input gives the same summary);
/// and the Maildir store's summary cache gives it back unchanged (written, then read by a new cache).
/// </summary>
internal sealed class MessageSummaryTarget : IFuzzTarget
{
    private const UnixFileMode Permissions = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public string Name => "MessageSummary";

    public void Run(ReadOnlySpan<byte> input)
    {
        var content = input.ToArray();
        var summary = MessageSummaryParser.Parse(new MemoryStream(content, writable: false));
        SummaryChecks.Check(summary, content.Length);
        if (summary.Header is { } header)
        {
            Fuzz.Check(header.Length == summary.BodyOffset, $"a header of {header.Length} octets kept for a body at {summary.BodyOffset}");
            Fuzz.BytesEqual(content.AsSpan(0, header.Length), header.Span, "the header kept");
        }
        else
        {
            Fuzz.Check(summary.BodyOffset > MessageSummaryParser.MaxHeaderLength, $"no header kept, though it is {summary.BodyOffset} octets");
        }

        var json = SummaryChecks.Json(summary);
        var split = MessageSummaryParser.Parse(new ShortReadStream(content));
        Fuzz.Equal(json, SummaryChecks.Json(split), "the summary read in short reads");

        var directory = ScratchDirectory.Fresh(Name);
        var live = new Dictionary<uint, MessageRecord> { [1] = new MessageRecord(1, "1.M1P1Q1.fuzz", DateTimeOffset.UnixEpoch, content.Length) };
        var cache = new SummaryCache(directory, 7, Permissions);
        cache.TryGet(1, live, out _);
        cache.Add(1, summary);
        Fuzz.Check(new SummaryCache(directory, 7, Permissions).TryGet(1, live, out var cached), "the summary cache lost the summary");
        Fuzz.Equal(json, SummaryChecks.Json(cached), "the summary read back from the cache");
    }

    /// <summary>The content as a seekable stream whose reads return from 1 to 64 octets, sizes drawn from a hash of the content.</summary>
    private sealed class ShortReadStream(byte[] content) : MemoryStream(content, writable: false)
    {
        private uint _state = Seed(content);

        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, Next()));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, Next())]);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, Next()), cancellationToken);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, Next())], cancellationToken);

        private int Next()
        {
            _state ^= _state << 13;
            _state ^= _state >> 17;
            _state ^= _state << 5;
            return (int)(_state % 64) + 1;
        }

        private static uint Seed(byte[] content)
        {
            var hash = 2166136261u;
            foreach (var b in content)
            {
                hash = (hash ^ b) * 16777619;
            }

            return hash | 1;
        }
    }
}
