namespace Mail.Protocols.Smtp.Protocol;

/// <summary>Why the server refuses something; each maps to exactly one reply in <see cref="SmtpReplies.For"/>.</summary>
internal enum SmtpRejectReason
{
    LineTooLong,
    UnknownCommand,
    SyntaxError,
    NeedHelo,
    NeedMail,
    NeedRecipient,
    NestedMail,
    BadSenderSyntax,
    BadRecipientSyntax,
    AddressTooLong,
    NeedsSmtpUtf8,
    UnknownParameter,
    BadParameter,
    MessageTooLarge,
    TooManyRecipients,
    AuthRequired,
    TlsRequired,
    EncryptionRequiredForMechanism,
    AlreadyAuthenticated,
    UnknownMechanism,
    AuthCancelled,
    AuthMalformed,
    AuthFailed,
    AuthNotAvailable,
    AuthTemporaryFailure,
    TlsNotAvailable,
    TlsAlreadyActive,
    BareLineEnding,
    /// <summary>The message's first line starts with white space, which would continue our Received field (RFC 5322 §2.2.3).</summary>
    HeaderStartsWithWhiteSpace,
    /// <summary>More Received fields than <c>MaxReceivedFields</c>: a mail loop (RFC 5321 §6.3).</summary>
    TooManyHops,
    StorageFull,
    /// <summary>A local recipient's mailbox is over its quota (RFC 3463 X.2.2); the client tries again later.</summary>
    MailboxFull,
    StorageError,
    NotImplemented,
    BdatAfterData,
    RecipientAfterData,
    DataAfterBinaryMime,
    AuthDuringTransaction,
    BadHeloName,
    InsufficientAuthForRelay,
    NullSenderAuthenticated,
    EhloWithoutName,
    HeloWithoutName,
    UserUnknown,
    ConnectionRateLimited,
    AuthRateLimited,
    MessageRateLimited,
    /// <summary>
    /// DATA or a BDAT chunk arrived below <see cref="MailServerOptions.MinimumDataRate"/>: answered with
    /// <see cref="ServerReplies.DataRateTooLow"/> (a 421 names the host), then the connection closes.
    /// </summary>
    DataRateTooLow,
    /// <summary>
    /// VRFY or EXPN from an address whose budget of failed authentications (<see cref="RateLimits.SessionRateLimits"/>)
    /// is spent, by failed logins or by earlier "unknown" answers: <c>450 4.7.1</c>, nothing looked up.
    /// </summary>
    QueryRateLimited,
    /// <summary>HELP with an argument that names no command this session answers: 504, as RFC 5321 §4.3.2 lists for HELP.</summary>
    HelpTopicUnknown,
}

internal static class SmtpReplies
{
    public static ReadOnlySpan<byte> Ok => "250 2.0.0 OK\r\n"u8;
    public static ReadOnlySpan<byte> SenderOk => "250 2.1.0 Sender ok\r\n"u8;
    public static ReadOnlySpan<byte> RecipientOk => "250 2.1.5 Recipient ok\r\n"u8;
    public static ReadOnlySpan<byte> StartMailInput => "354 Enter mail, end with \".\" on a line by itself\r\n"u8;
    public static ReadOnlySpan<byte> ReadyToStartTls => "220 2.0.0 Ready to start TLS\r\n"u8;
    public static ReadOnlySpan<byte> AuthSucceeded => "235 2.7.0 Authentication successful\r\n"u8;
    public static ReadOnlySpan<byte> VrfyAmbiguous => "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery\r\n"u8;
    public static ReadOnlySpan<byte> HelpPrefix => "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY"u8;
    public static ReadOnlySpan<byte> HelpEnd => "\r\n214 2.0.0 End of HELP info\r\n"u8;
    public static ReadOnlySpan<byte> VerboseOn => "250 2.0.0 Verbose mode on\r\n"u8;
    public static ReadOnlySpan<byte> VerboseLinePrefix => "250-2.0.0 "u8;
    public static ReadOnlySpan<byte> AddressFoundPrefix => "250 2.1.5 <"u8;
    public static ReadOnlySpan<byte> AddressFoundMorePrefix => "250-2.1.5 <"u8;
    public static ReadOnlySpan<byte> WillForwardPrefix => "251 2.1.5 User not local; will forward to <"u8;
    public static ReadOnlySpan<byte> NotLocalPrefix => "551 5.1.6 User not local; please try <"u8;
    public static ReadOnlySpan<byte> Ambiguous => "553-5.1.4 Ambiguous; possibilities are\r\n"u8;
    public static ReadOnlySpan<byte> AmbiguousMorePrefix => "553-5.1.4 <"u8;
    public static ReadOnlySpan<byte> AmbiguousLastPrefix => "553 5.1.4 <"u8;
    public static ReadOnlySpan<byte> AddressSuffix => ">\r\n"u8;
    public static ReadOnlySpan<byte> MessageAcceptedSuffix => " Message accepted for delivery\r\n"u8;

    public static ReadOnlySpan<byte> For(SmtpRejectReason reason) => reason switch
    {
        SmtpRejectReason.LineTooLong => "500 5.5.6 Line too long\r\n"u8,
        SmtpRejectReason.UnknownCommand => "500 5.5.2 Syntax error, command unrecognized\r\n"u8,
        SmtpRejectReason.SyntaxError => "501 5.5.4 Syntax error in parameters or arguments\r\n"u8,
        SmtpRejectReason.NeedHelo => "503 5.5.1 Error: send HELO/EHLO first\r\n"u8,
        SmtpRejectReason.NeedMail => "503 5.5.1 Error: need MAIL command\r\n"u8,
        SmtpRejectReason.NeedRecipient => "503 5.5.1 Error: need RCPT command\r\n"u8,
        SmtpRejectReason.NestedMail => "503 5.5.1 Error: nested MAIL command\r\n"u8,
        SmtpRejectReason.BadSenderSyntax => "501 5.1.7 Bad sender address syntax\r\n"u8,
        SmtpRejectReason.BadRecipientSyntax => "501 5.1.3 Bad recipient address syntax\r\n"u8,
        SmtpRejectReason.AddressTooLong => "501 5.5.4 Address too long\r\n"u8,
        SmtpRejectReason.NeedsSmtpUtf8 => "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n"u8,
        SmtpRejectReason.UnknownParameter => "555 5.5.4 Unsupported MAIL FROM or RCPT TO parameter\r\n"u8,
        SmtpRejectReason.BadParameter => "501 5.5.4 Invalid parameter value\r\n"u8,
        SmtpRejectReason.MessageTooLarge => "552 5.3.4 Message size exceeds fixed maximum message size\r\n"u8,
        SmtpRejectReason.TooManyRecipients => "452 4.5.3 Too many recipients\r\n"u8,
        SmtpRejectReason.AuthRequired => "530 5.7.0 Authentication required\r\n"u8,
        SmtpRejectReason.TlsRequired => "530 5.7.0 Must issue a STARTTLS command first\r\n"u8,
        SmtpRejectReason.EncryptionRequiredForMechanism => "538 5.7.11 Encryption required for requested authentication mechanism\r\n"u8,
        SmtpRejectReason.AlreadyAuthenticated => "503 5.5.1 Already authenticated\r\n"u8,
        SmtpRejectReason.UnknownMechanism => "504 5.5.4 Unrecognized authentication type\r\n"u8,
        SmtpRejectReason.AuthCancelled => "501 5.0.0 Authentication cancelled\r\n"u8,
        SmtpRejectReason.AuthMalformed => "501 5.5.2 Cannot decode authentication response\r\n"u8,
        SmtpRejectReason.AuthFailed => "535 5.7.8 Authentication credentials invalid\r\n"u8,
        SmtpRejectReason.AuthNotAvailable => "503 5.5.1 AUTH not available\r\n"u8,
        SmtpRejectReason.AuthTemporaryFailure => "454 4.7.0 Temporary authentication failure\r\n"u8, // RFC 4954 §6
        SmtpRejectReason.TlsNotAvailable => "454 4.7.0 TLS not available\r\n"u8,
        SmtpRejectReason.TlsAlreadyActive => "503 5.5.1 TLS already active\r\n"u8,
        SmtpRejectReason.BareLineEnding => "550 5.6.0 Message contains bare CR or LF (RFC 5321 section 2.3.8)\r\n"u8,
        SmtpRejectReason.HeaderStartsWithWhiteSpace => "550 5.6.0 Message header starts with white space (RFC 5322 section 2.2.3)\r\n"u8,
        SmtpRejectReason.TooManyHops => "554 5.4.6 Too many hops: the message is looping (RFC 5321 section 6.3)\r\n"u8,
        SmtpRejectReason.StorageFull => "452 4.3.1 Insufficient system storage\r\n"u8,
        SmtpRejectReason.MailboxFull => "452 4.2.2 Mailbox full, try again later\r\n"u8,
        SmtpRejectReason.StorageError => "451 4.3.0 Local error in processing, try again later\r\n"u8,
        SmtpRejectReason.NotImplemented => "502 5.5.1 Command not implemented\r\n"u8,
        SmtpRejectReason.BdatAfterData => "503 5.5.1 Error: mixing DATA and BDAT\r\n"u8,
        SmtpRejectReason.DataAfterBinaryMime => "503 5.5.1 Error: BODY=BINARYMIME requires BDAT\r\n"u8,
        SmtpRejectReason.AuthDuringTransaction => "503 5.5.1 Error: AUTH not allowed during a mail transaction\r\n"u8,
        SmtpRejectReason.BadHeloName => "501 5.5.4 Invalid HELO/EHLO name\r\n"u8,
        SmtpRejectReason.RecipientAfterData => "503 5.5.1 Error: RCPT after message data has started\r\n"u8,
        // The null reverse path is for notifications (RFC 5321 §4.5.5), which the server generates itself.
        SmtpRejectReason.NullSenderAuthenticated => "553 5.7.1 Null sender not allowed for authenticated users\r\n"u8,
        SmtpRejectReason.EhloWithoutName => "501 5.5.4 Syntax: EHLO hostname\r\n"u8,
        SmtpRejectReason.HeloWithoutName => "501 5.5.4 Syntax: HELO hostname\r\n"u8,
        SmtpRejectReason.UserUnknown => "550 5.1.1 User unknown\r\n"u8, // VRFY and EXPN, where allowed
        // The rate limits of SessionRateLimits: temporary, so that a client retries later rather than gives up.
        SmtpRejectReason.ConnectionRateLimited => "421 4.7.0 Too many connections from your address, try again later\r\n"u8,
        // RFC 4954 §6: 454 4.7.0 is the temporary authentication failure; the credentials were not checked.
        SmtpRejectReason.AuthRateLimited => "454 4.7.0 Too many failed authentications, try again later\r\n"u8,
        SmtpRejectReason.MessageRateLimited => "451 4.7.1 Too many messages from this user, try again later\r\n"u8,
        SmtpRejectReason.QueryRateLimited => "450 4.7.1 Too many unknown addresses, try again later\r\n"u8,
        SmtpRejectReason.HelpTopicUnknown => SmtpHelpTopics.Unknown,
        _ => "554 5.7.1 Access denied\r\n"u8,
    };
}
