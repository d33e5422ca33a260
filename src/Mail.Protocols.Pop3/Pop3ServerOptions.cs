using Mail.Protocols.Connections;
using Mail.Protocols.Sasl;

namespace Mail.Protocols.Pop3;

/// <summary>Settings of the POP3 server. Every limit has a safe default.</summary>
public sealed class Pop3ServerOptions
{
    private int _maxErrors = 10;
    private ReadOnlyMemory<byte> _scramUnknownUserKey;
    private int _maxAuthFailures = 10;

    /// <summary>The host name in the greeting and the APOP timestamp. Defaults to the machine name.</summary>
    public string ServerName { get; set; } = Environment.MachineName;

    /// <summary>Longest command line in octets, without CRLF: 253, RFC 2449 §4's 255 including CRLF. Longer lines get -ERR.</summary>
    public int MaxCommandLineLength { get; } = 253;

    /// <summary>How long the server waits for a command: RFC 1939 §3 asks for at least 10 minutes (the default).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Pause before answering a failed login, to slow password guessing. Defaults to 2 seconds.</summary>
    public TimeSpan FailedAuthDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Failed logins after which the session is closed. Defaults to 10: a client such as MailKit tries APOP, each SASL mechanism and USER/PASS (six attempts) before it gives up on one wrong password.</summary>
    public int MaxAuthFailures
    {
        get => _maxAuthFailures;
        set => _maxAuthFailures = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "Must be positive.");
    }

    /// <summary>Errors in a row after which the session is closed. Defaults to 10.</summary>
    public int MaxErrors
    {
        get => _maxErrors;
        set => _maxErrors = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "Must be positive.");
    }

    /// <summary>
    /// How a message's UIDL is made from its folder's UIDVALIDITY and its UID. Defaults to
    /// <see cref="Pop3UidlFormats.Dovecot"/>, Dovecot's default, so POP3 clients of a Maildir Dovecot served (whose
    /// UIDs the Maildir store takes over) keep their UIDLs and download nothing twice. A value that is not a UIDL
    /// (1 to 70 characters 0x21-0x7E) makes the UIDL command fail with -ERR [SYS/TEMP] and a logged error.
    /// </summary>
    public Pop3UidlFormat UidlFormat { get; set; } = Pop3UidlFormats.Dovecot;

    /// <summary>
    /// At QUIT, give \Seen to the messages the session downloaded with RETR and did not delete, as Dovecot does by
    /// default (its <c>pop3_no_flag_updates = no</c>), so a user who also reads the mailbox over IMAP sees them as
    /// read. A session that ends without QUIT changes no flag. Defaults to true.
    /// </summary>
    public bool MarkRetrievedAsSeen { get; set; } = true;

    /// <summary>Allow USER/PASS and PLAIN/LOGIN on unencrypted connections. Defaults to false.</summary>
    public bool AllowPlaintextAuth { get; set; }

    /// <summary>Offer APOP (a timestamp in the greeting; needs the directory's shared secret). Defaults to false.</summary>
    public bool EnableApop { get; set; }

    /// <summary>
    /// The secret from which SCRAM-SHA-256 derives the salt it shows for a login that does not exist (an HMAC-SHA-256
    /// of the login keyed with it, with the iteration count of <see cref="ScramCredentials.DefaultIterations"/>), so
    /// that such a login cannot be told from a real one. Empty (the default): a random key made once per process and
    /// shared by every server in it, SMTP and POP3 alike. Hosts that serve the same users must set the same key, and
    /// so must a host that restarts, or the made-up salt of a login changes where a real one does not. At least 16
    /// bytes; keep it as secret as the user directory. The value is copied when set.
    /// </summary>
    public ReadOnlyMemory<byte> ScramUnknownUserKey
    {
        get => _scramUnknownUserKey;
        // A copy: the caller's array may be reused or cleared after configuring, and the key must not change under a running server.
        set => _scramUnknownUserKey = value.IsEmpty ? ReadOnlyMemory<byte>.Empty
            : value.Length >= 16 ? value.ToArray() : throw new ArgumentOutOfRangeException(nameof(value), "Must be at least 16 bytes (or empty).");
    }

    /// <summary>The SASL mechanisms offered. Defaults to every mechanism of <see cref="SaslMechanisms.All"/>.</summary>
    public IList<string> AuthMechanisms { get; } = [.. SaslMechanisms.All];

    /// <summary>LOGIN-DELAY (RFC 2449 §6.5) in seconds: advertised in CAPA and enforced, a user's next login within
    /// that time after a successful one gets <c>-ERR [LOGIN-DELAY]</c>. Null (the default): no delay.</summary>
    public int? LoginDelaySeconds { get; set; }

    /// <summary>TLS settings for STLS and implicit-TLS endpoints; null disables both.</summary>
    public MailTlsOptions? Tls { get; set; }

    /// <summary>Connection limits per listener.</summary>
    public ConnectionLimits Limits { get; } = new();

    /// <summary>How long <see cref="Connections.ProtocolServer.StopAsync"/> lets sessions finish. Defaults to 10 seconds.</summary>
    public TimeSpan ShutdownGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(ServerName) || ServerName.Any(c => c <= ' ' || c > '~'))
        {
            throw new InvalidOperationException("ServerName must be a non-empty ASCII host name.");
        }
        if (IdleTimeout <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("IdleTimeout must be positive.");
        }
        foreach (var mechanism in AuthMechanisms)
        {
            if (!SaslMechanisms.All.Contains(mechanism, StringComparer.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"Unknown SASL mechanism '{mechanism}'.");
            }
        }
    }
}
