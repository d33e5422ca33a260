using System.Security.Cryptography;
using System.Text;

namespace Mail.Protocols.Telemetry;

/// <summary>
/// Logins and addresses in log events (docs/telemetry.md lists the events that carry them). They are logged as they
/// are by default, as Postfix and Dovecot log them, because an operator answering "where did my mail go" needs them.
/// With the <see cref="RedactSwitch"/> on, each is replaced by <c>redacted:</c> and 16 hex digits of an HMAC-SHA-256
/// keyed with a random key made at start: lines about one user still go together within a run, and nothing in the
/// log tells who it was. Message content, credentials and SASL payloads are never logged either way.
/// </summary>
public static class PersonalData
{
    /// <summary>
    /// The <see cref="AppContext"/> switch that turns redaction on for the process: in the project file
    /// (<c>&lt;RuntimeHostConfigurationOption Include="Mail.Protocols.RedactPersonalData" Value="true" /&gt;</c>), in
    /// runtimeconfig.json, or with <see cref="AppContext.SetSwitch"/> before the first server starts.
    /// </summary>
    public const string RedactSwitch = "Mail.Protocols.RedactPersonalData";

    private static readonly byte[] s_key = RandomNumberGenerator.GetBytes(32);

    /// <summary>Whether logins and addresses are redacted in log events (read once, when first needed).</summary>
    public static bool IsRedacted { get; } = AppContext.TryGetSwitch(RedactSwitch, out var on) && on;

    /// <summary><paramref name="value"/> as a log event carries it: itself, or its redacted form when <see cref="IsRedacted"/>.</summary>
    public static string ForLog(string? value) => value is null ? "" : IsRedacted ? Redact(value) : value;

    // Case-insensitive, as logins and addresses are: two spellings of one login give one token.
    private static string Redact(string value)
    {
        Span<byte> hash = stackalloc byte[32];
        HMACSHA256.HashData(s_key, Encoding.UTF8.GetBytes(value.ToUpperInvariant()), hash);
        // 64 bits: two users of one run sharing a token would take some four billion of them.
        return "redacted:" + Convert.ToHexStringLower(hash[..8]);
    }
}
