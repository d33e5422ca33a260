using System.Buffers;
using System.Text;
using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Fuzz.Targets.Imap;

/// <summary>
/// An IMAP sequence-set (RFC 9051 §9, with RFC 5182's "$"), then what it stands for (<see cref="NumberSet"/>).
/// Properties: only <see cref="ImapParseException"/> is thrown; never more items than the cap; the set written back
/// (each range as read, "$" last) re-parses to the same items; resolved against several mailbox sizes, the
/// <see cref="NumberSet"/> is sorted, disjoint, not adjacent, holds no 0, contains every number named (and, for "*",
/// the largest), counts what its ranges hold, and its own canonical form re-parses to the same set.
/// </summary>
internal sealed class SequenceSetTarget : IFuzzTarget
{
    private const int MaxRanges = 64;
    private static readonly uint[] s_largest = [0, 1, 7, 1000, uint.MaxValue];

    public string Name => "ImapSequenceSet";

    public void Run(ReadOnlySpan<byte> input)
    {
        var set = Parse(input, allowStar: true, allowSaved: true);
        if (set is null)
        {
            return;
        }

        Fuzz.Check(set.Ranges.Count <= MaxRanges, $"{set.Ranges.Count} items read, the cap is {MaxRanges}");
        var written = Write(set);
        var again = Parse(written, allowStar: true, allowSaved: true)
            ?? throw new FuzzPropertyException($"the set written back, \"{Fuzz.Escape(written)}\", does not parse");
        Fuzz.Check(again.Ranges.SequenceEqual(set.Ranges) && again.IncludesSavedResult == set.IncludesSavedResult,
            $"the set written back, \"{Fuzz.Escape(written)}\", parses to different items");

        var saved = NumberSet.FromNumbers([3, 4, 9]);
        foreach (var largest in s_largest)
        {
            var resolved = set.Resolve(largest, saved);
            CheckShape(resolved);
            foreach (var range in set.Ranges)
            {
                foreach (var named in (ReadOnlySpan<uint>)[range.First, range.Last])
                {
                    var number = named == SequenceSet.Star ? largest : named;
                    Fuzz.Check(number == 0 || resolved.Contains(number), $"{number} is named but not in the resolved set {resolved}");
                }
            }

            if (set.IncludesSavedResult)
            {
                Fuzz.Check(saved.All(resolved.Contains), "the saved result is not in the resolved set");
            }

            if (!resolved.IsEmpty)
            {
                var buffer = new ArrayBufferWriter<byte>();
                resolved.WriteTo(buffer);
                var canonical = Parse(buffer.WrittenSpan, allowStar: false, allowSaved: false, maxRanges: int.MaxValue)
                    ?? throw new FuzzPropertyException($"the canonical form {resolved} does not parse");
                var reparsed = canonical.Resolve(largest);
                Fuzz.Check(reparsed.Ranges.SequenceEqual(resolved.Ranges), $"the canonical form {resolved} re-parses as {reparsed}");
            }
        }
    }

    private static SequenceSet? Parse(ReadOnlySpan<byte> text, bool allowStar, bool allowSaved, int maxRanges = MaxRanges)
    {
        var reader = new ImapReader(text) { MaxSequenceRanges = maxRanges };
        try
        {
            var set = SequenceSet.Read(ref reader, allowStar, allowSaved);
            reader.ReadEnd();
            return set;
        }
        catch (ImapParseException)
        {
            return null;
        }
    }

    internal static byte[] Write(SequenceSet set)
    {
        var text = new StringBuilder();
        foreach (var range in set.Ranges)
        {
            text.Append(text.Length > 0 ? "," : "").Append(Number(range.First));
            if (range.Last != range.First)
            {
                text.Append(':').Append(Number(range.Last));
            }
        }

        if (set.IncludesSavedResult)
        {
            text.Append(text.Length > 0 ? ",$" : "$");
        }

        return Encoding.ASCII.GetBytes(text.ToString());

        static string Number(uint n) => n == SequenceSet.Star ? "*" : n.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void CheckShape(NumberSet set)
    {
        long count = 0;
        var previousLast = 0L;
        foreach (var (first, last) in set.Ranges)
        {
            Fuzz.Check(first >= 1 && first <= last, $"the range {first}:{last} is malformed in {set}");
            Fuzz.Check(previousLast == 0 || first > previousLast + 1, $"ranges overlap or touch in {set}");
            count += (long)last - first + 1;
            previousLast = last;
        }

        Fuzz.Equal(count, set.Count, "NumberSet.Count");
    }
}
