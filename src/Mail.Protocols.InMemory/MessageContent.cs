using System.Buffers;

namespace Mail.Protocols.InMemory;

/// <summary>
/// The octets of one message held by the in-memory store or queue, immutable once read: segments of at most 64 KiB, so
/// that no message, however large, is one array on the large object heap (85,000 octets and up), which only a full
/// collection frees and which is not compacted. Messages are read whole before they are kept, so a failed or cancelled
/// read keeps nothing.
/// </summary>
internal sealed class MessageContent
{
    /// <summary>The largest segment: well under the large object heap's threshold.</summary>
    public const int SegmentSize = 64 * 1024;

    private readonly byte[][] _segments;

    private MessageContent(byte[][] segments, long length)
    {
        _segments = segments;
        Length = length;
    }

    public long Length { get; }

    /// <summary>The first segment: the whole of any message up to <see cref="SegmentSize"/> octets.</summary>
    public ReadOnlyMemory<byte> FirstSegment => _segments.Length == 0 ? ReadOnlyMemory<byte>.Empty : _segments[0];

    /// <summary>Reads the rest of <paramref name="content"/>: into exactly sized segments when its length is known, else segment by segment.</summary>
    public static async ValueTask<MessageContent> ReadAsync(Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (content.CanSeek)
        {
            // A position past the end (which a MemoryStream allows) leaves nothing to read, not a negative size.
            var length = Math.Max(0, content.Length - content.Position);
            var segments = new byte[(int)((length + SegmentSize - 1) / SegmentSize)][];
            for (var i = 0; i < segments.Length; i++)
            {
                segments[i] = NewSegment((int)Math.Min(SegmentSize, length - ((long)i * SegmentSize)));
                await content.ReadExactlyAsync(segments[i], cancellationToken).ConfigureAwait(false);
            }
            var probe = ArrayPool<byte>.Shared.Rent(1);
            try
            {
                if (await content.ReadAsync(probe.AsMemory(0, 1), cancellationToken).ConfigureAwait(false) == 0)
                {
                    return new MessageContent(segments, length);
                }
                // The stream held more than its Length said (a file still growing, a wrapper that miscounts): keeping the
                // first Length octets would store a truncated message as if whole. All of it is read, length unknown.
                var whole = new MemoryStream();
                foreach (var segment in segments)
                {
                    whole.Write(segment);
                }
                whole.Write(probe.AsSpan(0, 1));
                await content.CopyToAsync(whole, cancellationToken).ConfigureAwait(false);
                whole.Position = 0;
                return await ReadAsync(whole, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(probe);
            }
        }
        var read = new List<byte[]>();
        var buffer = ArrayPool<byte>.Shared.Rent(SegmentSize);
        try
        {
            long total = 0;
            while (true)
            {
                // Fill a whole segment before keeping it, so that only the last one can be short.
                var filled = await content.ReadAtLeastAsync(buffer.AsMemory(0, SegmentSize), SegmentSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (filled > 0)
                {
                    var segment = NewSegment(filled);
                    buffer.AsSpan(0, filled).CopyTo(segment);
                    read.Add(segment);
                    total += filled;
                }
                if (filled < SegmentSize)
                {
                    return new MessageContent([.. read], total);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // A segment is filled at once and kept as long as the message: not zeroed first (the read overwrites it), and from
    // 16 KiB up on the pinned object heap, where the collector never moves it. On the ordinary heap every collection
    // that promotes it copies it into fresh memory, gen0 to gen1 to gen2: for a 100 KiB message three times the page
    // faults and copying of keeping it once (docs/performance.md, issue 15). Like the large object heap, the pinned one is
    // freed by full collections only; unlike it, it takes segments of any size, so none is an 85,000-octet array.
    private static byte[] NewSegment(int size) =>
        size >= 16 * 1024 ? GC.AllocateUninitializedArray<byte>(size, pinned: true) : GC.AllocateUninitializedArray<byte>(size);

    /// <summary>A read-only, seekable stream over the octets; each caller gets its own position.</summary>
    public Stream OpenRead() => new Reader(this);

    private sealed class Reader(MessageContent content) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => content.Length;

        public override long Position
        {
            get => _position;
            set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
        }

        public override int Read(Span<byte> buffer)
        {
            var copied = 0;
            while (copied < buffer.Length && _position < content.Length)
            {
                var segment = content._segments[(int)(_position / SegmentSize)];
                var offset = (int)(_position % SegmentSize);
                var n = Math.Min(segment.Length - offset, buffer.Length - copied);
                segment.AsSpan(offset, n).CopyTo(buffer[copied..]);
                copied += n;
                _position += n;
            }
            return copied;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        // The base class would allocate a one-octet array for each call.
        public override int ReadByte()
        {
            Span<byte> octet = stackalloc byte[1];
            return Read(octet) == 1 ? octet[0] : -1;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<int>(cancellationToken) : new(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => content.Length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
