namespace Mail.Protocols.Fuzz;

/// <summary>
/// Split points for streaming parsers, derived from the input itself (a hash seeds a small xorshift generator), so a
/// target stays deterministic while afl varies the splits along with the bytes.
/// </summary>
internal static class Chunks
{
    /// <summary>Lengths (each 1..<paramref name="maxChunk"/>) that add up to <paramref name="total"/>.</summary>
    public static List<int> Lengths(ReadOnlySpan<byte> input, int total, int maxChunk = 16)
    {
        var state = 2166136261u;
        foreach (var b in input)
        {
            state = (state ^ b) * 16777619u;
        }

        state |= 1;
        var lengths = new List<int>();
        for (var left = total; left > 0;)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            var length = Math.Min(left, 1 + (int)(state % (uint)maxChunk));
            lengths.Add(length);
            left -= length;
        }

        return lengths;
    }
}
