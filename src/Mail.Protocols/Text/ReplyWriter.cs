using System.Buffers;
using System.Buffers.Text;

namespace Mail.Protocols.Text;

/// <summary>
/// Writes the pieces of protocol replies (numbers, atoms, quoted strings, literals, ASCII text) straight into
/// a reply buffer such as a connection's <see cref="System.IO.Pipelines.PipeWriter"/>, from spans, without
/// building strings. Quoting and atom rules are IMAP's (RFC 9051 §4.3 and §9); SMTP and POP3 use the numbers
/// and ASCII text.
/// </summary>
public static class ReplyWriter
{
    private static readonly SearchValues<byte> s_atomSpecials = SearchValues.Create("(){ %*\"\\]"u8);

    /// <summary>Writes <paramref name="value"/> in decimal.</summary>
    public static void WriteNumber(this IBufferWriter<byte> writer, long value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var span = writer.GetSpan(20);
        if (!Utf8Formatter.TryFormat(value, span, out var written))
        {
            throw new InvalidOperationException("The buffer is too small for a number.");
        }
        writer.Advance(written);
    }

    /// <summary>Writes <paramref name="value"/> in decimal (IMAP's 32-bit UIDs and sequence numbers, 63-bit MODSEQs).</summary>
    public static void WriteNumber(this IBufferWriter<byte> writer, ulong value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var span = writer.GetSpan(20);
        if (!Utf8Formatter.TryFormat(value, span, out var written))
        {
            throw new InvalidOperationException("The buffer is too small for a number.");
        }
        writer.Advance(written);
    }

    /// <summary>Writes ASCII text; a character outside ASCII becomes '?', and so do CR and LF (a reply line cannot be split by data).</summary>
    public static void WriteAscii(this IBufferWriter<byte> writer, ReadOnlySpan<char> text)
    {
        ArgumentNullException.ThrowIfNull(writer);
        while (!text.IsEmpty)
        {
            var span = writer.GetSpan(Math.Min(text.Length, 4096));
            var count = Math.Min(span.Length, text.Length);
            for (var i = 0; i < count; i++)
            {
                var c = text[i];
                span[i] = c is < (char)0x80 and not '\r' and not '\n' ? (byte)c : (byte)'?';
            }
            writer.Advance(count);
            text = text[count..];
        }
    }

    /// <summary>Writes CRLF.</summary>
    public static void WriteCrlf(this IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("\r\n"u8);
    }

    /// <summary>Whether <paramref name="value"/> is an IMAP atom: one or more printable ASCII octets, none of <c>(){ %*"\]</c>.</summary>
    public static bool IsAtom(ReadOnlySpan<byte> value) =>
        !value.IsEmpty && !value.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E) && !value.ContainsAny(s_atomSpecials);

    /// <summary>Writes an atom (a flag name, a keyword, a capability); throws if <paramref name="atom"/> is not one.</summary>
    public static void WriteAtom(this IBufferWriter<byte> writer, ReadOnlySpan<byte> atom)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (!IsAtom(atom))
        {
            throw new ArgumentException("Not an atom: empty, or with a control, space, non-ASCII or atom-special octet.", nameof(atom));
        }
        writer.Write(atom);
    }

    /// <summary>Whether <paramref name="value"/> can be sent as a quoted string: no NUL, CR or LF (those need a literal).</summary>
    public static bool CanQuote(ReadOnlySpan<byte> value) => value.IndexOfAny((byte)0, (byte)'\r', (byte)'\n') < 0;

    /// <summary>
    /// Writes <paramref name="value"/> as a quoted string, with <c>"</c> and <c>\</c> escaped by a backslash.
    /// Throws if it holds NUL, CR or LF (see <see cref="CanQuote"/>; write a literal instead).
    /// </summary>
    public static void WriteQuoted(this IBufferWriter<byte> writer, ReadOnlySpan<byte> value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (!CanQuote(value))
        {
            throw new ArgumentException("A quoted string cannot hold NUL, CR or LF; write a literal.", nameof(value));
        }
        writer.Write("\""u8);
        while (true)
        {
            var special = value.IndexOfAny((byte)'"', (byte)'\\');
            if (special < 0)
            {
                writer.Write(value);
                break;
            }
            writer.Write(value[..special]);
            var escaped = writer.GetSpan(2);
            escaped[0] = (byte)'\\';
            escaped[1] = value[special];
            writer.Advance(2);
            value = value[(special + 1)..];
        }
        writer.Write("\""u8);
    }

    /// <summary>Writes a quoted string if <paramref name="value"/> can be quoted, a literal otherwise.</summary>
    public static void WriteString(this IBufferWriter<byte> writer, ReadOnlySpan<byte> value)
    {
        if (CanQuote(value))
        {
            WriteQuoted(writer, value);
        }
        else
        {
            WriteLiteral(writer, value);
        }
    }

    /// <summary>Writes the announcement of a literal of <paramref name="length"/> octets, <c>{length}</c> and CRLF; the octets follow.</summary>
    public static void WriteLiteralHeader(this IBufferWriter<byte> writer, long length)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        writer.Write("{"u8);
        WriteNumber(writer, length);
        writer.Write("}\r\n"u8);
    }

    /// <summary>Writes <paramref name="octets"/> as a literal: <c>{n}</c>, CRLF, then the octets as they are.</summary>
    public static void WriteLiteral(this IBufferWriter<byte> writer, ReadOnlySpan<byte> octets)
    {
        WriteLiteralHeader(writer, octets.Length);
        writer.Write(octets);
    }
}
