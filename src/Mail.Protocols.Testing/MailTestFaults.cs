using Mail.Protocols.Smtp;

namespace Mail.Protocols.Testing;

/// <summary>
/// Failures a test switches on to see how the application under test copes (retries, error handling). Each applies to
/// the sessions that reach that point after it was set; null or zero switches it off. Safe to change from any thread.
/// </summary>
public sealed class MailTestFaults
{
    private volatile SmtpReply? _mailFrom;
    private volatile Func<string, SmtpReply?>? _recipient;
    private volatile SmtpReply? _endOfData;
    private long _delayTicks;

    /// <summary>The reply to every MAIL FROM instead of accepting it (say 451 4.3.0 to make the sender retry later).</summary>
    public SmtpReply? MailFrom { get => _mailFrom; set => _mailFrom = value; }

    /// <summary>The reply to a RCPT TO for the given address, or null to accept it (say 550 5.1.1 for an unknown user).</summary>
    public Func<string, SmtpReply?>? Recipient { get => _recipient; set => _recipient = value; }

    /// <summary>
    /// The reply at the end of the message data instead of accepting it (say 552 5.2.2 for a full mailbox, or
    /// <see cref="DropConnection"/> for a connection lost before the reply came).
    /// </summary>
    public SmtpReply? EndOfData { get => _endOfData; set => _endOfData = value; }

    /// <summary>How long the server waits before each reply to MAIL FROM, RCPT TO and the end of data (a slow server).</summary>
    public TimeSpan ReplyDelay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _delayTicks));
        set => Interlocked.Exchange(ref _delayTicks, value >= TimeSpan.Zero ? value.Ticks : throw new ArgumentOutOfRangeException(nameof(value), "Must not be negative."));
    }

    /// <summary>Shorthand for a full mailbox at the end of data: 552 5.2.2 (RFC 3463).</summary>
    public static SmtpReply MailboxFull { get; } = new(552, "5.2.2", "Mailbox full");

    /// <summary>
    /// Not a reply: the connection is closed at once, without any, as when the network fails or the server crashes.
    /// Set as <see cref="MailFrom"/>, a <see cref="Recipient"/> answer or <see cref="EndOfData"/> (at the end of data the
    /// message is not kept: the sender cannot know, and must send it again). It is <see cref="SmtpReply.DropConnection"/>.
    /// </summary>
    public static SmtpReply DropConnection => SmtpReply.DropConnection;

    /// <summary>Shorthand for a temporary failure: 451 4.3.0, which a sender must retry.</summary>
    public static SmtpReply TryAgainLater { get; } = new(451, "4.3.0", "Temporary failure, try again later");

    /// <summary>Switches every fault off.</summary>
    public void Clear()
    {
        MailFrom = null;
        Recipient = null;
        EndOfData = null;
        ReplyDelay = TimeSpan.Zero;
    }
}
