using System.Buffers;
using System.Text;
using Mail.Protocols.Storage;
using Mail.Protocols.Text;

namespace Mail.Protocols.Imap.Fetch;

/// <summary>
/// Writes the FETCH data items that come from a message's <see cref="MessageInfo"/> and <see cref="MessageSummary"/>
/// (FLAGS, INTERNALDATE, ENVELOPE, BODY, BODYSTRUCTURE) into a reply buffer, from spans (RFC 9051 §7.5.2, §9).
/// </summary>
internal static class FetchDataWriter
{
    /// <summary>
    /// A string longer than this is sent as a literal rather than quoted: a quoted string is one line, and a reader
    /// that assembles lines (ours and many clients') bounds them; a literal announces its length.
    /// </summary>
    public const int MaxQuotedLength = 1024;

    /// <summary>The depth of nested body structures written; deeper parts do not exist in a summary (<see cref="MessageSummaryParser.MaxMimeDepth"/>).</summary>
    private const int MaxDepth = MessageSummaryParser.MaxMimeDepth + 1;

    private static ReadOnlySpan<byte> Nil => "NIL"u8;

    private static readonly byte[][] s_months =
        ["Jan"u8.ToArray(), "Feb"u8.ToArray(), "Mar"u8.ToArray(), "Apr"u8.ToArray(), "May"u8.ToArray(), "Jun"u8.ToArray(),
         "Jul"u8.ToArray(), "Aug"u8.ToArray(), "Sep"u8.ToArray(), "Oct"u8.ToArray(), "Nov"u8.ToArray(), "Dec"u8.ToArray()];

    /// <summary>
    /// Writes a flag list <c>(\Answered \Flagged \Deleted \Seen \Draft keyword ...)</c>: the system flags in that order
    /// (Dovecot's), then the keywords as stored. A keyword that is not an atom (no store of this library keeps one) is
    /// left out rather than breaking the response.
    /// </summary>
    public static void WriteFlags(IBufferWriter<byte> writer, MessageFlags flags, IReadOnlyCollection<string> keywords)
    {
        writer.Write("("u8);
        var first = true;
        WriteFlag(writer, flags, MessageFlags.Answered, "\\Answered"u8, ref first);
        WriteFlag(writer, flags, MessageFlags.Flagged, "\\Flagged"u8, ref first);
        WriteFlag(writer, flags, MessageFlags.Deleted, "\\Deleted"u8, ref first);
        WriteFlag(writer, flags, MessageFlags.Seen, "\\Seen"u8, ref first);
        WriteFlag(writer, flags, MessageFlags.Draft, "\\Draft"u8, ref first);
        foreach (var keyword in keywords)
        {
            if (!MessageKeywords.IsValid(keyword))
            {
                continue;
            }
            if (!first)
            {
                writer.Write(" "u8);
            }
            first = false;
            writer.WriteAscii(keyword);
        }
        writer.Write(")"u8);
    }

    private static void WriteFlag(IBufferWriter<byte> writer, MessageFlags flags, MessageFlags flag, ReadOnlySpan<byte> name, ref bool first)
    {
        if ((flags & flag) == 0)
        {
            return;
        }
        if (!first)
        {
            writer.Write(" "u8);
        }
        first = false;
        writer.Write(name);
    }

    /// <summary>
    /// Writes a date-time <c>"dd-Mon-yyyy hh:mm:ss +hhmm"</c> (RFC 9051 §9 <c>date-time</c>, the day as two digits,
    /// <c>date-day-fixed</c> allows both forms), in the offset the date carries, seconds truncated.
    /// </summary>
    public static void WriteDateTime(IBufferWriter<byte> writer, DateTimeOffset value)
    {
        var span = writer.GetSpan(28);
        var date = value.DateTime;
        span[0] = (byte)'"';
        Two(span[1..], date.Day);
        span[3] = (byte)'-';
        s_months[date.Month - 1].CopyTo(span[4..]);
        span[7] = (byte)'-';
        Two(span[8..], date.Year / 100);
        Two(span[10..], date.Year % 100);
        span[12] = (byte)' ';
        Two(span[13..], date.Hour);
        span[15] = (byte)':';
        Two(span[16..], date.Minute);
        span[18] = (byte)':';
        Two(span[19..], date.Second);
        span[21] = (byte)' ';
        var minutes = (int)Math.Round(value.Offset.TotalMinutes);
        span[22] = minutes < 0 ? (byte)'-' : (byte)'+';
        minutes = Math.Abs(minutes);
        Two(span[23..], minutes / 60);
        Two(span[25..], minutes % 60);
        span[27] = (byte)'"';
        writer.Advance(28);

        static void Two(Span<byte> span, int value)
        {
            span[0] = (byte)('0' + (value / 10 % 10));
            span[1] = (byte)('0' + (value % 10));
        }
    }

    /// <summary>
    /// Writes <c>NIL</c> for null, otherwise the octets of <paramref name="value"/> (<see cref="EscapedOctets"/>: the
    /// octets a summary's value had in the message) as a quoted string, or as a literal when they hold CR, LF, NUL or
    /// 8-bit octets (IMAP4rev1's quoted strings are 7-bit, RFC 3501 §9) or are longer than <see cref="MaxQuotedLength"/>.
    /// </summary>
    public static void WriteNString(IBufferWriter<byte> writer, string? value)
    {
        if (value is null)
        {
            writer.Write(Nil);
            return;
        }
        WriteString(writer, value);
    }

    /// <summary>
    /// Writes <paramref name="value"/> as a string, quoted or literal as <see cref="WriteNString"/> does: its UTF-8,
    /// except that an octet the summary kept as an escape (a header octet that was not UTF-8) is written as that octet,
    /// so ENVELOPE and BODYSTRUCTURE carry a header's octets as they are.
    /// </summary>
    public static void WriteString(IBufferWriter<byte> writer, string value)
    {
        if (TryWriteQuotedAscii(writer, value))
        {
            return;
        }
        var count = EscapedOctets.GetByteCount(value);
        byte[]? rented = null;
        var buffer = count <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(count));
        try
        {
            var bytes = buffer[..EscapedOctets.GetBytes(value, buffer)];
            WriteString(writer, bytes);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    // Most values of an envelope or body structure are short 7-bit text without CR, LF or NUL: their characters are their
    // octets, written quoted straight from the string (what the general path below writes for them, in one pass).
    private static bool TryWriteQuotedAscii(IBufferWriter<byte> writer, string value)
    {
        var text = value.AsSpan();
        if (text.Length > MaxQuotedLength || text.ContainsAnyExceptInRange('\u0001', '\u007F') || text.IndexOfAny('\r', '\n') >= 0)
        {
            return false;
        }
        var span = writer.GetSpan(2 * text.Length + 2);
        var length = 1;
        span[0] = (byte)'"';
        if (text.IndexOfAny('"', '\\') < 0)
        {
            Ascii.FromUtf16(text, span[1..], out var written);
            length += written;
        }
        else
        {
            foreach (var c in text)
            {
                if (c is '"' or '\\')
                {
                    span[length++] = (byte)'\\';
                }
                span[length++] = (byte)c;
            }
        }
        span[length++] = (byte)'"';
        writer.Advance(length);
        return true;
    }

    /// <summary>Writes octets as a string: quoted when short 7-bit text without CR, LF or NUL, a literal otherwise.</summary>
    public static void WriteString(IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length <= MaxQuotedLength && !bytes.ContainsAnyExceptInRange((byte)0x01, (byte)0x7F) && ReplyWriter.CanQuote(bytes))
        {
            writer.WriteQuoted(bytes);
        }
        else
        {
            writer.WriteLiteral(bytes);
        }
    }

    /// <summary>
    /// Writes an ENVELOPE (RFC 9051 §7.5.2): date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to,
    /// message-id; NIL for an absent field and for an empty address list.
    /// </summary>
    public static void WriteEnvelope(IBufferWriter<byte> writer, MessageEnvelope envelope)
    {
        writer.Write("("u8);
        WriteNString(writer, envelope.Date);
        writer.Write(" "u8);
        WriteNString(writer, envelope.Subject);
        writer.Write(" "u8);
        WriteAddresses(writer, envelope.From);
        writer.Write(" "u8);
        WriteAddresses(writer, envelope.Sender);
        writer.Write(" "u8);
        WriteAddresses(writer, envelope.ReplyTo);
        writer.Write(" "u8);
        WriteAddresses(writer, envelope.To);
        writer.Write(" "u8);
        WriteAddresses(writer, envelope.Cc);
        writer.Write(" "u8);
        WriteAddresses(writer, envelope.Bcc);
        writer.Write(" "u8);
        WriteNString(writer, envelope.InReplyTo);
        writer.Write(" "u8);
        WriteNString(writer, envelope.MessageId);
        writer.Write(")"u8);
    }

    /// <summary>
    /// Writes an address list <c>((name adl mailbox host) ...)</c>, or NIL when empty. Groups are as RFC 9051 §7.5.2 has
    /// them in the summary: a start <c>(NIL NIL "group" NIL)</c>, the members, an end <c>(NIL NIL NIL NIL)</c>.
    /// </summary>
    public static void WriteAddresses(IBufferWriter<byte> writer, IReadOnlyList<EnvelopeAddress> addresses)
    {
        if (addresses.Count == 0)
        {
            writer.Write(Nil);
            return;
        }
        writer.Write("("u8);
        foreach (var address in addresses)
        {
            writer.Write("("u8);
            WriteNString(writer, address.Name);
            writer.Write(" "u8);
            WriteNString(writer, address.Route);
            writer.Write(" "u8);
            WriteNString(writer, address.Mailbox);
            writer.Write(" "u8);
            WriteNString(writer, address.Host);
            writer.Write(")"u8);
        }
        writer.Write(")"u8);
    }

    /// <summary>
    /// Writes a body structure (RFC 9051 §9 <c>body</c>): without extension data for BODY, with it for BODYSTRUCTURE
    /// (<paramref name="extensible"/>). Recursion is bounded by the summary's depth (<see cref="MessageSummaryParser.MaxMimeDepth"/>);
    /// a structure deeper than that (not made by this library's parser) is cut to a leaf there.
    /// </summary>
    public static void WriteBodyStructure(IBufferWriter<byte> writer, BodyPartSummary part, bool extensible) =>
        WriteBody(writer, part, extensible, 1);

    private static void WriteBody(IBufferWriter<byte> writer, BodyPartSummary part, bool extensible, int depth)
    {
        writer.Write("("u8);
        if (IsMultipart(part))
        {
            if (part.Children.Count == 0 || depth >= MaxDepth)
            {
                // body-type-mpart needs one part at least (1*body). A multipart without parts (or cut at the depth limit)
                // shows one empty text/plain part, as Dovecot does for a multipart that has none.
                writer.Write("(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"u8);
                writer.Write(extensible ? " NIL NIL NIL NIL)"u8 : ")"u8);
            }
            else
            {
                foreach (var child in part.Children)
                {
                    WriteBody(writer, child, extensible, depth + 1);
                }
            }
            writer.Write(" "u8);
            WriteString(writer, part.MediaSubtype);
            if (extensible)
            {
                // body-ext-mpart = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
                writer.Write(" "u8);
                WriteParameters(writer, part.Parameters);
                WriteExtensionTail(writer, part);
            }
            writer.Write(")"u8);
            return;
        }

        // body-type-1part: type, subtype, body-fields, then per type the envelope, body and lines (message) or lines (text).
        WriteString(writer, part.MediaType);
        writer.Write(" "u8);
        WriteString(writer, part.MediaSubtype);
        writer.Write(" "u8);
        WriteParameters(writer, part.Parameters, DefaultCharset(part));
        writer.Write(" "u8);
        WriteNString(writer, part.ContentId);
        writer.Write(" "u8);
        WriteNString(writer, part.Description);
        writer.Write(" "u8);
        WriteString(writer, string.IsNullOrEmpty(part.TransferEncoding) ? "7bit" : part.TransferEncoding);
        writer.Write(" "u8);
        writer.WriteNumber(Math.Max(0, part.BodySize));
        if (IsMessage(part) && depth < MaxDepth)
        {
            writer.Write(" "u8);
            WriteEnvelope(writer, part.MessageEnvelope!);
            writer.Write(" "u8);
            WriteBody(writer, part.Message!, extensible, depth + 1);
            writer.Write(" "u8);
            writer.WriteNumber((long)part.Lines);
        }
        else if (part.MediaType.Equals("text", StringComparison.OrdinalIgnoreCase))
        {
            writer.Write(" "u8);
            writer.WriteNumber((long)part.Lines);
        }
        if (extensible)
        {
            // body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
            writer.Write(" "u8);
            WriteNString(writer, part.Md5);
            WriteExtensionTail(writer, part);
        }
        writer.Write(")"u8);
    }

    // SP body-fld-dsp SP body-fld-lang SP body-fld-loc, shared by both extension forms.
    private static void WriteExtensionTail(IBufferWriter<byte> writer, BodyPartSummary part)
    {
        writer.Write(" "u8);
        if (part.Disposition is null)
        {
            writer.Write(Nil);
        }
        else
        {
            writer.Write("("u8);
            WriteString(writer, part.Disposition);
            writer.Write(" "u8);
            WriteParameters(writer, part.DispositionParameters);
            writer.Write(")"u8);
        }
        writer.Write(" "u8);
        if (part.Languages.Count == 0)
        {
            writer.Write(Nil);
        }
        else
        {
            writer.Write("("u8);
            for (var i = 0; i < part.Languages.Count; i++)
            {
                if (i > 0)
                {
                    writer.Write(" "u8);
                }
                WriteString(writer, part.Languages[i]);
            }
            writer.Write(")"u8);
        }
        writer.Write(" "u8);
        WriteNString(writer, part.Location);
    }

    // RFC 2045 §5.2: a text part without a charset parameter is us-ascii; the default is written as a parameter after
    // the message's own, as Dovecot does, so a client sees the charset it must assume.
    private static bool DefaultCharset(BodyPartSummary part)
    {
        if (!part.MediaType.Equals("text", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        foreach (var parameter in part.Parameters)
        {
            if (string.Equals(parameter.Key, "charset", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }
        return true;
    }

    // body-fld-param = "(" string SP string *(SP string SP string) ")" / nil
    private static void WriteParameters(IBufferWriter<byte> writer, IReadOnlyList<KeyValuePair<string, string>> parameters, bool defaultCharset = false)
    {
        if (parameters.Count == 0 && !defaultCharset)
        {
            writer.Write(Nil);
            return;
        }
        writer.Write("("u8);
        for (var i = 0; i < parameters.Count; i++)
        {
            if (i > 0)
            {
                writer.Write(" "u8);
            }
            WriteString(writer, parameters[i].Key ?? "");
            writer.Write(" "u8);
            WriteString(writer, parameters[i].Value ?? "");
        }
        if (defaultCharset)
        {
            writer.Write(parameters.Count > 0 ? " \"charset\" \"us-ascii\""u8 : "\"charset\" \"us-ascii\""u8);
        }
        writer.Write(")"u8);
    }

    /// <summary>Whether the part is a multipart (by its media type; its children may have been cut at the depth limit).</summary>
    public static bool IsMultipart(BodyPartSummary part) =>
        part.Children.Count > 0 || part.MediaType.Equals("multipart", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the part is an embedded message with its structure (message/rfc822 or message/global, RFC 9051 §9 <c>media-message</c>).</summary>
    public static bool IsMessage(BodyPartSummary part) =>
        part.Message is not null && part.MessageEnvelope is not null &&
        part.MediaType.Equals("message", StringComparison.OrdinalIgnoreCase) &&
        (part.MediaSubtype.Equals("rfc822", StringComparison.OrdinalIgnoreCase) || part.MediaSubtype.Equals("global", StringComparison.OrdinalIgnoreCase));
}
