using Mail.Protocols.Connections;
using Mail.Protocols.RateLimits;
using Mail.Protocols.Sasl;

namespace Mail.Protocols;

/// <summary>
/// The settings every mail protocol server shares (SMTP, POP3, and IMAP to come): its name, the command timeout,
/// the error budget, TLS, connection limits, shutdown and authentication. Each protocol's options derive from it
/// and add their own; the defaults that differ by protocol are given there.
/// </summary>
public abstract class MailServerOptions
{
    private int _maxErrors = 10;
    private int _maxAuthFailures;
    private ReadOnlyMemory<byte> _scramUnknownUserKey;
    private long _minimumDataRate = 240;
    private TimeSpan _minimumDataRateGracePeriod = TimeSpan.FromSeconds(30);

    /// <summary>Creates the options with the protocol's default command timeout and failed-authentication cap.</summary>
    protected MailServerOptions(TimeSpan idleTimeout, int maxAuthFailures)
    {
        IdleTimeout = idleTimeout;
        _maxAuthFailures = maxAuthFailures;
    }

    /// <summary>The host name the server gives in its greeting (and, for SMTP, in the EHLO reply and Received headers; for POP3, in the APOP timestamp). Defaults to the machine name.</summary>
    public string ServerName { get; set; } = Environment.MachineName;

    /// <summary>How long the server waits for a command (and for each SASL answer). Defaults to 5 minutes for SMTP (RFC 5321 §4.5.3.2.7) and 10 minutes for POP3 (RFC 1939 §3).</summary>
    public TimeSpan IdleTimeout { get; set; }

    /// <summary>Errors in a row after which the session is closed (SMTP answers <c>421 4.7.0</c>). Defaults to 10.</summary>
    public int MaxErrors
    {
        get => _maxErrors;
        set => _maxErrors = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "Must be positive.");
    }

    /// <summary>Pause before answering a failed or cancelled authentication, to slow password guessing. Defaults to 2 seconds.</summary>
    public TimeSpan FailedAuthDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Failed (or cancelled) authentications after which the session is closed, however many good commands come
    /// between them. Defaults to 5 for SMTP: enough for a client such as MailKit that tries each offered mechanism
    /// once with a wrong password, too few for guessing; and to 10 for POP3, where MailKit tries APOP, each SASL
    /// mechanism and USER/PASS (six attempts) before it gives up on one wrong password.
    /// </summary>
    public int MaxAuthFailures
    {
        get => _maxAuthFailures;
        set => _maxAuthFailures = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "Must be positive.");
    }

    /// <summary>Allow authentication on unencrypted connections (SMTP AUTH; POP3 USER/PASS, APOP and AUTH). Defaults to false: only after STARTTLS/STLS or on implicit TLS.</summary>
    public bool AllowPlaintextAuth { get; set; }

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

    /// <summary>
    /// The SASL mechanisms offered, in order; each must be in <see cref="SaslRegistry"/>. Defaults to the built-in ones
    /// (<see cref="SaslMechanisms.BuiltIn"/>). A mechanism that needs clear-text secrets (CRAM-MD5) is left out of the offer
    /// when the user directory does not have them (<see cref="Users.IUserDirectory.HasSharedSecrets"/>).
    /// </summary>
    public IList<string> AuthMechanisms { get; } = [.. SaslMechanisms.BuiltIn];

    /// <summary>
    /// The mechanisms the server can run, by name: the built-in ones, and those the application adds (OAUTHBEARER and
    /// XOAUTH2 with <see cref="OAuthMechanismsExtensions"/>, or its own). May be shared by several servers.
    /// </summary>
    public SaslMechanismRegistry SaslRegistry { get; set; } = new();

    /// <summary>TLS settings for STARTTLS/STLS and implicit-TLS endpoints; null disables both.</summary>
    public MailTlsOptions? Tls { get; set; }

    /// <summary>Connection limits per listener.</summary>
    public ConnectionLimits Limits { get; } = new();

    /// <summary>
    /// Rate limits that count across sessions: connections and failed logins per client address, failed logins per
    /// login (with lock-outs) and, for SMTP, messages per authenticated user. Defaults to an instance of this options
    /// object's own with the defaults of <see cref="SessionRateLimitOptions"/>; give every server of an application the
    /// same instance so that they count together (MailHost does). Null switches them off.
    /// </summary>
    public SessionRateLimits? RateLimits { get; set; } = new();

    /// <summary>
    /// The minimum average rate, in octets per second, at which message data must arrive once
    /// <see cref="MinimumDataRateGracePeriod"/> has passed: SMTP DATA and BDAT chunks, IMAP literals (APPEND's message
    /// and literals inside commands); POP3 receives none. It is counted from the start of each transfer (after
    /// <c>n</c> octets the transfer may have lasted <c>grace + n / rate</c> seconds), on top of the per-read
    /// inactivity limit, so a client that drips an octet just inside every limit cannot hold a session for hours.
    /// A client cut by it gets the protocol's temporary error (SMTP <c>421 4.4.2</c>, IMAP <c>* BYE</c>) and the
    /// connection is closed; nothing half-received is stored. Defaults to 240 (Kestrel's floor for request bodies:
    /// a 10 MB message may take 12 hours); 0 turns it off.
    /// </summary>
    public long MinimumDataRate
    {
        get => _minimumDataRate;
        set => _minimumDataRate = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "Must not be negative.");
    }

    /// <summary>
    /// How long <see cref="MinimumDataRate"/> waits before it counts, from the start of each transfer. Defaults to
    /// 30 seconds: longer than Kestrel's 5, because a mail client on a bad link may lose its first segments several
    /// times (TCP's retransmission backoff doubles from 1 second), and the floor is there to bound a transfer's length,
    /// not to detect a stall (the inactivity limit does that).
    /// </summary>
    public TimeSpan MinimumDataRateGracePeriod
    {
        get => _minimumDataRateGracePeriod;
        set => _minimumDataRateGracePeriod = value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), "Must not be negative.");
    }

    /// <summary>How long <see cref="ProtocolServer.StopAsync"/> lets sessions finish. Defaults to 10 seconds.</summary>
    public TimeSpan ShutdownGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The deadline of a transfer of message data: <paramref name="timeout"/> per wait, and the minimum data rate.</summary>
    public LiteralReadOptions DataReadOptions(TimeSpan timeout) =>
        new() { Timeout = timeout, MinimumDataRate = MinimumDataRate, GracePeriod = MinimumDataRateGracePeriod };

    /// <summary>
    /// The settings a server cannot start with, beyond what each setter refuses on its own (a hosting layer reports them
    /// all at once, each under its configuration path). Empty when the options are usable.
    /// </summary>
    public IReadOnlyList<SettingProblem> FindProblems()
    {
        var problems = new List<SettingProblem>();
        AddSharedProblems(problems);
        AddProblems(problems);
        return problems;
    }

    /// <summary>Adds the protocol's own problems to <paramref name="problems"/>; the shared settings are checked already.</summary>
    protected virtual void AddProblems(ICollection<SettingProblem> problems)
    {
    }

    /// <summary>Throws the first of <see cref="FindProblems"/> (an <see cref="InvalidOperationException"/>), as the server's constructor does.</summary>
    public void Validate() => ThrowFirst(FindProblems());

    /// <summary>Throws the first problem of the settings every protocol shares.</summary>
    internal void ValidateShared()
    {
        var problems = new List<SettingProblem>();
        AddSharedProblems(problems);
        ThrowFirst(problems);
    }

    private void AddSharedProblems(List<SettingProblem> problems)
    {
        if (string.IsNullOrWhiteSpace(ServerName) || ServerName.Any(c => c <= ' ' || c > '~'))
        {
            problems.Add(new(nameof(ServerName), "must be a non-empty ASCII host name."));
        }
        if (IdleTimeout <= TimeSpan.Zero)
        {
            problems.Add(new(nameof(IdleTimeout), "must be positive."));
        }
        if (FailedAuthDelay < TimeSpan.Zero)
        {
            problems.Add(new(nameof(FailedAuthDelay), "must not be negative."));
        }
        if (ShutdownGracePeriod < TimeSpan.Zero)
        {
            problems.Add(new(nameof(ShutdownGracePeriod), "must not be negative."));
        }
        if (SaslRegistry is null)
        {
            problems.Add(new(nameof(SaslRegistry), "must be set."));
        }
        for (var i = 0; i < AuthMechanisms.Count && SaslRegistry is not null; i++)
        {
            if (AuthMechanisms[i] is null || !SaslRegistry.Contains(AuthMechanisms[i]))
            {
                problems.Add(new($"{nameof(AuthMechanisms)}:{i}", $"unknown SASL mechanism '{AuthMechanisms[i]}' (registered: {string.Join(", ", SaslRegistry.Names)})."));
            }
        }
    }

    private static void ThrowFirst(IReadOnlyList<SettingProblem> problems)
    {
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(problems[0].ToString());
        }
    }
}
