namespace Mail.Protocols.Imap.Fetch;

/// <summary>
/// The content stream of one message while its FETCH data is written: opened on first use, positioned by seeking when
/// the stream can, by reading forward (or reopening, to go back) when it cannot. The octets of a known header (the
/// summary's <see cref="Storage.MessageSummary.Header"/>) are read from memory: a section within the header never opens
/// the content.
/// </summary>
/// <param name="open">Opens the content from its first octet; null when every section read lies within <paramref name="header"/>.</param>
/// <param name="header">The first octets of the content (the message's header); empty when not known.</param>
internal sealed class ContentReader(Func<CancellationToken, ValueTask<Stream>>? open, ReadOnlyMemory<byte> header = default) : IAsyncDisposable
{
    /// <summary>The size of the chunks read from the content and copied to the output.</summary>
    public const int ChunkSize = 16 * 1024;

    private readonly Func<CancellationToken, ValueTask<Stream>>? _open = open;
    private readonly ReadOnlyMemory<byte> _header = header;
    private Stream? _stream;
    private long _position; // where the next read starts
    private long _streamPosition; // where the stream is
    private bool _seeked;
    private byte[]? _scratch;

    /// <summary>Reads up to <paramref name="buffer"/>'s length of octets at the current position; 0 at the end of the content.</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!_seeked)
        {
            throw new InvalidOperationException("Seek first.");
        }
        if (_position < _header.Length)
        {
            var count = (int)Math.Min(buffer.Length, _header.Length - _position);
            _header.Span.Slice((int)_position, count).CopyTo(buffer.Span);
            _position += count;
            return count;
        }
        if (_open is null)
        {
            return 0; // only the header is known: nothing lies beyond it
        }
        var stream = await PositionStreamAsync(cancellationToken).ConfigureAwait(false);
        var read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        _position += read;
        _streamPosition += read;
        return read;
    }

    /// <summary>Moves to <paramref name="offset"/> from the start of the content.</summary>
    /// <exception cref="InvalidDataException">The content ends before the offset.</exception>
    public async ValueTask SeekAsync(long offset, CancellationToken cancellationToken)
    {
        _seeked = true;
        _position = offset;
        if (offset > _header.Length || (offset == _header.Length && _open is not null))
        {
            await PositionStreamAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // Opens the stream if needed and brings it to _position: by seeking, or by reading forward (reopened to go back).
    private async ValueTask<Stream> PositionStreamAsync(CancellationToken cancellationToken)
    {
        var open = _open ?? throw new InvalidOperationException("A section beyond the header was asked for without a way to open the content.");
        if (_stream is null || (!_stream.CanSeek && _position < _streamPosition))
        {
            if (_stream is not null)
            {
                await _stream.DisposeAsync().ConfigureAwait(false);
                _stream = null;
            }
            _stream = await open(cancellationToken).ConfigureAwait(false);
            _streamPosition = 0;
        }
        if (_streamPosition == _position)
        {
            return _stream;
        }
        if (_stream.CanSeek)
        {
            _streamPosition = _stream.Seek(_position, SeekOrigin.Begin);
            return _stream;
        }
        _scratch ??= new byte[ChunkSize];
        while (_streamPosition < _position)
        {
            var read = await _stream.ReadAsync(_scratch.AsMemory(0, (int)Math.Min(ChunkSize, _position - _streamPosition)), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw ContentTooShort();
            }
            _streamPosition += read;
        }
        return _stream;
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
