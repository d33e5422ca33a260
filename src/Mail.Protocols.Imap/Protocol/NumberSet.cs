using System.Buffers;
using System.Collections;
using System.Text;
using Mail.Protocols.Text;

namespace Mail.Protocols.Imap.Protocol;

/// <summary>
/// A set of message numbers or UIDs (1 to 2^32-1) kept as sorted, disjoint, non-adjacent ranges: a resolved
/// <see cref="SequenceSet"/>, a saved search result, the UIDs of a COPYUID. Membership is a binary search over the
/// ranges, never an expansion; enumeration yields each number once, in ascending order. Immutable.
/// </summary>
internal sealed class NumberSet : IEnumerable<uint>
{
    private readonly (uint First, uint Last)[] _ranges;

    private NumberSet((uint First, uint Last)[] ranges)
    {
        _ranges = ranges;
        long count = 0;
        foreach (var (first, last) in ranges)
        {
            count += (long)last - first + 1;
        }
        Count = count;
    }

    /// <summary>The empty set.</summary>
    public static NumberSet Empty { get; } = new([]);

    /// <summary>The ranges, ascending, disjoint and not adjacent.</summary>
    public ReadOnlySpan<(uint First, uint Last)> Ranges => _ranges;

    /// <summary>How many numbers the set holds (up to 2^32-1).</summary>
    public long Count { get; }

    /// <summary>Whether the set is empty.</summary>
    public bool IsEmpty => _ranges.Length == 0;

    /// <summary>The smallest number; 0 when the set is empty.</summary>
    public uint Min => _ranges.Length == 0 ? 0 : _ranges[0].First;

    /// <summary>The largest number; 0 when the set is empty.</summary>
    public uint Max => _ranges.Length == 0 ? 0 : _ranges[^1].Last;

    /// <summary>The set of <paramref name="ranges"/> (each First &lt;= Last, none containing 0), sorted and merged.</summary>
    public static NumberSet FromRanges(IEnumerable<(uint First, uint Last)> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        var sorted = ranges.ToArray();
        foreach (var (first, last) in sorted)
        {
            if (first == 0 || first > last)
            {
                throw new ArgumentException("Each range must satisfy 1 <= First <= Last.", nameof(ranges));
            }
        }
        if (sorted.Length == 0)
        {
            return Empty;
        }
        Array.Sort(sorted, static (a, b) => a.First.CompareTo(b.First));
        var merged = new List<(uint First, uint Last)>(sorted.Length) { sorted[0] };
        for (var i = 1; i < sorted.Length; i++)
        {
            var current = merged[^1];
            var next = sorted[i];
            // Merge when overlapping or adjacent (current.Last + 1 cannot wrap: next.First <= uint.MaxValue).
            if ((ulong)next.First <= (ulong)current.Last + 1)
            {
                merged[^1] = (current.First, Math.Max(current.Last, next.Last));
            }
            else
            {
                merged.Add(next);
            }
        }
        return new NumberSet([.. merged]);
    }

    /// <summary>The set of <paramref name="numbers"/> (any order, duplicates allowed, no 0).</summary>
    public static NumberSet FromNumbers(IEnumerable<uint> numbers)
    {
        ArgumentNullException.ThrowIfNull(numbers);
        return FromRanges(numbers.Select(n => (n, n)));
    }

    /// <summary>Whether <paramref name="number"/> is in the set.</summary>
    public bool Contains(uint number)
    {
        int low = 0, high = _ranges.Length - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) / 2);
            var (first, last) = _ranges[middle];
            if (number < first)
            {
                high = middle - 1;
            }
            else if (number > last)
            {
                low = middle + 1;
            }
            else
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The numbers in this set or in <paramref name="other"/>.</summary>
    public NumberSet Union(NumberSet other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return other.IsEmpty ? this : IsEmpty ? other : FromRanges(_ranges.Concat(other._ranges));
    }

    /// <summary>
    /// Writes the set as an IMAP <c>sequence-set</c> ("1:3,7"), e.g. for ESEARCH ALL or COPYUID; nothing for the empty
    /// set, which has no such form.
    /// </summary>
    public void WriteTo(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        for (var i = 0; i < _ranges.Length; i++)
        {
            if (i > 0)
            {
                writer.Write(","u8);
            }
            var (first, last) = _ranges[i];
            writer.WriteNumber((ulong)first);
            if (last != first)
            {
                writer.Write(":"u8);
                writer.WriteNumber((ulong)last);
            }
        }
    }

    /// <summary>The set as an IMAP sequence set.</summary>
    public override string ToString()
    {
        var buffer = new ArrayBufferWriter<byte>();
        WriteTo(buffer);
        return Encoding.ASCII.GetString(buffer.WrittenSpan);
    }

    /// <summary>The numbers in ascending order, each once.</summary>
    public IEnumerator<uint> GetEnumerator()
    {
        foreach (var (first, last) in _ranges)
        {
            for (var n = first; ; n++)
            {
                yield return n;
                if (n == last)
                {
                    break;
                }
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
