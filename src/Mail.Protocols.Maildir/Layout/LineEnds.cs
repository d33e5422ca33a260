using System.Buffers;

namespace Mail.Protocols.Maildir.Layout;

/// <summary>
/// Message files with LF line ends: Dovecot (mail_save_crlf = no, its default), procmail and most local
/// delivery agents store messages that way, while the protocols send CRLF. Such a file is served with every bare
/// LF turned into CRLF, and its size is counted as served — what Dovecot does, so both agree on RFC822.SIZE.
/// </summary>
internal static class LineEnds
{
    /// <summary>The size of a file once every bare LF is CRLF.</summary>
    /// <remarks>Runs for every file a first indexing finds without a ",W=" size: one pooled buffer, vectorized counts.</remarks>
    public static long WireSize(string path)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            long size = 0, offset = 0;
            var endedWithCr = false;
            int read;
            while ((read = RandomAccess.Read(file, buffer, offset)) > 0)
            {
                offset += read;
                var chunk = buffer.AsSpan(0, read);
                size += read + BareLineFeeds(chunk, endedWithCr);
                endedWithCr = chunk[^1] == '\r';
            }
            return size;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The LFs of <paramref name="chunk"/> not right after a CR; <paramref name="afterCr"/> says whether the chunk
    /// before it ended with one (so a leading LF pairs with it). Vectorized counts: this runs over whole messages.
    /// </summary>
    public static int BareLineFeeds(ReadOnlySpan<byte> chunk, bool afterCr) =>
        chunk.Count((byte)'\n') - chunk.Count("\r\n"u8) - (afterCr && chunk.Length > 0 && chunk[0] == '\n' ? 1 : 0);

    /// <summary>The content of a file with bare LFs turned into CRLF, as a seekable stream.</summary>
    public static MemoryStream ReadAsCrlf(string path, long wireSize)
    {
        var content = File.ReadAllBytes(path);
        var converted = new byte[Math.Max(wireSize, content.Length + content.Count(b => b == '\n'))];
        var length = 0;
        for (var i = 0; i < content.Length; i++)
        {
            if (content[i] == '\n' && (i == 0 || content[i - 1] != '\r'))
            {
                converted[length++] = (byte)'\r';
            }
            converted[length++] = content[i];
        }
        return new MemoryStream(converted, 0, length, writable: false);
    }
}
