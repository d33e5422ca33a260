namespace Mail.Protocols.Fuzz;

/// <summary>Whether a client's bytes carry a password, as itself or inside a base64 token (SASL PLAIN and LOGIN).</summary>
internal static class Secrets
{
    public static bool Seen(ReadOnlySpan<byte> input, ReadOnlySpan<byte> secret)
    {
        if (input.IndexOf(secret) >= 0)
        {
            return true;
        }

        var buffer = new byte[input.Length];
        foreach (var range in input.SplitAny(" \r\n\t"u8))
        {
            var token = input[range];
            // Decoded as leniently as the servers decode (Convert accepts non-zero pad bits, "ZXR=" as "ZXQ=").
            if (token.Length >= 4 && Convert.TryFromBase64Chars(System.Text.Encoding.Latin1.GetString(token), buffer, out var written)
                && buffer.AsSpan(0, written).IndexOf(secret) >= 0)
            {
                return true;
            }
        }

        return false;
    }
}
