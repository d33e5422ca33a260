using System.Diagnostics.CodeAnalysis;

namespace Mail.Protocols.Fuzz;

/// <summary>A property a fuzz target checks did not hold: a limit exceeded, a round trip that changed the value.</summary>
internal sealed class FuzzPropertyException : Exception
{
    public FuzzPropertyException(string message)
        : base(message)
    {
    }

    public FuzzPropertyException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>The checks targets make; each throws <see cref="FuzzPropertyException"/> with what was expected.</summary>
internal static class Fuzz
{
    /// <summary>Fails with <paramref name="message"/> unless <paramref name="condition"/> holds.</summary>
    public static void Check([DoesNotReturnIf(false)] bool condition, string message)
    {
        if (!condition)
        {
            throw new FuzzPropertyException(message);
        }
    }

    /// <summary>Fails unless the two values are equal.</summary>
    public static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            throw new FuzzPropertyException($"{what}: expected {expected}, got {actual}");
        }
    }

    /// <summary>Fails unless the two byte sequences are equal; the message shows both, escaped.</summary>
    public static void BytesEqual(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string what)
    {
        if (!expected.SequenceEqual(actual))
        {
            throw new FuzzPropertyException($"{what}: expected \"{Escape(expected)}\", got \"{Escape(actual)}\"");
        }
    }

    /// <summary>Fails: an exception the parser does not document escaped it (kept as the inner exception).</summary>
    [DoesNotReturn]
    public static void Undocumented(Exception exception, string where) =>
        throw new FuzzPropertyException($"{where} threw {exception.GetType().Name}: {exception.Message}", exception);

    /// <summary>The bytes as printable ASCII, everything else as \xNN, cut at 200 bytes.</summary>
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var text = new System.Text.StringBuilder();
        foreach (var b in bytes[..Math.Min(bytes.Length, 200)])
        {
            if (b is >= 0x20 and < 0x7F and not (byte)'\\')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\x{b:X2}");
            }
        }

        return bytes.Length > 200 ? text.Append("...").ToString() : text.ToString();
    }
}
