namespace Mail.Protocols.Storage;

/// <summary>
/// The parsed MIME facts IMAP needs (ENVELOPE, BODYSTRUCTURE, section offsets), computed once when a
/// message is stored with <see cref="MessageSummaryParser"/> and kept beside it.
/// </summary>
/// <param name="Envelope">The envelope of the top-level message.</param>
/// <param name="Body">The body structure, with byte offsets into the message content.</param>
/// <remarks>
/// Offsets count octets from the start of the content: IMAP's BODY[HEADER] is <c>[0, BodyOffset)</c> and BODY[TEXT]
/// <c>[BodyOffset, size)</c>. Header values (envelope strings, display names, Content-ID, Content-Description,
/// Content-MD5, Content-Location, parameters) are as they are in the message: RFC 2047 encoded words are not decoded
/// (the client does that), a folded value loses only its line breaks (RFC 5322 §2.2.3), and the octets are kept as
/// <see cref="Text.EscapedOctets"/> decodes them (UTF-8 where well-formed; any other octet as a lone surrogate U+DC80
/// to U+DCFF that <see cref="Text.EscapedOctets.GetBytes(System.ReadOnlySpan{char})"/> turns back into it; a store
/// that serialises summaries must keep those). Content-Type and
/// Content-Disposition parameters are in the order of the message, quoting removed; the sections of an RFC 2231
/// continuation are joined, not decoded, into one parameter (named <c>name*</c> when its value is encoded).
/// </remarks>
public sealed record MessageSummary(MessageEnvelope Envelope, BodyPartSummary Body)
{
    /// <summary>Where the top-level header ends: the offset just past the blank line that ends it (BODY[TEXT] starts here).</summary>
    public long BodyOffset { get; init; }

    /// <summary>
    /// The octets of the top-level header, <c>[0, BodyOffset)</c> with the blank line that ends it, when that is at most
    /// <see cref="MessageSummaryParser.MaxHeaderLength"/> octets; null for a longer header, or a summary made without it.
    /// IMAP answers BODY[HEADER], BODY[HEADER.FIELDS (...)], BODY[HEADER.FIELDS.NOT (...)], RFC822.HEADER and SEARCH
    /// HEADER from it without opening the content. A store that serialises summaries keeps it (or drops it: readers
    /// then read the content); readers use it only when its length is <see cref="BodyOffset"/>.
    /// </summary>
    public ReadOnlyMemory<byte>? Header { get; init; }

    /// <summary>Whether <see cref="Header"/> holds the whole top-level header (its length is <see cref="BodyOffset"/>).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool HasHeader => Header is { } header && header.Length == BodyOffset;
}

/// <summary>One message of <see cref="IMailboxStore.GetSummariesAsync"/>: what the store keeps about it and its MIME summary.</summary>
/// <param name="Info">The message's UID, flags, keywords, internal date, size and MODSEQ.</param>
/// <param name="Summary">Its MIME summary.</param>
public sealed record MessageSummaryEntry(MessageInfo Info, MessageSummary Summary);

/// <summary>An address of an IMAP ENVELOPE (RFC 3501 §7.4.2). A group start has <see cref="Host"/> null and the group name in <see cref="Mailbox"/>; a group end has both null.</summary>
/// <param name="Name">The display name as in the message: quoting removed, encoded words kept.</param>
/// <param name="Route">The obsolete source route, normally null.</param>
/// <param name="Mailbox">The local part.</param>
/// <param name="Host">The domain.</param>
public sealed record EnvelopeAddress(string? Name, string? Route, string? Mailbox, string? Host);

/// <summary>The ENVELOPE fields of a message (RFC 3501 §7.4.2); Sender and Reply-To default to From.</summary>
/// <param name="Date">The Date header as sent.</param>
/// <param name="Subject">The Subject header as sent (encoded words kept).</param>
/// <param name="From">From addresses.</param>
/// <param name="Sender">Sender addresses.</param>
/// <param name="ReplyTo">Reply-To addresses.</param>
/// <param name="To">To addresses.</param>
/// <param name="Cc">Cc addresses.</param>
/// <param name="Bcc">Bcc addresses.</param>
/// <param name="InReplyTo">The In-Reply-To header.</param>
/// <param name="MessageId">The Message-ID header.</param>
public sealed record MessageEnvelope(
    string? Date,
    string? Subject,
    IReadOnlyList<EnvelopeAddress> From,
    IReadOnlyList<EnvelopeAddress> Sender,
    IReadOnlyList<EnvelopeAddress> ReplyTo,
    IReadOnlyList<EnvelopeAddress> To,
    IReadOnlyList<EnvelopeAddress> Cc,
    IReadOnlyList<EnvelopeAddress> Bcc,
    string? InReplyTo,
    string? MessageId);

/// <summary>One MIME part of a body structure, with where it lies in the message content.</summary>
public sealed record BodyPartSummary
{
    /// <summary>The media type, for example <c>text</c> or <c>multipart</c>.</summary>
    public required string MediaType { get; init; }

    /// <summary>The media subtype, for example <c>plain</c> or <c>mixed</c>.</summary>
    public required string MediaSubtype { get; init; }

    /// <summary>Content-Type parameters (charset, boundary, name, …) in the order of the message, values as in it (see <see cref="MessageSummary"/>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; init; } = [];

    /// <summary>Content-ID.</summary>
    public string? ContentId { get; init; }

    /// <summary>Content-Description.</summary>
    public string? Description { get; init; }

    /// <summary>Content-Transfer-Encoding (7bit when absent, for non-multipart parts).</summary>
    public string? TransferEncoding { get; init; }

    /// <summary>Content-MD5.</summary>
    public string? Md5 { get; init; }

    /// <summary>The Content-Disposition value (inline, attachment), if present.</summary>
    public string? Disposition { get; init; }

    /// <summary>Content-Disposition parameters.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> DispositionParameters { get; init; } = [];

    /// <summary>Content-Language values.</summary>
    public IReadOnlyList<string> Languages { get; init; } = [];

    /// <summary>Content-Location.</summary>
    public string? Location { get; init; }

    /// <summary>
    /// Offset of the part's first header line in the message content (IMAP's BODY[n.MIME] is
    /// <c>[HeaderOffset, BodyOffset)</c>). The body of a message that is not multipart has no header of its own: its
    /// offsets are those of the message's header and body.
    /// </summary>
    public long HeaderOffset { get; init; }

    /// <summary>Offset of the part's body (after the blank line ending its headers).</summary>
    public long BodyOffset { get; init; }

    /// <summary>Offset just past the part's body; the line break before a multipart boundary belongs to the boundary, not to the body.</summary>
    public long EndOffset { get; init; }

    /// <summary>The body's size in octets (BODYSTRUCTURE body-fld-octets).</summary>
    public long BodySize => EndOffset - BodyOffset;

    /// <summary>Number of lines of the body (for text/* and message/rfc822 parts).</summary>
    public int Lines { get; init; }

    /// <summary>Sub-parts of a multipart.</summary>
    public IReadOnlyList<BodyPartSummary> Children { get; init; } = [];

    /// <summary>For message/rfc822 parts: the embedded message's envelope.</summary>
    public MessageEnvelope? MessageEnvelope { get; init; }

    /// <summary>For message/rfc822 parts: the embedded message's body structure.</summary>
    public BodyPartSummary? Message { get; init; }

    /// <summary>
    /// For message/rfc822 parts: where the embedded message's header ends (the offset of its body). Its header
    /// (BODY[n.HEADER]) is <c>[BodyOffset, MessageBodyOffset)</c> and its text (BODY[n.TEXT]) <c>[MessageBodyOffset, EndOffset)</c>.
    /// </summary>
    public long? MessageBodyOffset { get; init; }
}
