namespace Mail.Protocols.Imap.Fetch;

/// <summary>
/// The content stream of one message while its FETCH data is written: opened on first use, positioned by seeking when
/// the stream can, by reading forward (or reopening, to go back) when it cannot.
/// </summary>
internal sealed class ContentReader(Func<CancellationToken, ValueTask<Stream>> open) : IAsyncDisposable
{
    /// <summary>The size of the chunks read from the content and copied to the output.</summary>
    public const int ChunkSize = 16 * 1024;

    private readonly Func<CancellationToken, ValueTask<Stream>> _open = open;
    private Stream? _stream;
    private long _position;
    private byte[]? _scratch;

    /// <summary>Reads up to <paramref name="buffer"/>'s length of octets at the current position; 0 at the end of the content.</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var stream = _stream ?? throw new InvalidOperationException("Seek first.");
        var read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        _position += read;
        return read;
    }

    /// <summary>Moves to <paramref name="offset"/> from the start of the content.</summary>
    /// <exception cref="InvalidDataException">The content ends before the offset.</exception>
    public async ValueTask SeekAsync(long offset, CancellationToken cancellationToken)
    {
        if (_stream is null || (!_stream.CanSeek && offset < _position))
        {
            if (_stream is not null)
            {
                await _stream.DisposeAsync().ConfigureAwait(false);
                _stream = null;
            }
            _stream = await _open(cancellationToken).ConfigureAwait(false);
            _position = 0;
        }
        if (_stream.CanSeek)
        {
            _position = _stream.Seek(offset, SeekOrigin.Begin);
            return;
        }
        _scratch ??= new byte[ChunkSize];
        while (_position < offset)
        {
            var read = await ReadAsync(_scratch.AsMemory(0, (int)Math.Min(ChunkSize, offset - _position)), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw ContentTooShort();
            }
        }
    }

    /// <summary>The exception for a content stream shorter than its summary or size says.</summary>
    public static InvalidDataException ContentTooShort() =>
        new("The message content ended before the size its summary and RFC822.SIZE give; the literal announced cannot be completed.");

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_stream is not null)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
            _stream = null;
        }
    }
}
