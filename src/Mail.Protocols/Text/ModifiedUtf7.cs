using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Mail.Protocols.Text;

/// <summary>
/// IMAP's modified UTF-7 (RFC 3501 §5.1.3), the encoding of non-ASCII mailbox names on the wire (for a client that has
/// not enabled UTF8=ACCEPT) and in Dovecot's and Courier's Maildir folder names on disk. Printable ASCII stands for
/// itself, except "&amp;" which is written "&amp;-"; every other character is UTF-16BE in base64 with "," for "/" and
/// no padding, between "&amp;" and "-".
/// </summary>
public static class ModifiedUtf7
{
    private static readonly SearchValues<char> s_base64 = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,");

    /// <summary>Encodes <paramref name="name"/>; the result is printable ASCII.</summary>
    public static string Encode(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var output = new StringBuilder(name.Length);
        for (var i = 0; i < name.Length;)
        {
            var c = name[i];
            if (c is >= ' ' and <= '~')
            {
                output.Append(c == '&' ? "&-" : c);
                i++;
                continue;
            }
            var start = i;
            while (i < name.Length && name[i] is < ' ' or > '~')
            {
                i++;
            }
            var bytes = Encoding.BigEndianUnicode.GetBytes(name, start, i - start);
            output.Append('&').Append(Convert.ToBase64String(bytes).TrimEnd('=').Replace('/', ',')).Append('-');
        }
        return output.ToString();
    }

    /// <summary>Decodes a name; null when it is not valid modified UTF-7 (see <see cref="TryDecode(ReadOnlySpan{char}, out string?)"/>).</summary>
    public static string? Decode(string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        return TryDecode(encoded.AsSpan(), out var name) ? name : null;
    }

    /// <summary>Decodes a name given as the octets of the wire; false when it is not valid modified UTF-7.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> encoded, [NotNullWhen(true)] out string? name)
    {
        name = null;
        // Modified UTF-7 is printable ASCII only: an 8-bit octet or a control character is never part of it.
        foreach (var b in encoded)
        {
            if (b is < 0x20 or > 0x7e)
            {
                return false;
            }
        }
        return TryDecode(Encoding.ASCII.GetString(encoded).AsSpan(), out name);
    }

    /// <summary>
    /// Decodes a name; false when it is not valid modified UTF-7. Strict, as RFC 3501 §5.1.3 asks: only printable
    /// ASCII, every "&amp;" closed by "-", base64 that decodes to whole, well-formed UTF-16 with no leftover bits, and
    /// no printable ASCII character in base64 (it must stand for itself).
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<char> encoded, [NotNullWhen(true)] out string? name)
    {
        name = null;
        var output = new StringBuilder(encoded.Length);
        for (var i = 0; i < encoded.Length; i++)
        {
            var c = encoded[i];
            if (c is < ' ' or > '~')
            {
                return false;
            }
            if (c != '&')
            {
                output.Append(c);
                continue;
            }
            var length = encoded[(i + 1)..].IndexOf('-');
            if (length < 0)
            {
                return false;
            }
            if (length == 0)
            {
                output.Append('&');
                i++;
                continue;
            }
            if (!TryDecodeRun(encoded.Slice(i + 1, length), output))
            {
                return false;
            }
            i += length + 1;
        }
        name = output.ToString();
        return true;
    }

    private static bool TryDecodeRun(ReadOnlySpan<char> base64, StringBuilder output)
    {
        if (base64.ContainsAnyExcept(s_base64))
        {
            return false;
        }
        int bits = 0, bitCount = 0;
        var highSurrogate = '\0';
        foreach (var c in base64)
        {
            bits = (bits << 6) | Base64Value(c);
            bitCount += 6;
            if (bitCount < 16)
            {
                continue;
            }
            bitCount -= 16;
            var unit = (char)((bits >> bitCount) & 0xffff);
            bits &= (1 << bitCount) - 1;
            if (highSurrogate != '\0')
            {
                if (!char.IsLowSurrogate(unit))
                {
                    return false;
                }
                output.Append(highSurrogate).Append(unit);
                highSurrogate = '\0';
            }
            else if (char.IsHighSurrogate(unit))
            {
                highSurrogate = unit;
            }
            else if (char.IsLowSurrogate(unit) || unit is >= ' ' and <= '~')
            {
                return false;
            }
            else
            {
                output.Append(unit);
            }
        }
        // What is left must be fewer than 6 bits (no base64 character carries nothing) and all zero.
        return highSurrogate == '\0' && bitCount < 6 && bits == 0;
    }

    private static int Base64Value(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '+' => 62,
        _ => 63,
    };
}
