using System.Text;
using Mail.Protocols.Text;
using MimeKit;

namespace Mail.Protocols.Storage;

/// <summary>
/// Computes a <see cref="MessageSummary"/> from message content with MimeKit's parser, in one pass over a seekable stream.
/// Header values are kept as they are in the message, as IMAP sends them (RFC 9051 §7.5.2): RFC 2047 encoded words are
/// not decoded, a folded value is unfolded only by removing its line breaks (RFC 5322 §2.2.3), whitespace kept, and
/// octets are decoded as <see cref="EscapedOctets"/> (UTF-8 where well-formed, any other octet kept as an escape), so
/// the octets of every value are those of the message.
/// </summary>
public static class MessageSummaryParser
{
    /// <summary>
    /// The deepest level of MIME parts summarised: the message's body is level 1, the parts of a multipart (or the
    /// body of an embedded message/rfc822) one level below it. A multipart or message/rfc822 part at this level is
    /// summarised as an opaque leaf: its media type and offsets, without <see cref="BodyPartSummary.Children"/>,
    /// <see cref="BodyPartSummary.Message"/> or <see cref="BodyPartSummary.MessageEnvelope"/>; what lies deeper is
    /// part of its body. Stores that serialise summaries size their limits from this constant.
    /// </summary>
    public const int MaxMimeDepth = 64;

    /// <summary>
    /// The longest top-level header (blank line included) a summary keeps as <see cref="MessageSummary.Header"/>: 8 KiB,
    /// more than the header of nearly all mail (a few hundred octets from a client, a few KiB after relays, DKIM and
    /// list headers), so that a header fetch of a folder need not open its messages, while a message with a larger
    /// header costs its store no more than this. See docs/imap.md, "Header cache".
    /// </summary>
    public const int MaxHeaderLength = 8 * 1024;

    // Stands in for "=?" while MimeKit parses an address list, so that it sees no encoded word to decode.
    private const string EncodedWordStart = "=?";
    private const string Placeholder = "\uE000";

    private static readonly ParserOptions s_options = CreateOptions();

    /// <summary>Parses <paramref name="content"/> from its current position. The stream must be seekable; it is not disposed.</summary>
    public static MessageSummary Parse(Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var offsets = new Offsets();
        // persistent: true keeps part contents as offsets into the stream instead of copying them. MimeKit's parser sees
        // full reads only: given short ones (a pipe, a converting stream) it can read a part's header that runs into the
        // next boundary differently, and the summary of one message would depend on how its stream happened to read.
        var parser = new MimeParser(s_options, new FullReads(content), persistent: true);
        parser.MimeEntityBegin += (_, e) => offsets.Begins[e.Entity] = e.BeginOffset;
        parser.MimeEntityEnd += (_, e) => offsets.Ends[e.Entity] = e;
        parser.MimeMessageEnd += (_, e) => offsets.MessageHeaderEnds[e.Message] = e.HeadersEndOffset;
        var start = content.Position;
        MimeMessage message;
        try
        {
            message = parser.ParseMessage(cancellationToken);
        }
        catch (FormatException)
        {
            // No header at all (an empty message, or text whose first line is not a field): whatever a client appended
            // still gets a summary, so FETCH and SEARCH of the folder keep working.
            content.Position = start;
            return Headerless(content, cancellationToken);
        }
        var body = BuildPart(message.Body, 1, offsets);
        var bodyOffset = offsets.MessageHeaderEnds.TryGetValue(message, out var end) ? end : body.BodyOffset;
        return new MessageSummary(BuildEnvelope(message), body)
        {
            BodyOffset = bodyOffset,
            Header = ReadHeader(content, start, bodyOffset),
        };
    }

    // The header's octets read again from the content (MimeKit keeps them parsed, not as they were), or null when it is
    // longer than MaxHeaderLength or the content turns out shorter than the offsets say.
    private static ReadOnlyMemory<byte>? ReadHeader(Stream content, long start, long end)
    {
        var length = end - start;
        if (length < 0 || length > MaxHeaderLength)
        {
            return null;
        }
        var octets = new byte[length];
        content.Position = start;
        return content.ReadAtLeast(octets, octets.Length, throwOnEndOfStream: false) == octets.Length ? octets : (ReadOnlyMemory<byte>?)null;
    }

    // A message without a header: an empty envelope and one text/plain body that is the whole content.
    private static MessageSummary Headerless(Stream content, CancellationToken cancellationToken)
    {
        long length = 0;
        var lines = 0;
        var last = (byte)'\n';
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = content.Read(buffer)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var span = buffer.AsSpan(0, read);
            lines += span.Count((byte)'\n');
            last = span[^1];
            length += read;
        }
        if (length > 0 && last != (byte)'\n')
        {
            lines++; // a last line without a line break is a line too
        }
        var body = new BodyPartSummary
        {
            MediaType = "text",
            MediaSubtype = "plain",
            Parameters = [new("charset", "us-ascii")],
            TransferEncoding = "7bit",
            EndOffset = length,
            Lines = lines,
        };
        var envelope = new MessageEnvelope(null, null, [], [], [], [], [], [], null, null);
        return new MessageSummary(envelope, body) { BodyOffset = 0, Header = ReadOnlyMemory<byte>.Empty };
    }

    // A seekable stream as it is, except that a read returns as many octets as asked for unless the content ends first.
    private sealed class FullReads(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => false;
        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => inner.Position = value;
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.ReadAtLeast(buffer.AsSpan(offset, count), count, throwOnEndOfStream: false);

        public override int Read(Span<byte> buffer) => inner.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAtLeastAsync(buffer.AsMemory(offset, count), count, throwOnEndOfStream: false, cancellationToken).AsTask();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class Offsets
    {
        public Dictionary<MimeEntity, long> Begins { get; } = new(ReferenceEqualityComparer.Instance);
        public Dictionary<MimeEntity, MimeEntityEndEventArgs> Ends { get; } = new(ReferenceEqualityComparer.Instance);
        public Dictionary<MimeMessage, long> MessageHeaderEnds { get; } = new(ReferenceEqualityComparer.Instance);
    }

    private static ParserOptions CreateOptions()
    {
        var options = ParserOptions.Default.Clone();
        // MimeKit's own cut only has to come after ours (BuildPart stops at MaxMimeDepth), whichever way it counts.
        options.MaxMimeDepth = MaxMimeDepth + 2;
        return options;
    }

    private static BodyPartSummary BuildPart(MimeEntity? entity, int level, Offsets offsets)
    {
        if (entity is null)
        {
            return new BodyPartSummary { MediaType = "text", MediaSubtype = "plain", TransferEncoding = "7bit" };
        }
        var type = entity.ContentType;
        offsets.Begins.TryGetValue(entity, out var begin);
        offsets.Ends.TryGetValue(entity, out var end);
        var disposition = entity.ContentDisposition;
        var languages = entity.Headers[HeaderId.ContentLanguage];
        var part = new BodyPartSummary
        {
            MediaType = type.MediaType.ToLowerInvariant(),
            MediaSubtype = type.MediaSubtype.ToLowerInvariant(),
            Parameters = RawParameters(entity.Headers, HeaderId.ContentType) ?? [.. type.Parameters.Select(p => new KeyValuePair<string, string>(p.Name, p.Value))],
            ContentId = Raw(entity.Headers, HeaderId.ContentId),
            Description = Raw(entity.Headers, HeaderId.ContentDescription),
            TransferEncoding = entity is Multipart ? null : (Raw(entity.Headers, HeaderId.ContentTransferEncoding) ?? "7bit"),
            Md5 = Raw(entity.Headers, HeaderId.ContentMd5),
            Disposition = disposition?.Disposition,
            DispositionParameters = disposition is null ? [] : RawParameters(entity.Headers, HeaderId.ContentDisposition) ?? [],
            Languages = string.IsNullOrWhiteSpace(languages) ? [] : [.. languages.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
            Location = Raw(entity.Headers, HeaderId.ContentLocation),
            HeaderOffset = begin,
            BodyOffset = end?.HeadersEndOffset ?? begin,
            EndOffset = end?.EndOffset ?? begin,
            Lines = Math.Max(0, end?.Lines ?? 0), // MimeKit counts -1 for a part whose header runs into the boundary
        };
        return entity switch
        {
            _ when level >= MaxMimeDepth => part,
            Multipart multipart => part with { Children = [.. multipart.Select(child => BuildPart(child, level + 1, offsets))] },
            MessagePart { Message: { } inner } => part with
            {
                MessageEnvelope = BuildEnvelope(inner),
                Message = BuildPart(inner.Body, level + 1, offsets),
                MessageBodyOffset = offsets.MessageHeaderEnds.TryGetValue(inner, out var innerEnd) ? innerEnd : null,
            },
            _ => part,
        };
    }

    private static MessageEnvelope BuildEnvelope(MimeMessage message)
    {
        var headers = message.Headers;
        var from = Addresses(headers, HeaderId.From);
        // RFC 9051 §7.5.2: Sender and Reply-To absent or empty are the From addresses.
        var sender = Addresses(headers, HeaderId.Sender);
        var replyTo = Addresses(headers, HeaderId.ReplyTo);
        return new MessageEnvelope(
            Raw(headers, HeaderId.Date),
            Raw(headers, HeaderId.Subject),
            from,
            sender.Count > 0 ? sender : from,
            replyTo.Count > 0 ? replyTo : from,
            Addresses(headers, HeaderId.To),
            Addresses(headers, HeaderId.Cc),
            Addresses(headers, HeaderId.Bcc),
            Raw(headers, HeaderId.InReplyTo),
            Raw(headers, HeaderId.MessageId));
    }

    /// <summary>The first field of that name as it is in the message: line breaks of folding removed, leading and trailing whitespace trimmed.</summary>
    private static string? Raw(HeaderList headers, HeaderId id)
    {
        var index = headers.IndexOf(id);
        return index < 0 ? null : Unfold(headers[index].RawValue).Trim();
    }

    /// <summary>
    /// The parameters of the first field of that name as they are in the message, in their order: quoting removed,
    /// encoded words and RFC 2231 encoding kept (so values stay ASCII when the message is), the sections of an RFC 2231
    /// continuation joined into one parameter at the place of its first (named <c>name*</c> when encoded, as Dovecot
    /// sends it). Null when the field is absent.
    /// </summary>
    private static List<KeyValuePair<string, string>>? RawParameters(HeaderList headers, HeaderId id)
    {
        var index = headers.IndexOf(id);
        if (index < 0)
        {
            return null;
        }
        var text = Unfold(headers[index].RawValue);
        var parameters = new List<KeyValuePair<string, string>>();
        var sections = new Dictionary<string, (int Index, SortedDictionary<int, (string Value, bool Encoded)> Parts)>(StringComparer.OrdinalIgnoreCase);
        var i = text.IndexOf(';', StringComparison.Ordinal);
        while (i >= 0 && i < text.Length)
        {
            i++; // past the ';'
            SkipWhitespace(text, ref i);
            var start = i;
            while (i < text.Length && text[i] is not ('=' or ';') && !char.IsWhiteSpace(text[i]))
            {
                i++;
            }
            var name = text[start..i];
            SkipWhitespace(text, ref i);
            if (i >= text.Length || text[i] != '=' || name.Length == 0)
            {
                i = text.IndexOf(';', i); // not name=value: skipped
                continue;
            }
            i++;
            SkipWhitespace(text, ref i);
            var value = ReadValue(text, ref i);
            if (SplitSection(name) is ({ } baseName, var number, var encoded))
            {
                if (!sections.TryGetValue(baseName, out var entry))
                {
                    entry = (parameters.Count, []);
                    sections[baseName] = entry;
                    parameters.Add(default); // its place, filled in below
                }
                entry.Parts.TryAdd(number, (value, encoded));
            }
            else
            {
                parameters.Add(new(name, value));
            }
            i = text.IndexOf(';', i);
        }
        foreach (var (baseName, (place, parts)) in sections)
        {
            var encoded = parts.TryGetValue(0, out var first) && first.Encoded;
            parameters[place] = new(encoded ? baseName + "*" : baseName, string.Concat(parts.Values.Select(p => p.Value)));
        }
        return parameters;
    }

    private static void SkipWhitespace(string text, ref int i)
    {
        while (i < text.Length && char.IsWhiteSpace(text[i]))
        {
            i++;
        }
    }

    // A quoted string without its quoting, or a token up to the next ';' or whitespace.
    private static string ReadValue(string text, ref int i)
    {
        if (i < text.Length && text[i] == '"')
        {
            var value = new StringBuilder();
            for (i++; i < text.Length && text[i] != '"'; i++)
            {
                if (text[i] == '\\' && i + 1 < text.Length)
                {
                    i++;
                }
                value.Append(text[i]);
            }
            i = Math.Min(i + 1, text.Length); // past the closing quote
            return value.ToString();
        }
        var start = i;
        while (i < text.Length && text[i] != ';' && !char.IsWhiteSpace(text[i]))
        {
            i++;
        }
        return text[start..i];
    }

    // "name*2*" is section 2 of name, encoded; "name*" alone is section 0, encoded; "name" is no section.
    private static (string? Name, int Number, bool Encoded) SplitSection(string name)
    {
        var encoded = name.EndsWith('*');
        var bare = encoded ? name[..^1] : name;
        var star = bare.LastIndexOf('*');
        if (star > 0 && int.TryParse(bare.AsSpan(star + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            return (bare[..star], number, encoded);
        }
        return encoded && bare.Length > 0 ? (bare, 0, true) : (null, 0, false);
    }

    // RFC 5322 §2.2.3: unfolding removes each CRLF (or bare LF) that precedes whitespace; the whitespace stays. The
    // octets are decoded as EscapedOctets: UTF-8 where it is (RFC 6532), every other octet kept as an escape, so the
    // value's octets are exactly those of the message and IMAP sends them as they are.
    private static string Unfold(byte[] raw) => EscapedOctets.Decode(UnfoldOctets(raw));

    private static ReadOnlySpan<byte> UnfoldOctets(byte[] raw)
    {
        if (raw.AsSpan().IndexOf((byte)'\n') < 0)
        {
            return raw;
        }
        var octets = new byte[raw.Length];
        var length = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\n' || (raw[i] == '\r' && i + 1 < raw.Length && raw[i + 1] == '\n'))
            {
                continue;
            }
            octets[length++] = raw[i];
        }
        return octets.AsSpan(0, length);
    }

    // Every field of that name, in order (a message may repeat To or Cc), parsed with encoded words kept as they are.
    private static List<EnvelopeAddress> Addresses(HeaderList headers, HeaderId id)
    {
        var result = new List<EnvelopeAddress>();
        foreach (var header in headers)
        {
            if (header.Id != id)
            {
                continue;
            }
            // MimeKit parses the list from a string with one character per octet (Latin-1), so that no octet is
            // decoded or replaced on the way; each part it gives back is turned into octets again and decoded as the
            // other values are (Octets).
            var value = Encoding.Latin1.GetString(UnfoldOctets(header.RawValue)).Replace(EncodedWordStart, Placeholder, StringComparison.Ordinal);
            if (InternetAddressList.TryParse(s_options, value, out var list))
            {
                foreach (var address in list)
                {
                    Add(result, address);
                }
            }
        }
        return result;
    }

    // A part of an address as MimeKit gave it back: the encoded-word starts put back, then its octets decoded.
    private static string? Restore(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        text = text.Replace(Placeholder, EncodedWordStart, StringComparison.Ordinal);
        // Every character stands for one octet of the message, unless MimeKit made one up (it never should): then the
        // text is kept as it is.
        return text.AsSpan().ContainsAnyExceptInRange('\u0000', '\u00FF') ? text : EscapedOctets.Decode(Encoding.Latin1.GetBytes(text));
    }

    private static void Add(List<EnvelopeAddress> result, InternetAddress address)
    {
        switch (address)
        {
            case MailboxAddress mailbox:
                var at = mailbox.Address.LastIndexOf('@');
                var route = mailbox.Route.Count == 0 ? null : string.Join(',', mailbox.Route.Select(r => "@" + r));
                result.Add(new EnvelopeAddress(
                    Restore(mailbox.Name),
                    Restore(route),
                    Restore(at < 0 ? mailbox.Address : mailbox.Address[..at]),
                    Restore(at < 0 ? null : mailbox.Address[(at + 1)..])));
                break;
            case GroupAddress group:
                result.Add(new EnvelopeAddress(null, null, Restore(group.Name), null));
                foreach (var member in group.Members)
                {
                    Add(result, member);
                }
                result.Add(new EnvelopeAddress(null, null, null, null));
                break;
        }
    }
}
