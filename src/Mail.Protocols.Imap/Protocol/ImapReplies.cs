namespace Mail.Protocols.Imap.Protocol;

/// <summary>
/// The server's fixed lines. A tagged refusal is written as the command's tag, a space, then <see cref="For"/>;
/// response codes follow RFC 9051 §7.1 and RFC 5530.
/// </summary>
internal static class ImapReplies
{
    public static ReadOnlySpan<byte> ShuttingDown => "* BYE [UNAVAILABLE] Server shutting down\r\n"u8;
    public static ReadOnlySpan<byte> Autologout => "* BYE Autologout; idle for too long\r\n"u8;
    public static ReadOnlySpan<byte> TooManyErrors => "* BYE Too many errors, closing\r\n"u8;
    public static ReadOnlySpan<byte> TooManyAuthFailures => "* BYE [AUTHENTICATIONFAILED] Too many failed logins, closing\r\n"u8;
    public static ReadOnlySpan<byte> LogoutBye => "* BYE Logging out\r\n"u8;
    // A line longer than the limit was dropped unread, so its tag is unknown (RFC 9051 §7.1.3 allows an untagged BAD).
    public static ReadOnlySpan<byte> LineTooLong => "* BAD [TOOBIG] Command line too long\r\n"u8;
    public static ReadOnlySpan<byte> Continue => "+ Ready for more\r\n"u8;
    public static ReadOnlySpan<byte> ContinueLiteral => "+ Ready for literal data\r\n"u8;

    public static ReadOnlySpan<byte> For(ImapRejectReason reason) => reason switch
    {
        ImapRejectReason.SyntaxError => "BAD "u8, // followed by the parser's text
        ImapRejectReason.UnknownCommand => "BAD Unknown command\r\n"u8,
        ImapRejectReason.NotAuthenticated => "BAD Command not valid before login\r\n"u8,
        ImapRejectReason.AlreadyAuthenticated => "BAD Already logged in\r\n"u8,
        ImapRejectReason.NoFolderSelected => "BAD No mailbox selected\r\n"u8,
        ImapRejectReason.CommandTooLarge => "BAD [TOOBIG] Command too large\r\n"u8,
        ImapRejectReason.TooManyLiterals => "BAD [LIMIT] Too many literals in one command\r\n"u8,
        ImapRejectReason.LiteralTooLarge => "BAD [TOOBIG] Literal too large\r\n"u8,
        ImapRejectReason.MessageTooLarge => "NO [TOOBIG] Message larger than APPENDLIMIT\r\n"u8,
        ImapRejectReason.LoginDisabled => "NO [PRIVACYREQUIRED] Login needs TLS, use STARTTLS first\r\n"u8,
        ImapRejectReason.UnsupportedMechanism => "NO [CANNOT] Unsupported authentication mechanism\r\n"u8,
        ImapRejectReason.AuthFailed => "NO [AUTHENTICATIONFAILED] Authentication failed\r\n"u8,
        ImapRejectReason.AuthCancelled => "BAD Authentication cancelled\r\n"u8,
        ImapRejectReason.AuthMalformed => "BAD Invalid authentication response\r\n"u8,
        ImapRejectReason.AuthTemporaryFailure => "NO [UNAVAILABLE] Authentication temporarily unavailable\r\n"u8,
        ImapRejectReason.TlsNotAvailable => "BAD STARTTLS not available\r\n"u8,
        ImapRejectReason.TlsAlreadyActive => "BAD TLS already active\r\n"u8,
        ImapRejectReason.MailboxNotFound => "NO [NONEXISTENT] No such mailbox\r\n"u8,
        ImapRejectReason.TargetNotFound => "NO [TRYCREATE] No such mailbox\r\n"u8,
        ImapRejectReason.MailboxExists => "NO [ALREADYEXISTS] Mailbox already exists\r\n"u8,
        ImapRejectReason.NotAllowed => "NO [CANNOT] Not allowed on this mailbox\r\n"u8,
        ImapRejectReason.InvalidName => "NO [CANNOT] Invalid mailbox name\r\n"u8,
        ImapRejectReason.UnknownSpecialUse => "NO [USEATTR] Unsupported special-use attribute\r\n"u8,
        ImapRejectReason.ReadOnly => "NO [READ-ONLY] Mailbox is read-only\r\n"u8,
        ImapRejectReason.InvalidKeyword => "BAD Keywords must be atoms\r\n"u8,
        ImapRejectReason.StoreUnavailable => "NO [UNAVAILABLE] Mailbox store temporarily unavailable\r\n"u8,
        ImapRejectReason.StorageFull => "NO [OVERQUOTA] Mailbox full\r\n"u8,
        ImapRejectReason.ExpungeIssued => "NO [EXPUNGEISSUED] Some messages were expunged by another session\r\n"u8,
        ImapRejectReason.BadCharset => "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n"u8,
        ImapRejectReason.UnknownTransferEncoding => "NO [UNKNOWN-CTE] Unknown content transfer encoding\r\n"u8,
        ImapRejectReason.CannotEnable => "BAD Cannot enable that here\r\n"u8,
        // The rate limits of SessionRateLimits, with RFC 5530's UNAVAILABLE: temporary, try again later. A login refused
        // by a lock-out had its credentials unchecked, so not AUTHENTICATIONFAILED (which would ask for a new password).
        ImapRejectReason.ConnectionRateLimited => "BYE [UNAVAILABLE] Too many connections from your address, try again later\r\n"u8,
        ImapRejectReason.AuthRateLimited => "NO [UNAVAILABLE] Too many failed logins, try again later\r\n"u8,
        // Written untagged ("* BYE ..."): the session closes (RFC 9051 §7.1.5).
        ImapRejectReason.DataRateTooLow => "BYE Literal data arrived too slowly, closing\r\n"u8,
        _ => throw new ArgumentOutOfRangeException(nameof(reason)),
    };

    private static readonly string[] s_errorTypes = Enum.GetNames<ImapRejectReason>();

    /// <summary>The metric tag of a refusal (no string built per refusal).</summary>
    public static string ErrorType(ImapRejectReason reason) => s_errorTypes[(int)reason];
}
