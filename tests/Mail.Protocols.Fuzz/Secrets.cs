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
            if (token.Length >= 4 && System.Buffers.Text.Base64.DecodeFromUtf8(token, buffer, out _, out var written) == System.Buffers.OperationStatus.Done
                && buffer.AsSpan(0, written).IndexOf(secret) >= 0)
            {
                return true;
            }
        }

        return false;
    }
}
