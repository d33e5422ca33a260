using System.Buffers;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Text;

namespace Mail.Protocols.Imap.Search;

/// <summary>The result options of <c>SEARCH RETURN (...)</c> (RFC 4731 ESEARCH, RFC 5182 SEARCHRES).</summary>
[Flags]
internal enum SearchReturnOptions : byte
{
    /// <summary>No RETURN was given: an IMAP4rev1 session answers <c>* SEARCH</c>, an IMAP4rev2 one <c>* ESEARCH ... ALL</c>.</summary>
    None = 0,
    /// <summary><c>MIN</c>: the lowest number found.</summary>
    Min = 1,
    /// <summary><c>MAX</c>: the highest number found.</summary>
    Max = 2,
    /// <summary><c>ALL</c>: every number found, as a sequence set (also what an empty <c>RETURN ()</c> means).</summary>
    All = 4,
    /// <summary><c>COUNT</c>: how many were found.</summary>
    Count = 8,
    /// <summary><c>SAVE</c>: keep the result for <c>$</c> (RFC 5182).</summary>
    Save = 16,
}

/// <summary>
/// Writes the responses of SEARCH from the numbers found, straight into the reply buffer: <c>* SEARCH 2 3 5</c> (RFC 9051
/// §7.3.5 in IMAP4rev1, with <c>(MODSEQ n)</c> after a MODSEQ key, RFC 7162 §3.1.5) and
/// <c>* ESEARCH (TAG "A282") UID MIN 2 MAX 5 COUNT 3 ALL 2:3,5</c> (RFC 4731 §3.1, RFC 9051 §7.3.4).
/// </summary>
internal static class SearchResponseWriter
{
    /// <summary>
    /// Writes the untagged answer of a SEARCH that ran: <c>* ESEARCH</c> when <paramref name="esearch"/> (the command had
    /// RETURN, or the session enabled IMAP4rev2, whose SEARCH always answers ESEARCH: RFC 9051 §6.4.4 and appendix E) unless
    /// RETURN (SAVE) alone asks for nothing; <c>* SEARCH</c> otherwise. Either carries the highest MODSEQ when the program held
    /// a MODSEQ key. UIDs for UID SEARCH, sequence numbers otherwise.
    /// </summary>
    public static void WriteResult(IBufferWriter<byte> writer, ReadOnlySpan<byte> tag, bool uid, bool esearch, SearchCommand command, SearchResult result)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(result);
        if (esearch || command.HasReturn)
        {
            if (AnswersEsearch(command.Return))
            {
                WriteEsearch(writer, tag, uid, command.Return, result, command.Key.UsesModSeq);
            }
        }
        else
        {
            WriteSearch(writer, result.Numbers(uid), command.Key.UsesModSeq ? result.HighestModSeq : null);
        }
    }

    /// <summary>
    /// Writes <c>* SEARCH</c> with <paramref name="numbers"/> (ascending), then <c> (MODSEQ n)</c> when
    /// <paramref name="modSeq"/> is given and something was found (RFC 7162 §3.1.5: only a non-empty result carries it).
    /// </summary>
    public static void WriteSearch(IBufferWriter<byte> writer, ReadOnlySpan<uint> numbers, ulong? modSeq = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("* SEARCH"u8);
        foreach (var number in numbers)
        {
            writer.Write(" "u8);
            writer.WriteNumber((ulong)number);
        }
        if (modSeq is { } value && !numbers.IsEmpty)
        {
            writer.Write(" (MODSEQ "u8);
            writer.WriteNumber(value);
            writer.Write(")"u8);
        }
        writer.WriteCrlf();
    }

    /// <summary>
    /// Writes the tagged refusal of a CHARSET other than UTF-8 and US-ASCII, with the charsets that are supported (RFC 9051
    /// §6.4.4 and §7.1): <c>tag NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset</c>.
    /// </summary>
    public static void WriteBadCharset(IBufferWriter<byte> writer, ReadOnlySpan<byte> tag)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(tag);
        writer.Write(" NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n"u8);
    }

    /// <summary>
    /// Whether a SEARCH with these result options answers with <c>* ESEARCH</c> at all: <c>RETURN (SAVE)</c> alone answers
    /// nothing but the tagged OK (RFC 5182 §2.1, RFC 9051 §6.4.4.1).
    /// </summary>
    public static bool AnswersEsearch(SearchReturnOptions options) => options != SearchReturnOptions.Save;

    /// <summary>
    /// Writes <c>* ESEARCH (TAG "tag")</c>, <c>UID</c> for a UID SEARCH, then the result options asked for in the order
    /// MIN, MAX, COUNT, ALL, and <c>MODSEQ n</c> when <paramref name="withModSeq"/> (the program held a MODSEQ key). Options
    /// without <see cref="SearchReturnOptions.Min"/>, <see cref="SearchReturnOptions.Max"/> and <see cref="SearchReturnOptions.Count"/>
    /// mean ALL. MIN, MAX and ALL are left out when nothing was found (RFC 4731 §3.1); COUNT 0 is not. The MODSEQ is the
    /// highest of the messages reported: of all found for ALL or COUNT, of the MIN and MAX messages otherwise (RFC 4731 §3.2),
    /// and it is left out when nothing was found.
    /// </summary>
    public static void WriteEsearch(IBufferWriter<byte> writer, ReadOnlySpan<byte> tag, bool uid, SearchReturnOptions options, SearchResult result, bool withModSeq = false)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(result);
        options = Normalize(options);
        writer.Write("* ESEARCH (TAG "u8);
        writer.WriteQuoted(tag);
        writer.Write(")"u8);
        if (uid)
        {
            writer.Write(" UID"u8);
        }
        var numbers = result.Numbers(uid);
        if (!numbers.IsEmpty)
        {
            if ((options & SearchReturnOptions.Min) != 0)
            {
                writer.Write(" MIN "u8);
                writer.WriteNumber((ulong)numbers[0]);
            }
            if ((options & SearchReturnOptions.Max) != 0)
            {
                writer.Write(" MAX "u8);
                writer.WriteNumber((ulong)numbers[^1]);
            }
        }
        if ((options & SearchReturnOptions.Count) != 0)
        {
            writer.Write(" COUNT "u8);
            writer.WriteNumber((ulong)numbers.Length);
        }
        if (!numbers.IsEmpty && (options & SearchReturnOptions.All) != 0)
        {
            writer.Write(" ALL "u8);
            WriteSequenceSet(writer, numbers);
        }
        if (withModSeq && !numbers.IsEmpty)
        {
            writer.Write(" MODSEQ "u8);
            writer.WriteNumber(ReportedModSeq(options, result));
        }
        writer.WriteCrlf();
    }

    /// <summary>
    /// What <c>SAVE</c> keeps for <c>$</c>, as UIDs: every message found, except that SAVE with MIN and/or MAX and neither ALL
    /// nor COUNT keeps only the messages MIN and MAX report (RFC 5182 §2.1, RFC 9051 §6.4.4.1). The session keeps it until the
    /// next SAVE, and replaces it with the empty set when a SEARCH with SAVE fails (RFC 5182 §2.1).
    /// </summary>
    public static NumberSet SavedResult(SearchReturnOptions options, SearchResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var uids = result.Uids.Span;
        if (uids.IsEmpty)
        {
            return NumberSet.Empty;
        }
        if ((options & (SearchReturnOptions.All | SearchReturnOptions.Count)) != 0 || (options & (SearchReturnOptions.Min | SearchReturnOptions.Max)) == 0)
        {
            // Ascending UIDs become ranges in one pass.
            var ranges = new List<(uint First, uint Last)>();
            var first = uids[0];
            var last = first;
            for (var i = 1; i < uids.Length; i++)
            {
                if (uids[i] != last + 1)
                {
                    ranges.Add((first, last));
                    first = uids[i];
                }
                last = uids[i];
            }
            ranges.Add((first, last));
            return NumberSet.FromRanges(ranges);
        }
        var min = (options & SearchReturnOptions.Min) != 0;
        var max = (options & SearchReturnOptions.Max) != 0;
        return min && max ? NumberSet.FromNumbers([uids[0], uids[^1]]) : NumberSet.FromNumbers([min ? uids[0] : uids[^1]]);
    }

    /// <summary>
    /// Writes ascending numbers as a compact sequence set: runs of consecutive numbers as <c>first:last</c>, joined by commas
    /// (<c>2,3,5,6,7</c> is <c>2:3,5:7</c>). Nothing is written for no numbers.
    /// </summary>
    public static void WriteSequenceSet(IBufferWriter<byte> writer, ReadOnlySpan<uint> ascending)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var i = 0;
        while (i < ascending.Length)
        {
            var first = ascending[i];
            var last = first;
            while (i + 1 < ascending.Length && ascending[i + 1] == last + 1)
            {
                last = ascending[++i];
            }
            i++;
            writer.WriteNumber((ulong)first);
            if (last != first)
            {
                writer.Write(":"u8);
                writer.WriteNumber((ulong)last);
            }
            if (i < ascending.Length)
            {
                writer.Write(","u8);
            }
        }
    }

    private static SearchReturnOptions Normalize(SearchReturnOptions options) =>
        (options & (SearchReturnOptions.Min | SearchReturnOptions.Max | SearchReturnOptions.Count | SearchReturnOptions.All)) == 0
            ? options | SearchReturnOptions.All
            : options;

    private static ulong ReportedModSeq(SearchReturnOptions options, SearchResult result)
    {
        if ((options & (SearchReturnOptions.All | SearchReturnOptions.Count)) != 0)
        {
            return result.HighestModSeq;
        }
        var modSeq = 0UL;
        if ((options & SearchReturnOptions.Min) != 0)
        {
            modSeq = result.FirstModSeq;
        }
        if ((options & SearchReturnOptions.Max) != 0)
        {
            modSeq = Math.Max(modSeq, result.LastModSeq);
        }
        return modSeq;
    }
}
