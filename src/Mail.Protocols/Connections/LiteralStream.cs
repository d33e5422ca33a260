using System.Buffers;

namespace Mail.Protocols.Connections;

// The stream a store reads a literal from: exactly the announced octets, straight from the pipe.
internal sealed class LiteralStream(LiteralRead read) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position
    {
        get => read.Length - read.Remaining;
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty || read.Remaining == 0)
        {
            return 0;
        }
        var piece = await read.ReadAsync(cancellationToken).ConfigureAwait(false);
        var count = (int)Math.Min(piece.Length, buffer.Length);
        piece.Slice(0, count).CopyTo(buffer.Span);
        read.Advance(count);
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // Synchronous readers block on the asynchronous read; stores should prefer ReadAsync/CopyToAsync.
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override int Read(Span<byte> buffer)
    {
        var rented = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            var count = Read(rented, 0, buffer.Length);
            rented.AsSpan(0, count).CopyTo(buffer);
            return count;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
