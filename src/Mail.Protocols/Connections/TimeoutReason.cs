namespace Mail.Protocols.Connections;

/// <summary>What a connection's deadline was waiting for; <see cref="MailConnection.TimedOut"/> reports it when it expires.</summary>
public enum TimeoutReason
{
    /// <summary>No deadline has expired.</summary>
    None,
    /// <summary>The next command line (or the rest of one): <see cref="SessionIO.ReadLineAsync"/> by default.</summary>
    Command,
    /// <summary>More of the message content after SMTP DATA.</summary>
    MessageData,
    /// <summary>The octets of a length-delimited read (an IMAP literal, an SMTP BDAT chunk): <see cref="LiteralRead"/>.</summary>
    Literal,
    /// <summary>
    /// The client's end of an IMAP IDLE while notifications go out: armed by the engine through
    /// <see cref="SessionIO.WaitForInputAsync"/>.
    /// </summary>
    ImapIdle,
    /// <summary>The TLS handshake (implicit TLS, STARTTLS, STLS): <see cref="MailTlsOptions.HandshakeTimeout"/>.</summary>
    TlsHandshake,
    /// <summary>The client's answer to a SASL challenge.</summary>
    Authentication,
    /// <summary>Writing to a client that does not read: the connection is aborted.</summary>
    Write,
    /// <summary>
    /// Message data (SMTP DATA or BDAT, an IMAP literal) arrived slower on average than the minimum data rate
    /// (<see cref="MailServerOptions.MinimumDataRate"/>, <see cref="LiteralReadOptions.MinimumDataRate"/>), though
    /// perhaps within every inactivity limit.
    /// </summary>
    MinimumDataRate,
}
