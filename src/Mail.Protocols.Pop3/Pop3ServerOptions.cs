using Mail.Protocols.Connections;
using Mail.Protocols.Sasl;

namespace Mail.Protocols.Pop3;

/// <summary>Settings of the POP3 server. Every limit has a safe default.</summary>
public sealed class Pop3ServerOptions : MailServerOptions
{

    /// <summary>Creates the options with POP3's defaults: a 10-minute <see cref="MailServerOptions.IdleTimeout"/> and 10 for <see cref="MailServerOptions.MaxAuthFailures"/>.</summary>
    public Pop3ServerOptions()
        : base(TimeSpan.FromMinutes(10), maxAuthFailures: 10)
    {
    }

    /// <summary>Longest command line in octets, without CRLF: 253, RFC 2449 §4's 255 including CRLF. Longer lines get -ERR.</summary>
    public int MaxCommandLineLength { get; } = 253;

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

    /// <summary>
    /// Offer APOP (a timestamp in the greeting; needs the directory's shared secret, so it is offered only when the user
    /// directory has clear-text secrets: <see cref="Users.IUserDirectory.HasSharedSecrets"/>). Defaults to false.
    /// </summary>
    public bool EnableApop { get; set; }

    /// <summary>LOGIN-DELAY (RFC 2449 §6.5) in seconds: advertised in CAPA and enforced, a user's next login within
    /// that time after a successful one gets <c>-ERR [LOGIN-DELAY]</c>. Null (the default): no delay.</summary>
    public int? LoginDelaySeconds { get; set; }

}
