namespace Mail.Protocols.Maildir.Layout;

/// <summary>
/// Message files with LF line ends: Dovecot (mail_save_crlf = no, its default), procmail and most local
/// delivery agents store messages that way, while the protocols send CRLF. Such a file is served with every bare
/// LF turned into CRLF, and its size is counted as served — what Dovecot does, so both agree on RFC822.SIZE.
/// </summary>
internal static class LineEnds
{
    /// <summary>The size of a file once every bare LF is CRLF.</summary>
    public static long WireSize(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024);
        var buffer = new byte[64 * 1024];
        long size = 0;
        var previous = (byte)0;
        int read;
        while ((read = file.Read(buffer)) > 0)
        {
            size += read;
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] == '\n' && previous != '\r')
                {
                    size++;
                }
                previous = buffer[i];
            }
        }
        return size;
    }

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
