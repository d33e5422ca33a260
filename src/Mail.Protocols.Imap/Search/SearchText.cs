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
        if (missing == 0)
        {
            return;
        }
        await foreach (var text in PartHeaderTextsAsync(content, body, cancellationToken).ConfigureAwait(false))
        {
            for (var i = 0; i < needles.Count; i++)
            {
                if (wanted[i] && !found[i] && Contains(text, needles[i]))
                {
                    found[i] = true;
                    missing--;
                }
            }
            if (missing == 0)
            {
                break;
            }
        }
    }

    /// <summary>
    /// The MIME headers of the parts below the top level (each part's own header, and the header of an embedded message/rfc822),
    /// each as <see cref="HeaderText"/> makes it: what TEXT searches besides the top-level header and the text parts. The scan
    /// and the word index (TextIndex/) both read them here, so that they cannot differ.
    /// </summary>
    public static async IAsyncEnumerable<string> PartHeaderTextsAsync(Stream content, BodyPartSummary body, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var seen = new HashSet<long>();
        var parts = new Stack<BodyPartSummary>();
        Below(body, parts);
        while (parts.Count > 0)
        {
            var part = parts.Pop();
            // An embedded message's top part starts where its message/rfc822 part's body does: one header, read once.
            if (part.BodyOffset > part.HeaderOffset && seen.Add(part.HeaderOffset))
            {
                yield return HeaderText(await ReadHeaderAsync(content, part.HeaderOffset, part.BodyOffset, cancellationToken).ConfigureAwait(false));
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
        var scan = new NeedleScan(needles, found);
        if (scan.Wants)
        {
            try
            {
                await ReadTextPartsAsync(content, body, scan, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                scan.Dispose();
            }
        }
    }

    /// <summary>
    /// Reads the text parts of a message (text/* leaves, inside multiparts and embedded messages) in order, with the
    /// content-transfer-encoding and the charset of each part decoded, and gives their characters to <paramref name="sink"/>
    /// chunk by chunk (no part is held whole), ending each part with <see cref="ITextSink.EndPart"/>; stops as soon as the
    /// sink wants no more. What BODY searches: the scan and the word index (TextIndex/) both read it here.
    /// </summary>
    public static async ValueTask ReadTextPartsAsync(Stream content, BodyPartSummary body, ITextSink sink, CancellationToken cancellationToken)
    {
        var raw = ArrayPool<byte>.Shared.Rent(ChunkSize);
        byte[]? decoded = null;
        var chars = ArrayPool<char>.Shared.Rent(ChunkSize);
        try
        {
            var parts = new Stack<BodyPartSummary>();
            parts.Push(body);
            while (parts.Count > 0 && sink.Wants)
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
                var decoder = GetEncoding(part).GetDecoder();
                content.Position = part.BodyOffset;
                var left = part.BodySize;
                while (left > 0 && sink.Wants)
                {
                    var read = await content.ReadAsync(raw.AsMemory(0, (int)Math.Min(raw.Length, left)), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }
                    left -= read;
                    if (transfer is null)
                    {
                        Feed(decoder, chars, sink, raw.AsSpan(0, read), flush: false);
                    }
                    else
                    {
                        // The estimate counts what the decoder kept from the chunk before (a quoted-printable "=X" cut at the
                        // chunk's end), so it is asked before every chunk.
                        var needed = transfer.EstimateOutputLength(read);
                        if (decoded is null || decoded.Length < needed)
                        {
                            if (decoded is not null)
                            {
                                ArrayPool<byte>.Shared.Return(decoded);
                            }
                            decoded = ArrayPool<byte>.Shared.Rent(needed);
                        }
                        var length = transfer.Decode(raw, 0, read, decoded);
                        Feed(decoder, chars, sink, decoded.AsSpan(0, length), flush: false);
                    }
                }
                Feed(decoder, chars, sink, [], flush: true);
                sink.EndPart();
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

        static void Feed(Decoder decoder, char[] chars, ITextSink sink, ReadOnlySpan<byte> bytes, bool flush)
        {
            while (sink.Wants)
            {
                decoder.Convert(bytes, chars, flush, out var bytesUsed, out var charsUsed, out var completed);
                bytes = bytes[bytesUsed..];
                if (charsUsed > 0)
                {
                    sink.Text(chars.AsSpan(0, charsUsed));
                }
                if (bytes.IsEmpty && (!flush || completed))
                {
                    break;
                }
            }
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

    /// <summary>
    /// The needles searched for in the characters of the text parts as they are decoded: each chunk is searched with the end of
    /// the previous one of the same part that a needle could straddle (its length less one character) kept in front of it.
    /// </summary>
    private sealed class NeedleScan : ITextSink, IDisposable
    {
        private readonly IReadOnlyList<string> _needles;
        private readonly bool[] _found;
        private readonly int _keep;
        private char[]? _window;
        private int _carry;
        private int _missing;

        public NeedleScan(IReadOnlyList<string> needles, bool[] found)
        {
            _needles = needles;
            _found = found;
            var longest = 0;
            for (var i = 0; i < needles.Count; i++)
            {
                if (!found[i])
                {
                    _missing++;
                    longest = Math.Max(longest, needles[i].Length);
                }
            }
            _keep = Math.Max(0, longest - 1);
        }

        public bool Wants => _missing > 0;

        public void Text(ReadOnlySpan<char> chars)
        {
            _window ??= ArrayPool<char>.Shared.Rent(_keep + ChunkSize);
            if (_window.Length < _carry + chars.Length)
            {
                var larger = ArrayPool<char>.Shared.Rent(_carry + chars.Length);
                _window.AsSpan(0, _carry).CopyTo(larger);
                ArrayPool<char>.Shared.Return(_window);
                _window = larger;
            }
            chars.CopyTo(_window.AsSpan(_carry));
            var window = _window.AsSpan(0, _carry + chars.Length);
            for (var i = 0; i < _needles.Count; i++)
            {
                if (!_found[i] && window.IndexOf(_needles[i], StringComparison.OrdinalIgnoreCase) >= 0)
                {
                    _found[i] = true;
                    _missing--;
                }
            }
            var keep = Math.Min(window.Length, _keep);
            window[^keep..].CopyTo(_window);
            _carry = keep;
        }

        public void EndPart() => _carry = 0;

        public void Dispose()
        {
            if (_window is not null)
            {
                ArrayPool<char>.Shared.Return(_window);
                _window = null;
            }
        }
    }
}

/// <summary>Receives the decoded characters of a message's text parts from <see cref="SearchText.ReadTextPartsAsync"/>.</summary>
internal interface ITextSink
{
    /// <summary>Whether more text is wanted; reading stops once this is false.</summary>
    bool Wants { get; }

    /// <summary>The next characters of the current part (the span is valid during the call only).</summary>
    void Text(ReadOnlySpan<char> chars);

    /// <summary>The current part has ended: the next characters, if any, belong to another part.</summary>
    void EndPart();
}
