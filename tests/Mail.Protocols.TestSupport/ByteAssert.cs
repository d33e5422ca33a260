using System.Text;
using Xunit;

namespace Mail.Protocols.TestSupport;

/// <summary>Byte comparisons whose failures point at the first difference instead of dumping megabytes.</summary>
public static class ByteAssert
{
    /// <summary>The first octets as text, with CR and LF made visible.</summary>
    public static string Preview(byte[] bytes, int max = 400) =>
        Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, max)).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n\n", StringComparison.Ordinal);

    /// <summary>Asserts the two arrays are equal, reporting the first differing offset.</summary>
    public static void AssertSameBytes(byte[] expected, byte[] actual, string context = "")
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        var common = Math.Min(expected.Length, actual.Length);
        var first = expected.AsSpan(0, common).CommonPrefixLength(actual.AsSpan(0, common));
        if (first == common && expected.Length == actual.Length)
        {
            return;
        }
        var from = Math.Max(0, first - 40);
        Assert.Fail($"{context}Bytes differ at offset {first} (expected length {expected.Length}, actual {actual.Length}).\n"
            + $"Expected: {Preview(expected[from..Math.Min(expected.Length, first + 80)])}\n"
            + $"Actual:   {Preview(actual[from..Math.Min(actual.Length, first + 80)])}");
    }
}
