using System.Text;

namespace Mail.Protocols.Text;

/// <summary>
/// Octets held in a .NET string without losing any: well-formed UTF-8 is decoded to its characters, and every other
/// octet (always 0x80 to 0xFF, since an ASCII octet is well-formed UTF-8) becomes the lone low surrogate U+DC80 to
/// U+DCFF, U+DC00 plus the octet, as Python's "surrogateescape" error handler does. Encoding maps those surrogates back
/// to their octets and everything else to UTF-8, so <c>GetBytes(Decode(octets))</c> is <c>octets</c> for any octets.
/// </summary>
/// <remarks>
/// <see cref="Storage.MessageSummaryParser"/> reads header values this way, so an 8-bit header that is not UTF-8 (a
/// Latin-1 Subject, say) reaches IMAP's ENVELOPE and BODYSTRUCTURE with its octets unchanged. A decoded string with
/// escapes is not valid UTF-16: serialisers that refuse or replace lone surrogates (System.Text.Json does) must be
/// given its octets instead (<see cref="GetBytes(ReadOnlySpan{char})"/>), and read back with <see cref="Decode"/>.
/// </remarks>
public static class EscapedOctets
{
    private const char First = '\uDC80';
    private const char Last = '\uDCFF';

    /// <summary>Decodes octets: UTF-8 where well-formed, each other octet as U+DC00 plus the octet.</summary>
    public static string Decode(ReadOnlySpan<byte> octets)
    {
        if (System.Text.Unicode.Utf8.IsValid(octets))
        {
            return Encoding.UTF8.GetString(octets);
        }
        var text = new StringBuilder(octets.Length);
        Span<char> chars = stackalloc char[2];
        while (!octets.IsEmpty)
        {
            // An invalid sequence is escaped one octet at a time: the octets after its first are decoded again, so a
            // lead octet cut short does not take the well-formed character after it along.
            if (Rune.DecodeFromUtf8(octets, out var rune, out var consumed) == System.Buffers.OperationStatus.Done)
            {
                text.Append(chars[..rune.EncodeToUtf16(chars)]);
                octets = octets[consumed..];
            }
            else
            {
                text.Append((char)(0xDC00 + octets[0]));
                octets = octets[1..];
            }
        }
        return text.ToString();
    }

    /// <summary>Whether <paramref name="text"/> holds an escaped octet (a lone surrogate U+DC80 to U+DCFF).</summary>
    public static bool HasEscapes(ReadOnlySpan<char> text)
    {
        for (var i = text.IndexOfAnyInRange('\uD800', '\uDFFF'); i >= 0 && i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++; // a pair: one character beyond the BMP
            }
            else if (text[i] is >= First and <= Last)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The number of octets <see cref="GetBytes(ReadOnlySpan{char}, Span{byte})"/> writes for <paramref name="text"/>.</summary>
    public static int GetByteCount(ReadOnlySpan<char> text)
    {
        var count = 0;
        Encode(text, Span<byte>.Empty, ref count, write: false);
        return count;
    }

    /// <summary>The octets of <paramref name="text"/>: escaped octets as themselves, the rest as UTF-8.</summary>
    public static byte[] GetBytes(ReadOnlySpan<char> text)
    {
        var bytes = new byte[GetByteCount(text)];
        GetBytes(text, bytes);
        return bytes;
    }

    /// <summary>
    /// Writes the octets of <paramref name="text"/> (escaped octets as themselves, the rest as UTF-8; a lone surrogate
    /// that is not an escape as the UTF-8 of U+FFFD) and returns how many; <paramref name="destination"/> must hold
    /// <see cref="GetByteCount"/> of them.
    /// </summary>
    public static int GetBytes(ReadOnlySpan<char> text, Span<byte> destination)
    {
        if (destination.Length < GetByteCount(text))
        {
            throw new ArgumentException("The destination is too small.", nameof(destination));
        }
        var written = 0;
        Encode(text, destination, ref written, write: true);
        return written;
    }

    private static void Encode(ReadOnlySpan<char> text, Span<byte> destination, ref int position, bool write)
    {
        Span<byte> utf8 = stackalloc byte[4];
        while (!text.IsEmpty)
        {
            var plain = text.IndexOfAnyInRange('\uD800', '\uDFFF');
            var run = plain < 0 ? text : text[..plain];
            if (!run.IsEmpty)
            {
                if (write)
                {
                    position += Encoding.UTF8.GetBytes(run, destination[position..]);
                }
                else
                {
                    position += Encoding.UTF8.GetByteCount(run);
                }
                text = text[run.Length..];
                continue;
            }
            // Pairs are consumed whole below, so a low surrogate found here is a lone one.
            if (text[0] is >= First and <= Last)
            {
                if (write)
                {
                    destination[position] = (byte)(text[0] - 0xDC00);
                }
                position++;
                text = text[1..];
                continue;
            }
            // A surrogate pair (a character beyond the BMP), or a lone surrogate that is no escape (U+FFFD).
            Rune.DecodeFromUtf16(text, out var rune, out var consumed);
            var length = rune.EncodeToUtf8(utf8);
            if (write)
            {
                utf8[..length].CopyTo(destination[position..]);
            }
            position += length;
            text = text[consumed..];
        }
    }
}
