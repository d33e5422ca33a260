using Mail.Protocols.Connections;
using Mail.Protocols.Sasl;

namespace Mail.Protocols.Smtp;

/// <summary>What the SMTP server does with a bare CR or LF inside message data (RFC 5321 §2.3.8).</summary>
public enum BareLineEndingPolicy
{
    /// <summary>Refuse the message with <c>550 5.6.0</c> once its data has ended (the default; closes the "SMTP smuggling" class of attacks).</summary>
    Reject,
    /// <summary>Accept the message, turning each bare CR or LF into CRLF.</summary>
    Normalize,
}

/// <summary>
/// Who gets a truthful answer to VRFY or EXPN (RFC 5321 §3.5, §7.3); each command has its own setting
/// (<see cref="SmtpServerOptions.Vrfy"/>, <see cref="SmtpServerOptions.Expn"/>). Answers that say "unknown" are
/// counted against the client's address by <see cref="MailServerOptions.RateLimits"/> (docs/addressing.md).
/// </summary>
public enum AddressQueryMode
{
    /// <summary>Nobody: VRFY answers <c>252 2.5.2</c> ("cannot verify, will attempt delivery") and EXPN <c>502 5.5.1</c> (the default).</summary>
    Off,
    /// <summary>Authenticated sessions only; before AUTH, VRFY answers 252 and EXPN <c>530 5.7.0</c>.</summary>
    Authenticated,
    /// <summary>Every session, authenticated or not.</summary>
    On,
}

/// <summary>The role of an SMTP endpoint.</summary>
public enum SmtpRole
{
    /// <summary>Port 25 style: accepts mail for local domains from anyone; relays only for authenticated or trusted clients.</summary>
    Mx,
    /// <summary>Port 587/465 style (RFC 6409): AUTH is required before MAIL.</summary>
    Submission,
}

/// <summary>Settings of the SMTP server. Every limit has a safe default.</summary>
public sealed class SmtpServerOptions : MailServerOptions
{
    private int _maxCommandLineLength = 2048;
    private long _maxMessageSize = 50 * 1024 * 1024;
    private int _maxRecipients = 100;

    /// <summary>Creates the options with SMTP's defaults: a 5-minute <see cref="MailServerOptions.IdleTimeout"/> and 5 for <see cref="MailServerOptions.MaxAuthFailures"/>.</summary>
    public SmtpServerOptions()
        : base(TimeSpan.FromMinutes(5), maxAuthFailures: 5)
    {
    }

    /// <summary>
    /// Longest command line in octets, without CRLF. Defaults to 2,048: RFC 5321 §4.5.3.1.4's 512 octets plus
    /// room for the parameters of SIZE, DSN, SMTPUTF8 and AUTH. Longer lines get <c>500 5.5.6</c>.
    /// </summary>
    public int MaxCommandLineLength
    {
        get => _maxCommandLineLength;
        set => _maxCommandLineLength = value >= 512 ? value : throw new ArgumentOutOfRangeException(nameof(value), "RFC 5321 requires at least 512.");
    }

    /// <summary>Largest message in octets, declared with SIZE and enforced on the bytes received. Defaults to 50 MiB.</summary>
    public long MaxMessageSize
    {
        get => _maxMessageSize;
        set => _maxMessageSize = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "Must be positive.");
    }

    /// <summary>
    /// How many <c>Received:</c> fields a message may carry, counting the one this server adds: one with more has
    /// passed through more hosts than any real route and is taken to be looping between forwarders (RFC 5321 §6.3,
    /// which asks for a threshold of at least 100), and is refused with <c>554 5.4.6</c>. Defaults to 100.
    /// </summary>
    public int MaxReceivedFields
    {
        get;
        set => field = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), "Must be positive.");
    } = 100;

    /// <summary>Recipients per message; more get <c>452 4.5.3</c>. Defaults to 100, the minimum RFC 5321 §4.5.3.1.8 requires a server to accept.</summary>
    public int MaxRecipients
    {
        get => _maxRecipients;
        set => _maxRecipients = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "Must be positive.");
    }

    /// <summary>How long the server waits for more message data. Defaults to 3 minutes (RFC 5321 §4.5.3.2.5 asks clients to wait that long).</summary>
    public TimeSpan DataTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>What to do with bare CR or LF in DATA. Defaults to <see cref="BareLineEndingPolicy.Reject"/>.</summary>
    public BareLineEndingPolicy BareLineEndings { get; set; } = BareLineEndingPolicy.Reject;

    /// <summary>
    /// Who VRFY answers truthfully: 250 with the full address of a local user or alias, 251 for an alias that only
    /// forwards, 551 or 252 for another domain, 550 for an unknown address, 553 for a bare local part that several
    /// local domains have. Defaults to <see cref="AddressQueryMode.Off"/> (252 for everyone, so nobody can enumerate users).
    /// </summary>
    public AddressQueryMode Vrfy { get; set; } = AddressQueryMode.Off;

    /// <summary>
    /// Who EXPN answers truthfully: one <c>250</c> line per address an alias reaches (local mailboxes by their full
    /// address, forwards by their remote address), 550 for an unknown address. Defaults to
    /// <see cref="AddressQueryMode.Off"/> (502 for everyone).
    /// </summary>
    public AddressQueryMode Expn { get; set; } = AddressQueryMode.Off;

    /// <summary>
    /// How long a relayed message delivered to a local user is remembered, so that the same message sent again by
    /// the hop before us (a message with a Received header and a Message-ID, the same octets with the same reverse
    /// path from the same client address, as after that MTA crashed between our 250 and recording it) is accepted but
    /// not stored twice. Defaults to 1 hour; <see cref="TimeSpan.Zero"/> turns it off.
    /// Kept in memory: a restart forgets.
    /// </summary>
    public TimeSpan DuplicateSuppressionWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>At most this many (user, message) pairs are remembered; past it the oldest are forgotten first. Defaults to 100,000 (a few MB).</summary>
    public int DuplicateSuppressionCapacity { get; set; } = 100_000;

    /// <summary>
    /// Where the server creates its private spool directory for messages that do not fit in memory while they
    /// arrive (more than 1 MiB): at start it makes a new directory of its own in here, mode 0700, and spools into
    /// it with files of mode 0600, deleted as soon as the message is delivered or refused; the directory is removed
    /// when the server is disposed. Defaults to null, the system's temporary directory (TMPDIR). Point it at a
    /// directory on a file system with room for <see cref="MaxMessageSize"/> times the concurrent transactions.
    /// </summary>
    public string? SpoolDirectory { get; set; }

    /// <summary>Accept/reject hooks for MAIL, RCPT and end of data.</summary>
    public SmtpHooks Hooks { get; set; } = SmtpHooks.None;

    /// <inheritdoc />
    protected override void AddProblems(ICollection<SettingProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (DataTimeout <= TimeSpan.Zero)
        {
            problems.Add(new(nameof(DataTimeout), "must be positive."));
        }
    }
}
