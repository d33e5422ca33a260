using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Search;

/// <summary>The kind of a <see cref="SearchKey"/>: one per search key of RFC 3501 §6.4.4 and RFC 9051 §6.4.4, plus the extensions' keys.</summary>
internal enum SearchKeyKind : byte
{
    /// <summary><c>ALL</c>.</summary>
    All,
    /// <summary><c>ANSWERED</c>.</summary>
    Answered,
    /// <summary><c>DELETED</c>.</summary>
    Deleted,
    /// <summary><c>DRAFT</c>.</summary>
    Draft,
    /// <summary><c>FLAGGED</c>.</summary>
    Flagged,
    /// <summary><c>SEEN</c>.</summary>
    Seen,
    /// <summary><c>UNANSWERED</c>.</summary>
    Unanswered,
    /// <summary><c>UNDELETED</c>.</summary>
    Undeleted,
    /// <summary><c>UNDRAFT</c>.</summary>
    Undraft,
    /// <summary><c>UNFLAGGED</c>.</summary>
    Unflagged,
    /// <summary><c>UNSEEN</c>.</summary>
    Unseen,
    /// <summary><c>RECENT</c> (IMAP4rev1): no store keeps <c>\Recent</c>, so it matches nothing.</summary>
    Recent,
    /// <summary><c>NEW</c> (IMAP4rev1): RECENT UNSEEN, so it matches nothing.</summary>
    New,
    /// <summary><c>OLD</c> (IMAP4rev1): NOT RECENT, so it matches every message.</summary>
    Old,
    /// <summary><c>KEYWORD flag</c>.</summary>
    Keyword,
    /// <summary><c>UNKEYWORD flag</c>.</summary>
    Unkeyword,
    /// <summary><c>BEFORE date</c>: internal date.</summary>
    Before,
    /// <summary><c>ON date</c>: internal date.</summary>
    On,
    /// <summary><c>SINCE date</c>: internal date.</summary>
    Since,
    /// <summary><c>SENTBEFORE date</c>: the Date header.</summary>
    SentBefore,
    /// <summary><c>SENTON date</c>: the Date header.</summary>
    SentOn,
    /// <summary><c>SENTSINCE date</c>: the Date header.</summary>
    SentSince,
    /// <summary><c>LARGER n</c>: RFC822.SIZE greater than n.</summary>
    Larger,
    /// <summary><c>SMALLER n</c>: RFC822.SIZE less than n.</summary>
    Smaller,
    /// <summary><c>MODSEQ [entry type] n</c> (RFC 7162 §3.1.5): MODSEQ at least n.</summary>
    ModSeq,
    /// <summary>A sequence set of message sequence numbers; <c>$</c> in it (RFC 5182) is the saved result.</summary>
    SequenceSet,
    /// <summary><c>UID sequence-set</c>; <c>$</c> in it is the saved result, as in a sequence set.</summary>
    Uid,
    /// <summary><c>BCC string</c>: the envelope's Bcc addresses.</summary>
    Bcc,
    /// <summary><c>CC string</c>: the envelope's Cc addresses.</summary>
    Cc,
    /// <summary><c>FROM string</c>: the envelope's From addresses.</summary>
    From,
    /// <summary><c>TO string</c>: the envelope's To addresses.</summary>
    To,
    /// <summary><c>SUBJECT string</c>: the envelope's subject.</summary>
    Subject,
    /// <summary><c>HEADER field-name string</c>.</summary>
    Header,
    /// <summary><c>BODY string</c>: the decoded text of the text parts.</summary>
    Body,
    /// <summary><c>TEXT string</c>: the decoded header or the decoded text of the text parts.</summary>
    Text,
    /// <summary><c>NOT key</c>.</summary>
    Not,
    /// <summary><c>OR key key</c>.</summary>
    Or,
    /// <summary>A list of keys that must all match: the command's keys, or a parenthesised list.</summary>
    And,
}

/// <summary>What the evaluation of a <see cref="SearchKey"/> needs beyond the message's sequence number and <see cref="Storage.MessageInfo"/>.</summary>
[Flags]
internal enum SearchNeeds : byte
{
    /// <summary>Only the sequence number and <see cref="Storage.MessageInfo"/> (flags, keywords, UID, size, dates, MODSEQ): no store call.</summary>
    None = 0,

    /// <summary>The MIME summary's envelope (FROM, TO, CC, BCC, SUBJECT, SENT*): <see cref="Storage.IMailboxStore.GetSummariesAsync"/>.</summary>
    Envelope = 1,

    /// <summary>The message's header fields, decoded (HEADER, TEXT): the content, read up to the end of the header.</summary>
    Header = 2,

    /// <summary>The decoded text parts of the body (BODY, TEXT): the content and the summary's part offsets.</summary>
    Body = 4,
}

/// <summary>
/// One node of a parsed SEARCH program: an immutable tree of the search keys of RFC 3501 / RFC 9051 §6.4.4, with MODSEQ
/// (RFC 7162) and <c>$</c> (RFC 5182). Every node knows its nesting depth, which is bounded by <see cref="MaxDepth"/> when
/// it is built, so that evaluating it recursively cannot exhaust the stack; and what its evaluation needs
/// (<see cref="Needs"/>), so that the session fetches the minimum.
/// </summary>
internal sealed class SearchKey
{
    /// <summary>
    /// The deepest nesting a tree may have (each NOT, OR and parenthesised list is one level). Clients chain ORs to
    /// search for many values (<c>OR OR OR a b c d</c>), so this is generous; 10,000 nested levels are refused.
    /// </summary>
    public const int MaxDepth = 1000;

    private static readonly SearchKey[] s_noChildren = [];

    private readonly SearchKey[] _children;

    private SearchKey(SearchKeyKind kind, SearchKey[]? children = null, SequenceSet? set = null)
    {
        Kind = kind;
        _children = children ?? s_noChildren;
        Sequence = set;
        var depth = 0;
        var needs = kind switch
        {
            SearchKeyKind.Bcc or SearchKeyKind.Cc or SearchKeyKind.From or SearchKeyKind.To or SearchKeyKind.Subject
                or SearchKeyKind.SentBefore or SearchKeyKind.SentOn or SearchKeyKind.SentSince => SearchNeeds.Envelope,
            SearchKeyKind.Header => SearchNeeds.Header,
            SearchKeyKind.Body => SearchNeeds.Body,
            SearchKeyKind.Text => SearchNeeds.Header | SearchNeeds.Body,
            _ => SearchNeeds.None,
        };
        var usesModSeq = kind == SearchKeyKind.ModSeq;
        var usesSaved = set is { IncludesSavedResult: true };
        foreach (var child in _children)
        {
            depth = Math.Max(depth, child.Depth + 1);
            needs |= child.Needs;
            usesModSeq |= child.UsesModSeq;
            usesSaved |= child.UsesSavedResult;
        }
        if (depth > MaxDepth)
        {
            throw new ArgumentException($"A search program may nest at most {MaxDepth} levels.", nameof(children));
        }
        Depth = depth;
        Needs = needs;
        UsesModSeq = usesModSeq;
        UsesSavedResult = usesSaved;
    }

    /// <summary><c>ALL</c>: every message.</summary>
    public static SearchKey All { get; } = new(SearchKeyKind.All);

    /// <summary>The kind of key.</summary>
    public SearchKeyKind Kind { get; }

    /// <summary>The string argument (BCC … TEXT, HEADER's value), the keyword (KEYWORD, UNKEYWORD), or MODSEQ's entry name.</summary>
    public string? Value { get; private init; }

    /// <summary>HEADER's field name.</summary>
    public string? FieldName { get; private init; }

    /// <summary>The date of BEFORE, ON, SINCE and the SENT* keys.</summary>
    public DateOnly Date { get; private init; }

    /// <summary>The number of LARGER, SMALLER and MODSEQ.</summary>
    public ulong Number { get; private init; }

    /// <summary>MODSEQ's entry type (<c>priv</c>, <c>shared</c>, <c>all</c>), when an entry name was given.</summary>
    public ModSeqEntryType EntryType { get; private init; }

    /// <summary>The operands of NOT (one), OR (two) and a list (any number).</summary>
    public ReadOnlySpan<SearchKey> Children => _children;

    /// <summary>The set of a sequence-set or UID key, as written (resolved against the folder when evaluated).</summary>
    public SequenceSet? Sequence { get; }

    /// <summary>How deeply this node nests: 0 for a leaf.</summary>
    public int Depth { get; }

    /// <summary>What evaluating this tree needs beyond <see cref="Storage.MessageInfo"/>.</summary>
    public SearchNeeds Needs { get; }

    /// <summary>Whether the tree holds a MODSEQ key: the response then carries the highest MODSEQ (RFC 7162 §3.1.5).</summary>
    public bool UsesModSeq { get; }

    /// <summary>Whether the tree refers to the saved result <c>$</c>.</summary>
    public bool UsesSavedResult { get; }

    /// <summary>A key without argument: the flag keys, ALL, RECENT, NEW, OLD.</summary>
    public static SearchKey Simple(SearchKeyKind kind) => kind switch
    {
        SearchKeyKind.All => All,
        SearchKeyKind.Answered or SearchKeyKind.Deleted or SearchKeyKind.Draft or SearchKeyKind.Flagged or SearchKeyKind.Seen
            or SearchKeyKind.Unanswered or SearchKeyKind.Undeleted or SearchKeyKind.Undraft or SearchKeyKind.Unflagged
            or SearchKeyKind.Unseen or SearchKeyKind.Recent or SearchKeyKind.New or SearchKeyKind.Old => new(kind),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "This key takes an argument."),
    };

    /// <summary>KEYWORD or UNKEYWORD.</summary>
    public static SearchKey Keyword(SearchKeyKind kind, string keyword)
    {
        ArgumentNullException.ThrowIfNull(keyword);
        return kind is SearchKeyKind.Keyword or SearchKeyKind.Unkeyword
            ? new(kind) { Value = keyword }
            : throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not KEYWORD or UNKEYWORD.");
    }

    /// <summary>BEFORE, ON, SINCE, SENTBEFORE, SENTON or SENTSINCE.</summary>
    public static SearchKey DateKey(SearchKeyKind kind, DateOnly date) =>
        kind is SearchKeyKind.Before or SearchKeyKind.On or SearchKeyKind.Since or SearchKeyKind.SentBefore or SearchKeyKind.SentOn or SearchKeyKind.SentSince
            ? new(kind) { Date = date }
            : throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a date key.");

    /// <summary>LARGER or SMALLER.</summary>
    public static SearchKey Size(SearchKeyKind kind, ulong size) =>
        kind is SearchKeyKind.Larger or SearchKeyKind.Smaller
            ? new(kind) { Number = size }
            : throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not LARGER or SMALLER.");

    /// <summary>BCC, CC, FROM, TO, SUBJECT, BODY or TEXT with its string.</summary>
    public static SearchKey String(SearchKeyKind kind, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return kind is SearchKeyKind.Bcc or SearchKeyKind.Cc or SearchKeyKind.From or SearchKeyKind.To or SearchKeyKind.Subject
            or SearchKeyKind.Body or SearchKeyKind.Text
            ? new(kind) { Value = value }
            : throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a string key.");
    }

    /// <summary>HEADER field-name string.</summary>
    public static SearchKey Header(string fieldName, string value)
    {
        ArgumentNullException.ThrowIfNull(fieldName);
        ArgumentNullException.ThrowIfNull(value);
        return new(SearchKeyKind.Header) { FieldName = fieldName, Value = value };
    }

    /// <summary>MODSEQ: messages whose MODSEQ is at least <paramref name="modSeq"/>; the entry name and type are kept but do not narrow (the stores keep one MODSEQ per message).</summary>
    public static SearchKey ModSeq(ulong modSeq, string? entryName = null, ModSeqEntryType entryType = ModSeqEntryType.None) =>
        new(SearchKeyKind.ModSeq) { Number = modSeq, Value = entryName, EntryType = entryName is null ? ModSeqEntryType.None : entryType };

    /// <summary>A sequence set (<paramref name="uid"/> false) or a <c>UID</c> set.</summary>
    public static SearchKey Set(bool uid, SequenceSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        return new(uid ? SearchKeyKind.Uid : SearchKeyKind.SequenceSet, set: set);
    }

    /// <summary>NOT key.</summary>
    public static SearchKey Not(SearchKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new(SearchKeyKind.Not, [key]);
    }

    /// <summary>OR key key.</summary>
    public static SearchKey Or(SearchKey left, SearchKey right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        return new(SearchKeyKind.Or, [left, right]);
    }

    /// <summary>A list of keys that must all match (at least one).</summary>
    public static SearchKey And(ReadOnlySpan<SearchKey> keys)
    {
        if (keys.IsEmpty)
        {
            throw new ArgumentException("A list of search keys has at least one key.", nameof(keys));
        }
        foreach (var key in keys)
        {
            ArgumentNullException.ThrowIfNull(key, nameof(keys));
        }
        return new(SearchKeyKind.And, keys.ToArray());
    }
}

/// <summary>The entry type of a MODSEQ search key (RFC 7162 §3.1.5 <c>entry-type-req</c>).</summary>
internal enum ModSeqEntryType : byte
{
    /// <summary>No entry name was given.</summary>
    None,
    /// <summary><c>priv</c>.</summary>
    Private,
    /// <summary><c>shared</c>.</summary>
    Shared,
    /// <summary><c>all</c>.</summary>
    All,
}
