using Mail.Protocols.Users;

namespace Mail.Protocols.Sasl;

/// <summary>The SASL mechanisms shared by SMTP AUTH, POP3 AUTH and IMAP AUTHENTICATE.</summary>
public static class SaslMechanisms
{
    /// <summary>PLAIN (RFC 4616).</summary>
    public const string Plain = "PLAIN";
    /// <summary>LOGIN (draft-murchison-sasl-login).</summary>
    public const string Login = "LOGIN";
    /// <summary>CRAM-MD5 (RFC 2195).</summary>
    public const string CramMd5 = "CRAM-MD5";
    /// <summary>SCRAM-SHA-256 (RFC 5802, RFC 7677).</summary>
    public const string ScramSha256 = "SCRAM-SHA-256";

    /// <summary>Every mechanism this library implements, strongest first.</summary>
    public static IReadOnlyList<string> All { get; } = [ScramSha256, CramMd5, Plain, Login];

    /// <summary>Whether <paramref name="name"/> is a plaintext mechanism (PLAIN, LOGIN).</summary>
    public static bool IsPlaintext(string name) =>
        string.Equals(name, Plain, StringComparison.OrdinalIgnoreCase) || string.Equals(name, Login, StringComparison.OrdinalIgnoreCase);

    /// <summary>Creates a server exchange for <paramref name="name"/>, or null if it is not implemented.</summary>
    /// <param name="name">The mechanism name (case-insensitive).</param>
    /// <param name="users">Where users and their secrets are found.</param>
    /// <param name="serverName">The server's host name (used in the CRAM-MD5 challenge).</param>
    /// <param name="timeProvider">The clock (CRAM-MD5 challenge timestamp).</param>
    /// <param name="unknownUserKey">The key of SCRAM's made-up salts for logins that do not exist; empty: a random key
    /// made once per process. Servers that must show the same salts (several hosts, restarts) share one.</param>
    public static SaslMechanism? Create(string name, IUserDirectory users, string serverName, TimeProvider? timeProvider = null, ReadOnlyMemory<byte> unknownUserKey = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(users);
        return name.ToUpperInvariant() switch
        {
            Plain => new PlainMechanism(users),
            Login => new LoginMechanism(users),
            CramMd5 => new CramMd5Mechanism(users, serverName, timeProvider ?? TimeProvider.System),
            ScramSha256 => new ScramSha256Mechanism(users, unknownUserKey),
            _ => null,
        };
    }
}
