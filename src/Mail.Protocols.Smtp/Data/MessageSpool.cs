using System.Buffers;

namespace Mail.Protocols.Smtp.Data;

/// <summary>
/// Holds one incoming message while it is received: pooled 16 KiB chunks in memory up to a threshold,
/// then a file in the server's private spool directory (created 0600, deleted on dispose). Written once, then read (and re-read) from the start
/// for each delivery. No single large array is ever allocated, whatever the message size.
/// </summary>
internal sealed class MessageSpool : Stream
{
    private const int ChunkSize = 16 * 1024;
    private readonly long _memoryThreshold;
    private readonly Func<string> _directory;
    private readonly List<byte[]> _chunks = [];
    private FileStream? _file;
    private long _length;
    private long _position;

    // 1 MiB in memory per message: 1,000 concurrent sessions cost at most about 1 GiB before spilling to disk.
    // The directory is asked for only when a message spills to disk.
    public MessageSpool(Func<string> directory, long memoryThreshold = 1024 * 1024)
    {
        _directory = directory;
        _memoryThreshold = memoryThreshold;
    }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => true;
    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 && value <= _length ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    /// <summary>When set, appended data is dropped (the message is already too large; it is drained, not kept).</summary>
    public bool Discarding { get; set; }

    public void Append(ReadOnlySpan<byte> data)
    {
        if (Discarding)
        {
            return;
        }
        if (_file is null && _length + data.Length > _memoryThreshold)
        {
            SpillToFile();
        }
        if (_file is not null)
        {
            try
            {
                _file.Seek(0, SeekOrigin.End);
                _file.Write(data);
            }
            catch (IOException ex)
            {
                throw StorageFailure(ex);
            }
            _length += data.Length;
            return;
        }
        while (!data.IsEmpty)
        {
            var offset = (int)(_length % ChunkSize);
            if (offset == 0 && _length / ChunkSize == _chunks.Count)
            {
                _chunks.Add(ArrayPool<byte>.Shared.Rent(ChunkSize));
            }
            var chunk = _chunks[(int)(_length / ChunkSize)];
            var n = Math.Min(ChunkSize - offset, data.Length);
            data[..n].CopyTo(chunk.AsSpan(offset));
            data = data[n..];
            _length += n;
        }
    }

    private void SpillToFile()
    {
        try
        {
            var path = Path.Combine(_directory(), Guid.NewGuid().ToString("N") + ".spool");
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.ReadWrite,
                Share = FileShare.None,
                BufferSize = 64 * 1024,
                Options = FileOptions.DeleteOnClose,
            };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // the content is mail: owner only
            }
            _file = new FileStream(path, options);
            for (var i = 0; i < _chunks.Count; i++)
            {
                var n = (int)Math.Min(ChunkSize, _length - ((long)i * ChunkSize));
                _file.Write(_chunks[i], 0, n);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw StorageFailure(ex);
        }
        foreach (var chunk in _chunks)
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        _chunks.Clear();
    }

    // Disk trouble while spooling is a storage condition for the client (452/451), not a broken connection.
    private static Storage.MailboxStoreException StorageFailure(Exception ex) =>
        new((ex.HResult & 0xFFFF) == 28 ? Storage.MailboxStoreError.InsufficientStorage : Storage.MailboxStoreError.Unavailable,
            "The message spool could not be written.", ex);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var available = (int)Math.Min(buffer.Length, _length - _position);
        if (available <= 0)
        {
            return 0;
        }
        if (_file is not null)
        {
            _file.Position = _position;
            var read = _file.Read(buffer[..available]);
            _position += read;
            return read;
        }
        var total = 0;
        while (total < available)
        {
            var chunk = _chunks[(int)(_position / ChunkSize)];
            var offset = (int)(_position % ChunkSize);
            var n = Math.Min(ChunkSize - offset, available - total);
            chunk.AsSpan(offset, n).CopyTo(buffer[total..]);
            total += n;
            _position += n;
        }
        return total;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Write(byte[] buffer, int offset, int count) => Append(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer) => Append(buffer);

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _length + offset,
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var chunk in _chunks)
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
            _chunks.Clear();
            _file?.Dispose();
            _file = null;
        }
        base.Dispose(disposing);
    }
}
