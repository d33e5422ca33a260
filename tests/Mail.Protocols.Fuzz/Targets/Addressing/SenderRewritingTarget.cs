using System.Text;
using Mail.Protocols.Addressing;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Fuzz.Targets.Addressing;

/// <summary>
/// The SRS codec (<see cref="SenderRewriter"/>) over addresses a client chooses: the recipient of a bounce, which
/// RCPT reverses, and the sender of a forwarded message, which delivery rewrites. The input, read as UTF-8, is the
/// address. Properties: neither direction throws; an address that reverses gives a non-empty address with an <c>@</c>
/// and no CR, LF or NUL; an address that is rewritten gives at most 254 octets ending in the forwarder's domain, which
/// reverses, and what it reverses to is rewritten to the same address again (so a bounce always finds its way back).
/// </summary>
internal sealed class SenderRewritingTarget : IFuzzTarget
{
    private const string Domain = "fwd.example";
    private static readonly SenderRewriter s_rewriter = new(
        new SenderRewritingOptions { Secret = [.. Enumerable.Range(1, 32).Select(i => (byte)i)], Domain = Domain },
        new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero)));

    public string Name => "SenderRewriting";

    public void Run(ReadOnlySpan<byte> input)
    {
        var address = Encoding.UTF8.GetString(input);

        if (s_rewriter.TryReverse(address, out var original, out var failure))
        {
            CheckAddress(original, "reversed");
        }
        else
        {
            Fuzz.Check(failure != SenderRewritingFailure.None, "a failed reversal says why");
        }

        if (!s_rewriter.TryForward(address, out var rewritten, out failure))
        {
            Fuzz.Check(failure != SenderRewritingFailure.None, "a failed rewrite says why");
            return;
        }
        if (ReferenceEquals(rewritten, address) || rewritten == address)
        {
            return; // the null path, or an address of our own domain: not rewritten
        }
        CheckAddress(rewritten, "rewritten");
        Fuzz.Check(Encoding.UTF8.GetByteCount(rewritten) <= 254, $"rewritten past a path's 254 octets: {rewritten.Length}");
        Fuzz.Check(rewritten.EndsWith("@" + Domain, StringComparison.Ordinal), $"rewritten outside our domain: {rewritten}");
        Fuzz.Check(s_rewriter.TryReverse(rewritten, out var back, out failure), $"our own rewrite does not reverse ({failure}): {rewritten}");
        Fuzz.Check(s_rewriter.TryForward(back, out var again, out failure), $"what a rewrite reverses to cannot be rewritten ({failure}): {back}");
        Fuzz.Check(string.Equals(again, rewritten, StringComparison.OrdinalIgnoreCase), $"rewrite, reverse, rewrite differs: {rewritten} then {again}");
    }

    private static void CheckAddress(string address, string what)
    {
        Fuzz.Check(address.Length > 0 && address.Contains('@', StringComparison.Ordinal), $"{what} address without @: '{address}'");
        Fuzz.Check(address.AsSpan().IndexOfAny("\r\n\0") < 0, $"{what} address with CR, LF or NUL");
    }
}
