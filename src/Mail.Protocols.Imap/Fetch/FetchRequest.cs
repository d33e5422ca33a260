using System.Collections.Immutable;

namespace Mail.Protocols.Imap.Fetch;

/// <summary>The FETCH data items of RFC 9051 §6.4.5, RFC 3516 (BINARY) and RFC 7162 (MODSEQ).</summary>
internal enum FetchItemKind
{
    /// <summary><c>FLAGS</c>.</summary>
    Flags,
    /// <summary><c>INTERNALDATE</c>.</summary>
    InternalDate,
    /// <summary><c>RFC822.SIZE</c>.</summary>
    Rfc822Size,
    /// <summary><c>UID</c>.</summary>
    Uid,
    /// <summary><c>MODSEQ</c> (RFC 7162 §3.1.4).</summary>
    ModSeq,
    /// <summary><c>ENVELOPE</c>.</summary>
    Envelope,
    /// <summary><c>BODY</c>: the body structure without extension data.</summary>
    Body,
    /// <summary><c>BODYSTRUCTURE</c>: the body structure with extension data.</summary>
    BodyStructure,
    /// <summary><c>BODY[section]&lt;partial&gt;</c> and <c>BODY.PEEK[...]</c>.</summary>
    BodySection,
    /// <summary><c>BINARY[section]&lt;partial&gt;</c> and <c>BINARY.PEEK[...]</c> (RFC 3516).</summary>
    Binary,
    /// <summary><c>BINARY.SIZE[section]</c> (RFC 3516).</summary>
    BinarySize,
    /// <summary><c>RFC822</c>: <c>BODY[]</c> under its old name (sets \Seen).</summary>
    Rfc822,
    /// <summary><c>RFC822.HEADER</c>: <c>BODY.PEEK[HEADER]</c> under its old name.</summary>
    Rfc822Header,
    /// <summary><c>RFC822.TEXT</c>: <c>BODY[TEXT]</c> under its old name (sets \Seen).</summary>
    Rfc822Text,
}

/// <summary>The text part of a section specification (RFC 9051 §9 <c>section-msgtext</c> and <c>section-text</c>).</summary>
internal enum SectionText
{
    /// <summary>No text specifier: the whole message (<c>[]</c>) or the whole part (<c>[1.2]</c>).</summary>
    None,
    /// <summary><c>HEADER</c>.</summary>
    Header,
    /// <summary><c>HEADER.FIELDS (list)</c>.</summary>
    HeaderFields,
    /// <summary><c>HEADER.FIELDS.NOT (list)</c>.</summary>
    HeaderFieldsNot,
    /// <summary><c>TEXT</c>.</summary>
    Text,
    /// <summary><c>MIME</c>: the MIME header of a part (only after a part number).</summary>
    Mime,
}

/// <summary>
/// A section specification: the part numbers (empty for the message itself), the text specifier and, for
/// HEADER.FIELDS and HEADER.FIELDS.NOT, the field names as the client spelled them (they are echoed in the response).
/// </summary>
internal sealed record FetchSection(ImmutableArray<uint> Parts, SectionText Text, ImmutableArray<string> Fields)
{
    /// <summary>The empty section <c>[]</c>: the whole message.</summary>
    public static FetchSection Whole { get; } = new([], SectionText.None, []);

    /// <summary>Creates a section of part numbers only, <c>[1.2]</c>.</summary>
    public static FetchSection Part(params uint[] parts) => new([.. parts], SectionText.None, []);

    /// <summary>Creates a section of the message's text specifier, <c>[HEADER]</c> or <c>[HEADER.FIELDS (a b)]</c>.</summary>
    public static FetchSection Of(SectionText text, params string[] fields) => new([], text, [.. fields]);

    /// <summary>Structural equality (the arrays compare by their items).</summary>
    public bool Equals(FetchSection? other) =>
        other is not null && Text == other.Text && Parts.AsSpan().SequenceEqual(other.Parts.AsSpan()) &&
        Fields.Length == other.Fields.Length && Fields.AsSpan().SequenceEqual(other.Fields.AsSpan());

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Text, Parts.Length, Fields.Length);
}

/// <summary>One requested FETCH item.</summary>
/// <param name="Kind">Which item.</param>
/// <param name="Section">For BODY[...], BINARY[...] and BINARY.SIZE[...]: the section.</param>
/// <param name="Peek">BODY.PEEK or BINARY.PEEK: the fetch does not set \Seen.</param>
/// <param name="PartialStart">The first octet of <c>&lt;start.length&gt;</c>, if a partial fetch.</param>
/// <param name="PartialLength">The number of octets of <c>&lt;start.length&gt;</c> (at least 1), if a partial fetch.</param>
internal sealed record FetchItem(FetchItemKind Kind, FetchSection? Section = null, bool Peek = false, long? PartialStart = null, long? PartialLength = null)
{
    /// <summary>Whether fetching it sets \Seen: BODY[...] and BINARY[...] without PEEK, RFC822 and RFC822.TEXT (RFC 9051 §6.4.5).</summary>
    public bool SetsSeen => Kind switch
    {
        FetchItemKind.BodySection or FetchItemKind.Binary => !Peek,
        FetchItemKind.Rfc822 or FetchItemKind.Rfc822Text => true,
        _ => false,
    };

    /// <summary>What the item needs from the store.</summary>
    public FetchNeeds Needs => Kind switch
    {
        FetchItemKind.Envelope or FetchItemKind.Body or FetchItemKind.BodyStructure => FetchNeeds.Summary,
        FetchItemKind.Rfc822 => FetchNeeds.Content,
        FetchItemKind.Rfc822Header => FetchNeeds.Summary | FetchNeeds.Header,
        FetchItemKind.Rfc822Text => FetchNeeds.Summary | FetchNeeds.Content,
        FetchItemKind.BodySection when Section is { Parts.IsEmpty: true, Text: SectionText.Header or SectionText.HeaderFields or SectionText.HeaderFieldsNot } =>
            FetchNeeds.Summary | FetchNeeds.Header,
        FetchItemKind.BodySection or FetchItemKind.Binary or FetchItemKind.BinarySize =>
            Section is { Parts.IsEmpty: true, Text: SectionText.None } ? FetchNeeds.Content : FetchNeeds.Summary | FetchNeeds.Content,
        _ => FetchNeeds.None,
    };
}

/// <summary>What a FETCH needs from the store besides each message's <see cref="Storage.MessageInfo"/>.</summary>
[Flags]
internal enum FetchNeeds
{
    /// <summary>Only the message's info (UID, flags, keywords, internal date, size, MODSEQ).</summary>
    None = 0,
    /// <summary>The MIME summary (ENVELOPE, BODYSTRUCTURE, section offsets).</summary>
    Summary = 1,
    /// <summary>The content stream.</summary>
    Content = 2,
    /// <summary>
    /// The top-level header's octets only (BODY[HEADER], BODY[HEADER.FIELDS[.NOT] (...)], RFC822.HEADER): from the summary
    /// when it holds them (<see cref="Storage.MessageSummary.HasHeader"/>), from the content otherwise.
    /// </summary>
    Header = 4,
}

/// <summary>
/// A parsed FETCH (or UID FETCH) request: the items in the order asked, and the RFC 7162 modifiers. Immutable; the
/// session reads from it what to get from the store (<see cref="Needs"/>) and whether to set \Seen (<see cref="SetsSeen"/>).
/// </summary>
internal sealed class FetchRequest
{
    private FetchRequest(ImmutableArray<FetchItem> items, bool isUid, ulong? changedSince, bool vanished)
    {
        Items = items;
        IsUid = isUid;
        ChangedSince = changedSince;
        Vanished = vanished;
        foreach (var item in items)
        {
            Needs |= item.Needs;
            SetsSeen |= item.SetsSeen;
        }
    }

    /// <summary>The items to write, in the order asked; a UID FETCH has UID first if it was not asked (RFC 9051 §6.4.9), and a CHANGEDSINCE fetch has MODSEQ (RFC 7162 §3.1.4.1).</summary>
    public ImmutableArray<FetchItem> Items { get; }

    /// <summary>Whether this is UID FETCH.</summary>
    public bool IsUid { get; }

    /// <summary>The CHANGEDSINCE modifier (RFC 7162 §3.1.4.1): only messages whose MODSEQ is greater are fetched.</summary>
    public ulong? ChangedSince { get; }

    /// <summary>The VANISHED modifier of UID FETCH (RFC 7162 §3.2.6): also report expunged UIDs of the set since <see cref="ChangedSince"/>.</summary>
    public bool Vanished { get; }

    /// <summary>What the items need from the store, for every message.</summary>
    public FetchNeeds Needs { get; }

    /// <summary>
    /// Whether the message's content must be opened: an item needs it, or a header item does and the summary does not hold
    /// the header (<see cref="Storage.MessageSummary.HasHeader"/>).
    /// </summary>
    public bool NeedsContent(Storage.MessageSummary? summary) =>
        (Needs & FetchNeeds.Content) != 0 || ((Needs & FetchNeeds.Header) != 0 && summary is not { HasHeader: true });

    /// <summary>Whether the fetch sets \Seen on the messages it fetches.</summary>
    public bool SetsSeen { get; }

    /// <summary>Whether the request uses CONDSTORE (a MODSEQ item or CHANGEDSINCE), which enables it for the session (RFC 7162 §3.1).</summary>
    public bool UsesCondStore => ChangedSince is not null || Items.Any(i => i.Kind == FetchItemKind.ModSeq);

    /// <summary>Whether a message with this MODSEQ is fetched (always, without CHANGEDSINCE).</summary>
    public bool Selects(ulong modSeq) => ChangedSince is not { } since || modSeq > since;

    /// <summary>
    /// The same request with FLAGS last when it was not asked: for a message whose \Seen this fetch has just set, whose
    /// new flags the response includes (RFC 9051 §6.4.5 and Dovecot append them so). Returns this request when FLAGS is in it.
    /// </summary>
    public FetchRequest WithFlags()
    {
        if (_withFlags is not null)
        {
            return _withFlags;
        }
        _withFlags = Items.Any(i => i.Kind == FetchItemKind.Flags)
            ? this
            : new FetchRequest(Items.Add(new FetchItem(FetchItemKind.Flags)), IsUid, ChangedSince, Vanished);
        return _withFlags;
    }

    private FetchRequest? _withFlags;

    /// <summary>Creates a request, adding UID for a UID FETCH and MODSEQ for CHANGEDSINCE when not asked.</summary>
    /// <exception cref="ArgumentException">VANISHED without UID FETCH or without CHANGEDSINCE (RFC 7162 §3.2.6 makes that a BAD; the grammar checks it first).</exception>
    public static FetchRequest Create(IEnumerable<FetchItem> items, bool isUid = false, ulong? changedSince = null, bool vanished = false)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (vanished && (!isUid || changedSince is null))
        {
            throw new ArgumentException("VANISHED needs UID FETCH and CHANGEDSINCE.", nameof(vanished));
        }
        var builder = ImmutableArray.CreateBuilder<FetchItem>();
        if (isUid && !items.Any(i => i.Kind == FetchItemKind.Uid))
        {
            builder.Add(new FetchItem(FetchItemKind.Uid));
        }
        builder.AddRange(items);
        if (changedSince is not null && !builder.Any(i => i.Kind == FetchItemKind.ModSeq))
        {
            builder.Add(new FetchItem(FetchItemKind.ModSeq));
        }
        return new FetchRequest(builder.ToImmutable(), isUid, changedSince, vanished);
    }
}
