namespace Mail.Protocols.Pop3.Protocol;

/// <summary>Why the server refuses a command; each maps to exactly one reply in <see cref="Pop3Replies.For"/>.</summary>
internal enum Pop3RejectReason
{
    LineTooLong,
    UnknownCommand,
    TakesNoArguments,
    NotLoggedIn,
    AlreadyLoggedIn,
    MailboxUnavailable,
    UserSyntax,
    UserFirst,
    ApopNotEnabled,
    ApopSyntax,
    AuthRequiresTls,
    UnsupportedMechanism,
    InvalidBase64,
    AuthMalformed,
    AuthCancelled,
    AuthFailed,
    LoginDelay,
    MaildropInUse,
    StlsNotAvailable,
    TlsAlreadyActive,
    TopSyntax,
    InvalidMessageNumber,
    NoSuchMessage,
    MessageDeleted,
    MessageRemoved,
    DeletionFailed,
    ConnectionRateLimited,
    AuthRateLimited,
}

internal static class Pop3Replies
{
    public static ReadOnlySpan<byte> ShuttingDown => "-ERR [SYS/TEMP] Server shutting down\r\n"u8;

    // The closing lines that replace the reply to the error that reaches a limit (one reply per command).
    public static ReadOnlySpan<byte> TooManyErrors => "-ERR Too many errors, closing\r\n"u8;
    public static ReadOnlySpan<byte> TooManyErrorsAuth => "-ERR [AUTH] Too many errors, closing\r\n"u8;
    public static ReadOnlySpan<byte> TooManyAuthFailures => "-ERR [AUTH] Authentication failed, closing\r\n"u8;

    // RFC 3206: [AUTH] for a credential problem or a login against policy, [SYS/TEMP] for the server's own trouble,
    // [IN-USE] and [LOGIN-DELAY] (RFC 2449 §8.1). A command the client got wrong carries no code.
    public static ReadOnlySpan<byte> For(Pop3RejectReason reason) => reason switch
    {
        Pop3RejectReason.LineTooLong => "-ERR Line too long\r\n"u8,
        Pop3RejectReason.UnknownCommand => "-ERR Unknown command\r\n"u8,
        Pop3RejectReason.TakesNoArguments => "-ERR This command takes no arguments\r\n"u8,
        Pop3RejectReason.NotLoggedIn => "-ERR Not logged in\r\n"u8,
        Pop3RejectReason.AlreadyLoggedIn => "-ERR Already logged in\r\n"u8,
        Pop3RejectReason.MailboxUnavailable => "-ERR [SYS/TEMP] Mailbox temporarily unavailable\r\n"u8,
        Pop3RejectReason.UserSyntax => "-ERR Syntax: USER name\r\n"u8,
        Pop3RejectReason.UserFirst => "-ERR USER first\r\n"u8,
        Pop3RejectReason.ApopNotEnabled => "-ERR APOP not enabled\r\n"u8,
        Pop3RejectReason.ApopSyntax => "-ERR Syntax: APOP name digest\r\n"u8,
        // A login against policy (RFC 3206 §4); POP3 has no code of its own for "encryption required".
        Pop3RejectReason.AuthRequiresTls => "-ERR [AUTH] Authentication requires TLS, use STLS first\r\n"u8,
        Pop3RejectReason.UnsupportedMechanism => "-ERR Unsupported authentication mechanism\r\n"u8, // not a credential problem (RFC 3206 §5)
        Pop3RejectReason.InvalidBase64 => "-ERR Invalid base64\r\n"u8,
        Pop3RejectReason.AuthMalformed => "-ERR Malformed authentication exchange\r\n"u8,
        Pop3RejectReason.AuthCancelled => "-ERR Authentication cancelled\r\n"u8,
        Pop3RejectReason.AuthFailed => "-ERR [AUTH] Authentication failed\r\n"u8,
        Pop3RejectReason.LoginDelay => "-ERR [LOGIN-DELAY] Too soon after the last login, try again later\r\n"u8,
        Pop3RejectReason.MaildropInUse => "-ERR [IN-USE] Mailbox is locked by another POP3 session\r\n"u8,
        Pop3RejectReason.StlsNotAvailable => "-ERR STLS not available\r\n"u8,
        Pop3RejectReason.TlsAlreadyActive => "-ERR TLS already active\r\n"u8,
        Pop3RejectReason.TopSyntax => "-ERR Syntax: TOP msg n\r\n"u8,
        Pop3RejectReason.InvalidMessageNumber => "-ERR Invalid message number\r\n"u8,
        Pop3RejectReason.NoSuchMessage => "-ERR No such message\r\n"u8,
        Pop3RejectReason.MessageDeleted => "-ERR Message already deleted\r\n"u8,
        Pop3RejectReason.MessageRemoved => "-ERR [SYS/TEMP] Message was removed by another session\r\n"u8,
        Pop3RejectReason.DeletionFailed => "-ERR [SYS/TEMP] Some deleted messages not removed\r\n"u8, // QUIT's UPDATE (RFC 1939 §6)
        // The rate limits of SessionRateLimits. [SYS/TEMP] (RFC 3206 §4) rather than [AUTH]: the credentials were not
        // checked and may be right, so the client should try again later, not ask the user for a new password.
        Pop3RejectReason.ConnectionRateLimited => "-ERR [SYS/TEMP] Too many connections from your address, try again later\r\n"u8,
        Pop3RejectReason.AuthRateLimited => "-ERR [SYS/TEMP] Too many failed logins, try again later\r\n"u8,
        _ => "-ERR Refused\r\n"u8,
    };
}
