namespace Mail.Protocols.Imap.Protocol;

/// <summary>
/// An RFC 9051 <c>sequence-set</c> as the client wrote it: comma-separated numbers and ranges (either order; "*" for
/// the largest number in use), and RFC 5182's "$" for the result saved by the last SEARCH ... RETURN (SAVE). It means
/// nothing until it is resolved against a mailbox: <see cref="Resolve"/> gives the <see cref="NumberSet"/> it stands
/// for, with "*" replaced and "$" expanded.
/// </summary>
/// <remarks>
/// RFC 9051 §9: <c>sequence-set = (seq-number / seq-range) ["," sequence-set]</c>, <c>seq-number = nz-number / "*"</c>,
/// <c>seq-range = seq-number ":" seq-number</c> ("2:4" and "4:2" are the same), and <c>sequence-set =/ seq-last-command</c>
/// with <c>seq-last-command = "$"</c>. As the ABNF allows "$" after a comma, "$" is accepted anywhere in the list and
/// means the union.
/// </remarks>
internal sealed class SequenceSet
{
    /// <summary>The default bound on the number of items: far more than the longest command line a client sends
    /// holds, so only a hostile command meets it.</summary>
    public const int DefaultMaxRanges = 65536;

    /// <summary>The value that stands for "*" in <see cref="Ranges"/> (0 is never a valid number in a set).</summary>
    public const uint Star = 0;

    private readonly SequenceRange[] _ranges;

    private SequenceSet(SequenceRange[] ranges, bool includesSaved)
    {
        _ranges = ranges;
        IncludesSavedResult = includesSaved;
    }

    /// <summary>The numbers and ranges as written (a single number is a range of one); <see cref="Star"/> is "*".</summary>
    public IReadOnlyList<SequenceRange> Ranges => _ranges;

    /// <summary>Whether "$" (the saved search result, RFC 5182) is part of the set.</summary>
    public bool IncludesSavedResult { get; }

    /// <summary>Whether "*" is part of the set.</summary>
    public bool IncludesStar => Array.Exists(_ranges, r => r.First == Star || r.Last == Star);

    /// <summary>A set of explicit ranges (for tests and for callers that build one).</summary>
    public static SequenceSet FromRanges(params SequenceRange[] ranges) => new([.. ranges], includesSaved: false);

    /// <summary>
    /// What the set stands for in a mailbox whose largest number in use is <paramref name="largest"/> (the number of
    /// messages for sequence numbers; the last UID, or UIDNEXT-1 in an empty mailbox, for UIDs), with "$" meaning
    /// <paramref name="savedResult"/> (null: no saved result, the empty set). "*" in an empty mailbox
    /// (<paramref name="largest"/> 0) stands for nothing. Numbers beyond <paramref name="largest"/> are kept: whether
    /// they are an error (sequence numbers) or simply match nothing (UIDs) is the command's decision.
    /// </summary>
    public NumberSet Resolve(uint largest, NumberSet? savedResult = null)
    {
        var resolved = new List<(uint First, uint Last)>(_ranges.Length);
        foreach (var range in _ranges)
        {
            var first = range.First == Star ? largest : range.First;
            var last = range.Last == Star ? largest : range.Last;
            if (first > last)
            {
                (first, last) = (last, first);
            }
            if (last == 0)
            {
                continue;
            }
            resolved.Add((Math.Max(first, 1), last));
        }
        var set = NumberSet.FromRanges(resolved);
        return IncludesSavedResult && savedResult is not null ? set.Union(savedResult) : set;
    }

    /// <summary>Reads a sequence set: see <see cref="ImapReader.ReadSequenceSet"/>; QRESYNC's known sets allow neither "*" nor "$".</summary>
    internal static SequenceSet Read(ref ImapReader reader, bool allowStar, bool allowSaved)
    {
        var ranges = new List<SequenceRange>();
        var saved = false;
        var items = 0;
        do
        {
            if (++items > reader.MaxSequenceRanges)
            {
                ImapParseException.Throw("Too many items in a sequence set");
            }
            if (reader.TryRead((byte)'$'))
            {
                if (!allowSaved)
                {
                    ImapParseException.Throw("Invalid sequence set");
                }
                saved = true;
                continue;
            }
            var first = ReadSeqNumber(ref reader, allowStar);
            var last = reader.TryRead((byte)':') ? ReadSeqNumber(ref reader, allowStar) : first;
            ranges.Add(new SequenceRange(first, last));
        }
        while (reader.TryRead((byte)','));
        return new SequenceSet([.. ranges], saved);
    }

    private static uint ReadSeqNumber(ref ImapReader reader, bool allowStar)
    {
        if (reader.TryRead((byte)'*'))
        {
            if (!allowStar)
            {
                ImapParseException.Throw("Invalid sequence set");
            }
            return Star;
        }
        var next = reader.Peek();
        if (next is < '1' or > '9')
        {
            // Also "0", which is never a message number nor a UID.
            ImapParseException.Throw("Invalid sequence set");
        }
        try
        {
            return reader.ReadNzNumber();
        }
        catch (ImapParseException)
        {
            throw new ImapParseException("Invalid sequence set");
        }
    }
}

/// <summary>One item of a <see cref="SequenceSet"/>: <paramref name="First"/>:<paramref name="Last"/> as written (either
/// order), <see cref="SequenceSet.Star"/> for "*"; a single number has <paramref name="First"/> equal to <paramref name="Last"/>.</summary>
internal readonly record struct SequenceRange(uint First, uint Last);
