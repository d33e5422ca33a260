using System.Buffers;
using Npgsql;
using NpgsqlTypes;

namespace Mail.Protocols.PostgreSql.Content;

/// <summary>
/// Message content as rows of at most <see cref="ChunkSize"/> octets (<c>id, chunk, data</c>): written as it is read
/// from the sender's stream and read back one chunk at a time, so neither side holds a large message whole.
/// </summary>
internal static class ContentChunks
{
    /// <summary>Octets per row: large enough that a typical message is one or two rows, small enough to hold in memory.</summary>
    public const int ChunkSize = 256 * 1024;

    /// <summary>
    /// Reads <paramref name="content"/> to its end (whatever its Length says) into rows of <paramref name="table"/> for
    /// <paramref name="id"/>, inside the caller's transaction; returns the number of octets. With <paramref name="firstChunk"/> above 0 the caller wrote the rows before it, each of <see cref="ChunkSize"/> octets,
    /// and the octets returned are those from it on.
    /// </summary>
    public static async Task<long> WriteAsync<TId>(NpgsqlConnection connection, NpgsqlTransaction transaction, string table, TId id, Stream content,
        CancellationToken cancellationToken, int firstChunk = 0)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            using var insert = new NpgsqlCommand($"INSERT INTO {table} (id, chunk, data) VALUES ($1, $2, $3)", connection, transaction);
            var idParameter = new NpgsqlParameter<TId> { TypedValue = id };
            var chunkParameter = new NpgsqlParameter<int>();
            var dataParameter = new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea };
            insert.Parameters.Add(idParameter);
            insert.Parameters.Add(chunkParameter);
            insert.Parameters.Add(dataParameter);
            long total = 0;
            for (var chunk = firstChunk; ; chunk++)
            {
                var filled = await content.ReadAtLeastAsync(buffer.AsMemory(0, ChunkSize), ChunkSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (filled == 0 && chunk > 0)
                {
                    return total;
                }
                chunkParameter.TypedValue = chunk;
                dataParameter.Value = new ArraySegment<byte>(buffer, 0, filled);
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                total += filled;
                if (filled < ChunkSize)
                {
                    return total;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>
/// The content of one entry, read from its rows as the reader moves through it: readable and seekable, holding one chunk
/// at a time. Each chunk is fetched on a connection of its own from the pool (synchronously for a synchronous read, as
/// MimeKit's parser makes: so not with Npgsql's multiplexing, which has no synchronous I/O). A row that is gone (the entry
/// was removed meanwhile), or not of the size it was written with, is an <see cref="IOException"/>.
/// </summary>
internal sealed class ChunkedContentStream<TId>(NpgsqlDataSource dataSource, string table, TId id, long length) : Stream
{
    private byte[] _chunk = [];
    private int _chunkIndex = -1;
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty || _position >= length)
        {
            return 0;
        }
        var index = (int)(_position / ContentChunks.ChunkSize);
        if (index != _chunkIndex)
        {
            using var connection = dataSource.OpenConnection();
            using var select = Select(connection, index);
            Loaded(index, select.ExecuteScalar());
        }
        return Copy(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty || _position >= length)
        {
            return 0;
        }
        var index = (int)(_position / ContentChunks.ChunkSize);
        if (index != _chunkIndex)
        {
            var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionScope = connection.ConfigureAwait(false);
            using var select = Select(connection, index);
            Loaded(index, await select.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false));
        }
        return Copy(buffer.Span);
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        ArgumentOutOfRangeException.ThrowIfNegative(target, nameof(offset));
        return _position = target;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private NpgsqlCommand Select(NpgsqlConnection connection, int index)
    {
        var select = new NpgsqlCommand($"SELECT data FROM {table} WHERE id = $1 AND chunk = $2", connection);
        select.Parameters.Add(new NpgsqlParameter<TId> { TypedValue = id });
        select.Parameters.Add(new NpgsqlParameter<int> { TypedValue = index });
        return select;
    }

    private void Loaded(int index, object? data)
    {
        var chunk = data as byte[] ?? throw new IOException($"The content of {id} is gone (the entry was removed).");
        // Every row but the last is exactly ChunkSize, the last ends at the recorded length: anything else was written
        // another way, and reading it by offset would give wrong octets.
        var expected = Math.Min(ContentChunks.ChunkSize, length - ((long)index * ContentChunks.ChunkSize));
        if (chunk.Length != expected)
        {
            throw new IOException($"The content of {id} has a chunk {index} of {chunk.Length} octets where {expected} were written.");
        }
        _chunk = chunk;
        _chunkIndex = index;
    }

    private int Copy(Span<byte> buffer)
    {
        var within = (int)(_position - (long)_chunkIndex * ContentChunks.ChunkSize);
        var count = Math.Min(buffer.Length, _chunk.Length - within);
        if (count <= 0)
        {
            throw new IOException($"The content of {id} is shorter than its recorded length.");
        }
        _chunk.AsSpan(within, count).CopyTo(buffer);
        _position += count;
        return count;
    }
}
