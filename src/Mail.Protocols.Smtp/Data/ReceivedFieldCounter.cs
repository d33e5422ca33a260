using System.Buffers;

namespace Mail.Protocols.Smtp.Data;

/// <summary>
/// Counts the <c>Received:</c> fields of a message's header section, the loop detection of RFC 5321 §6.3: a message
/// that has passed through more hosts than any real route has is circling between forwarders, aliases or lists.
/// </summary>
internal static class ReceivedFieldCounter
{
    private static ReadOnlySpan<byte> FieldName => "received:"u8;

    /// <summary>
    /// Reads <paramref name="message"/> from its start through the end of its header section (the first empty line),
    /// or at most <paramref name="maxOctets"/>, and returns how many lines start with <c>Received:</c> in any letter
    /// case, stopping once the count passes <paramref name="stopAfter"/>.
    /// </summary>
    public static int Count(Stream message, int stopAfter, long maxOctets = 1024 * 1024)
    {
        message.Position = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(8192);
        try
        {
            var count = 0;
            var atLineStart = true;
            var matched = 0;      // octets of "received:" matched at the start of the current line
            var lineLength = 0;   // octets of the current line before its CR LF
            long read = 0;
            int n;
            while (read < maxOctets && (n = message.Read(buffer, 0, (int)Math.Min(buffer.Length, maxOctets - read))) > 0)
            {
                read += n;
                foreach (var b in buffer.AsSpan(0, n))
                {
                    if (b == '\n')
                    {
                        if (lineLength == 0)
                        {
                            return count; // the empty line: the body starts
                        }
                        atLineStart = true;
                        lineLength = 0;
                        matched = 0;
                        continue;
                    }
                    if (b == '\r')
                    {
                        continue;
                    }
                    lineLength++;
                    if (!atLineStart)
                    {
                        continue;
                    }
                    if ((b is >= (byte)'A' and <= (byte)'Z' ? b | 0x20 : b) == FieldName[matched])
                    {
                        if (++matched == FieldName.Length)
                        {
                            atLineStart = false;
                            if (++count > stopAfter)
                            {
                                return count;
                            }
                        }
                    }
                    else
                    {
                        atLineStart = false;
                    }
                }
            }
            return count;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
