using System.Buffers;
using System.Text;
using Mail.Protocols.Storage;
using MimeKit;
using MimeKit.Encodings;
using MimeKit.Utils;

namespace Mail.Protocols.Imap.Search;

/// <summary>
/// The text matching of SEARCH's string keys (RFC 9051 §6.4.4: "a case-insensitive substring match"): decoding of
/// header values (RFC 2047 encoded words), of envelope addresses, of the Date header, and the scan of a message's text parts
/// with their content-transfer-encoding and charset decoded, chunk by chunk so that no part is held in memory whole.
/// </summary>
internal static class SearchText
{
    private const int ChunkSize = 16 * 1024;

    static SearchText()
    {
        // .NET knows only the Unicode encodings, ASCII and Latin-1 until the code pages are registered; without them MimeKit
        // would decode KOI8-R, Shift_JIS, windows-1252 and the like as Latin-1, and a search for their text could never match.
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
    }

    /// <summary>Whether <paramref name="text"/> contains <paramref name="needle"/>, comparing case-insensitively (simple case folding, the same for every culture).</summary>
    public static bool Contains(string? text, string needle) =>
        text is not null && text.Contains(needle, StringComparison.OrdinalIgnoreCase);

    /// <summary>Decodes the RFC 2047 encoded words of an unstructured header value such as Subject, as the envelope keeps it.</summary>
    public static string DecodeText(string raw) =>
        raw.Contains("=?", StringComparison.Ordinal) ? Rfc2047.DecodeText(Encoding.UTF8.GetBytes(raw)) : raw;

    /// <summary>Decodes the RFC 2047 encoded words of a display name.</summary>
    public static string DecodePhrase(string raw) =>
        raw.Contains("=?", StringComparison.Ordinal) ? Rfc2047.DecodePhrase(Encoding.UTF8.GetBytes(raw)) : raw;

    /// <summary>
    /// The addresses of an envelope field as one searchable text: each <c>Name &lt;mailbox@host&gt;</c> with the name decoded,
    /// a group by its name, separated by commas (RFC 9051 §6.4.4 matches "the envelope structure's FROM field").
    /// </summary>
    public static string FormatAddresses(IReadOnlyList<EnvelopeAddress> addresses)
    {
        if (addresses.Count == 0)
        {
            return string.Empty;
        }
        var text = new StringBuilder();
        foreach (var address in addresses)
        {
            if (address.Host is null)
            {
                // A group's start carries its name in Mailbox; its end carries nothing.
                if (address.Mailbox is not null)
                {
                    text.Append(DecodePhrase(address.Mailbox)).Append(": ");
                }
                continue;
            }
            if (!string.IsNullOrEmpty(address.Name))
            {
                text.Append(DecodePhrase(address.Name)).Append(" <").Append(address.Mailbox).Append('@').Append(address.Host).Append('>');
            }
            else
            {
                text.Append(address.Mailbox).Append('@').Append(address.Host);
            }
            text.Append(", ");
        }
        return text.ToString();
    }

    /// <summary>
    /// The date of a Date header, "disregarding time and timezone" (RFC 3501 §6.4.4): the calendar date as the sender wrote it,
    /// in the sender's own offset. False for a missing or unreadable header.
    /// </summary>
    public static bool TryGetSentDate(string? dateHeader, out DateOnly date)
    {
        if (dateHeader is not null && DateUtils.TryParse(dateHeader, out var sent))
        {
            date = DateOnly.FromDateTime(sent.DateTime);
            return true;
        }
        date = default;
        return false;
    }

    /// <summary>The calendar date of an internal date, in the offset it was stored with, time disregarded.</summary>
    public static DateOnly DateOf(DateTimeOffset value) => DateOnly.FromDateTime(value.DateTime);

    /// <summary>
    /// Reads the fields of the header that lies in <c>[start, end)</c> of <paramref name="content"/> (the top-level header is
    /// <c>[0, MessageSummary.BodyOffset)</c>); none when there is no readable header there.
    /// </summary>
    public static async ValueTask<HeaderList> ReadHeaderAsync(Stream content, long start, long end, CancellationToken cancellationToken)
    {
        content.Position = start;
        using var header = new MimeKit.IO.BoundStream(content, start, end > start ? end : -1, leaveOpen: true);
        try
        {
            return await HeaderList.LoadAsync(ParserOptions.Default, header, cancellationToken).ConfigureAwait(false);
        }
        catch (FormatException)
        {
            // An empty message, or one whose first line is no header field: it has no header to match (MimeKit's ParseException is a FormatException).
            return [];
        }
    }

    /// <summary>
    /// Searches the MIME headers of the parts below the top level (each part's own header, and the header of an embedded
    /// message/rfc822) for the needles with <c>wanted[i]</c> (TEXT's: RFC 9051 §6.4.4 "in the header (including MIME header
    /// fields) or body"), and sets <c>found[i]</c> for each found, as <c>Name: decoded value</c> lines.
    /// </summary>
    public static async ValueTask ScanPartHeadersAsync(Stream content, BodyPartSummary body, IReadOnlyList<string> needles, bool[] wanted, bool[] found, CancellationToken cancellationToken)
    {
        var missing = 0;
        for (var i = 0; i < needles.Count; i++)
        {
            missing += wanted[i] && !found[i] ? 1 : 0;
        }
        var seen = new HashSet<long>();
        var parts = new Stack<BodyPartSummary>();
        Below(body, parts);
        while (parts.Count > 0 && missing > 0)
        {
            var part = parts.Pop();
            // An embedded message's top part starts where its message/rfc822 part's body does: one header, read once.
            if (part.BodyOffset > part.HeaderOffset && seen.Add(part.HeaderOffset))
            {
                var text = HeaderText(await ReadHeaderAsync(content, part.HeaderOffset, part.BodyOffset, cancellationToken).ConfigureAwait(false));
                for (var i = 0; i < needles.Count; i++)
                {
                    if (wanted[i] && !found[i] && Contains(text, needles[i]))
                    {
                        found[i] = true;
                        missing--;
                    }
                }
            }
            Below(part, parts);
        }

        static void Below(BodyPartSummary part, Stack<BodyPartSummary> parts)
        {
            if (part.Message is not null)
            {
                parts.Push(part.Message);
            }
            for (var i = part.Children.Count - 1; i >= 0; i--)
            {
                parts.Push(part.Children[i]);
            }
        }
    }

    /// <summary>The fields of a header as one text, <c>Name: decoded value</c> per line.</summary>
    public static string HeaderText(HeaderList headers)
    {
        var text = new StringBuilder();
        foreach (var header in headers)
        {
            text.Append(header.Field).Append(": ").Append(DecodedValue(header)).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>A header's value with its encoded words decoded and its folding removed; the raw value if MimeKit cannot decode it.</summary>
    public static string DecodedValue(Header header)
    {
        try
        {
            return header.Value ?? string.Empty;
        }
        catch (Exception)
        {
            // A value MimeKit cannot decode is still searchable as the octets it is.
            return Encoding.UTF8.GetString(header.RawValue);
        }
    }

    /// <summary>
    /// Scans the text parts of a message (text/* leaves, inside multiparts and embedded messages) for each needle, with the
    /// content-transfer-encoding and the charset of each part decoded, and sets <c>found[i]</c> for every needle found.
    /// A part is read in chunks, keeping only the end of the previous chunk that a needle could straddle.
    /// </summary>
    public static async ValueTask ScanBodyAsync(Stream content, BodyPartSummary body, IReadOnlyList<string> needles, bool[] found, CancellationToken cancellationToken)
    {
        var missing = 0;
        var longest = 0;
        for (var i = 0; i < needles.Count; i++)
        {
            if (!found[i])
            {
                missing++;
                longest = Math.Max(longest, needles[i].Length);
            }
        }
        if (missing == 0)
        {
            return;
        }
        var raw = ArrayPool<byte>.Shared.Rent(ChunkSize);
        byte[]? decoded = null;
        var chars = ArrayPool<char>.Shared.Rent(longest + ChunkSize);
        try
        {
            var parts = new Stack<BodyPartSummary>();
            parts.Push(body);
            while (parts.Count > 0 && missing > 0)
            {
                var part = parts.Pop();
                if (part.MediaType.Equals("multipart", StringComparison.OrdinalIgnoreCase))
                {
                    for (var i = part.Children.Count - 1; i >= 0; i--)
                    {
                        parts.Push(part.Children[i]);
                    }
                    continue;
                }
                if (part.Message is not null)
                {
                    parts.Push(part.Message);
                    continue;
                }
                if (!part.MediaType.Equals("text", StringComparison.OrdinalIgnoreCase) || part.BodySize <= 0)
                {
                    continue;
                }
                var transfer = CreateTransferDecoder(part.TransferEncoding);
                if (transfer is not null && (decoded is null || decoded.Length < transfer.EstimateOutputLength(raw.Length)))
                {
                    if (decoded is not null)
                    {
                        ArrayPool<byte>.Shared.Return(decoded);
                    }
                    decoded = ArrayPool<byte>.Shared.Rent(transfer.EstimateOutputLength(raw.Length));
                }
                var scan = new PartScan(GetEncoding(part).GetDecoder(), chars, needles, found, longest) { Missing = missing };
                content.Position = part.BodyOffset;
                var left = part.BodySize;
                while (left > 0 && scan.Missing > 0)
                {
                    var read = await content.ReadAsync(raw.AsMemory(0, (int)Math.Min(raw.Length, left)), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }
                    left -= read;
                    if (transfer is null)
                    {
                        scan.Feed(raw.AsSpan(0, read), flush: false);
                    }
                    else
                    {
                        var length = transfer.Decode(raw, 0, read, decoded!);
                        scan.Feed(decoded.AsSpan(0, length), flush: false);
                    }
                }
                scan.Feed([], flush: true);
                missing = scan.Missing;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
            if (decoded is not null)
            {
                ArrayPool<byte>.Shared.Return(decoded);
            }
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    private static IMimeDecoder? CreateTransferDecoder(string? transferEncoding)
    {
        if (transferEncoding is null || !MimeUtils.TryParse(transferEncoding, out ContentEncoding encoding))
        {
            return null;
        }
        return encoding switch
        {
            ContentEncoding.Base64 => new Base64Decoder(),
            ContentEncoding.QuotedPrintable => new QuotedPrintableDecoder(),
            ContentEncoding.UUEncode => new UUDecoder(),
            _ => null,
        };
    }

    /// <summary>The encoding of a text part's charset parameter; UTF-8 when it has none or one that is not known (US-ASCII text reads the same).</summary>
    private static Encoding GetEncoding(BodyPartSummary part)
    {
        foreach (var (name, value) in part.Parameters)
        {
            if (name.Equals("charset", StringComparison.OrdinalIgnoreCase))
            {
                try
                {
                    return new ContentType("text", "plain") { Charset = value }.CharsetEncoding ?? Encoding.UTF8;
                }
                catch (Exception)
                {
                    return Encoding.UTF8;
                }
            }
        }
        return Encoding.UTF8;
    }

    /// <summary>The characters of one part as they are decoded, searched for the needles not yet found.</summary>
    private struct PartScan(Decoder decoder, char[] chars, IReadOnlyList<string> needles, bool[] found, int longest)
    {
        private int _carry;

        public int Missing { get; set; }

        public void Feed(ReadOnlySpan<byte> bytes, bool flush)
        {
            while (Missing > 0)
            {
                decoder.Convert(bytes, chars.AsSpan(_carry), flush, out var bytesUsed, out var charsUsed, out var completed);
                bytes = bytes[bytesUsed..];
                var window = chars.AsSpan(0, _carry + charsUsed);
                if (charsUsed > 0)
                {
                    for (var i = 0; i < needles.Count; i++)
                    {
                        if (!found[i] && window.IndexOf(needles[i], StringComparison.OrdinalIgnoreCase) >= 0)
                        {
                            found[i] = true;
                            Missing--;
                        }
                    }
                    // Keep what a needle could still straddle: its length less one character.
                    var keep = Math.Min(window.Length, Math.Max(0, longest - 1));
                    window[^keep..].CopyTo(chars);
                    _carry = keep;
                }
                if (bytes.IsEmpty && (!flush || completed))
                {
                    break;
                }
            }
        }
    }
}
