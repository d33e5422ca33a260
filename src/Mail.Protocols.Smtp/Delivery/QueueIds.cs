using System.Security.Cryptography;

namespace Mail.Protocols.Smtp.Delivery;

/// <summary>Queue ids: 16 characters of Crockford base32 from a millisecond timestamp, a counter and random bits; unique per process and sortable by time.</summary>
internal static class QueueIds
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private static readonly uint s_node = (uint)RandomNumberGenerator.GetInt32(int.MaxValue);
    private static long s_counter;

    public static string Next()
    {
        var time = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var counter = (ulong)Interlocked.Increment(ref s_counter);
        // 42 bits of time, 18 bits of counter, then 20 bits of a per-process random node.
        var high = (time << 22) | (counter & 0x3FFFF) << 4 | (s_node >> 16 & 0xF);
        var low = s_node & 0xFFFF;
        return string.Create(16, (high, low), static (span, v) =>
        {
            var (h, l) = v;
            for (var i = 12; i >= 0; i--)
            {
                span[i] = Alphabet[(int)(h & 31)];
                h >>= 5;
            }
            for (var i = 15; i >= 13; i--)
            {
                span[i] = Alphabet[(int)(l & 31)];
                l >>= 5;
            }
        });
    }
}
