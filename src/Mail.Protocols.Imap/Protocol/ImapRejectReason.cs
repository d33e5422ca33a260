namespace Mail.Protocols.Imap.Protocol;

/// <summary>Why the server refuses a command; each maps to exactly one reply in <see cref="ImapReplies.For"/> and one metric tag.</summary>
internal enum ImapRejectReason
{
    /// <summary>The arguments do not follow the grammar (the reply carries the parser's text).</summary>
    SyntaxError,
    UnknownCommand,
    NotAuthenticated,
    AlreadyAuthenticated,
    NoFolderSelected,
    CommandTooLarge,
    TooManyLiterals,
    LiteralTooLarge,
    MessageTooLarge,
    LoginDisabled,
    UnsupportedMechanism,
    AuthFailed,
    AuthCancelled,
    AuthMalformed,
    AuthTemporaryFailure,
    TlsNotAvailable,
    TlsAlreadyActive,
    MailboxNotFound,
    TargetNotFound,
    MailboxExists,
    NotAllowed,
    InvalidName,
    UnknownSpecialUse,
    ReadOnly,
    InvalidKeyword,
    StoreUnavailable,
    StorageFull,
    ExpungeIssued,
    BadCharset,
    UnknownTransferEncoding,
    CannotEnable,
    /// <summary>Connections per client address (SessionRateLimits): the one refusal written untagged, "* " then its BYE.</summary>
    ConnectionRateLimited,
    AuthRateLimited,
    /// <summary>
    /// A literal arrived below <see cref="MailServerOptions.MinimumDataRate"/>: its reply (a BYE) is written untagged,
    /// then the connection closes.
    /// </summary>
    DataRateTooLow,
}
