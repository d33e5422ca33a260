namespace Mail.Protocols.Testing.Contracts;

/// <summary>
/// What the test streams below share: readable only, not seekable, no length; a subclass says what one read does.
/// Reads of every shape (array, span, memory, async) end in <see cref="Read(Span{byte})"/>.
/// </summary>
public abstract class ReadOnlyTestStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => 0; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public abstract override int Read(Span<byte> buffer);
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
#pragma warning disable RS0027 // Stream's own overloads, overridden as Stream declares them.
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));
#pragma warning restore RS0027
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A content stream whose second read finds its token cancelled (the client went away mid-message).</summary>
public sealed class CancellingStream(CancellationTokenSource cancellation) : ReadOnlyTestStream
{
    private int _reads;

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
}

/// <summary>A content stream that fails with an I/O error after its first read.</summary>
public sealed class FailingStream : ReadOnlyTestStream
{
    private int _reads;

    public override int Read(Span<byte> buffer) => _reads++ == 0 ? 10 : throw new IOException("disk went away");
}

/// <summary>
/// A content stream that is not seekable and gives at most <paramref name="chunk"/> octets a read, as a socket does: a
/// store must not assume one read fills its buffer or that the length is known.
/// </summary>
public sealed class TricklingStream(byte[] content, int chunk) : ReadOnlyTestStream
{
    private int _position;

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer)
    {
        var n = Math.Min(Math.Min(chunk, buffer.Length), content.Length - _position);
        content.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

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

/// <summary>
/// A seekable content stream whose <see cref="Length"/> says less than it holds (a file still being written, a wrapper
/// that miscounts): a backend must keep all of it or refuse it, never keep the first <c>Length</c> octets as if whole.
/// </summary>
public sealed class UnderstatedLengthStream(byte[] content, long statedLength) : Stream
{
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => statedLength;
    public override long Position { get => _position; set => _position = value; }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Max(0, Math.Min(buffer.Length, content.Length - _position));
        content.AsSpan((int)_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }
#pragma warning disable RS0027 // Stream's own overloads, overridden as Stream declares them.
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));
#pragma warning restore RS0027
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));
    public override long Seek(long offset, SeekOrigin origin) => _position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => statedLength + offset,
    };
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

