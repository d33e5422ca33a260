namespace Mail.Protocols.Testing.Contracts;

/// <summary>A content stream whose second read finds its token cancelled (the client went away mid-message).</summary>
public sealed class CancellingStream(CancellationTokenSource cancellation) : Stream
{
    private int _reads;
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => 0; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer)
    {
        if (_reads++ == 0)
        {
            "Subject: half"u8.CopyTo(buffer);
            return 13;
        }
        cancellation.Cancel();
        cancellation.Token.ThrowIfCancellationRequested();
        return 0;
    }
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A content stream that fails with an I/O error after its first read.</summary>
public sealed class FailingStream : Stream
{
    private int _reads;
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => 0; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => _reads++ == 0 ? 10 : throw new IOException("disk went away");
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>
/// A content stream that is not seekable and gives at most <paramref name="chunk"/> octets a read, as a socket does: a
/// store must not assume one read fills its buffer or that the length is known.
/// </summary>
public sealed class TricklingStream(byte[] content, int chunk) : Stream
{
    private int _position;
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer)
    {
        var n = Math.Min(Math.Min(chunk, buffer.Length), content.Length - _position);
        content.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>A message of <paramref name="size"/> octets whose every octet depends on its offset, so a misplaced piece shows.</summary>
    public static byte[] Message(int size)
    {
        var message = new byte[size];
        "Subject: big\r\n\r\n"u8.CopyTo(message);
        for (var i = 16; i < size; i++)
        {
            message[i] = (byte)('a' + (i * 7 % 26));
        }
        return message;
    }
}
