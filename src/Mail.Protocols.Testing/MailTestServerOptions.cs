namespace Mail.Protocols.Testing;

/// <summary>Settings of <see cref="MailTestServer"/>; the defaults take every message and need no login.</summary>
public sealed class MailTestServerOptions
{
    /// <summary>
    /// The local domains: mail for them is put in mailboxes, readable over POP3 and IMAP. Defaults to example.test when
    /// empty. Mail for other domains is kept as outbound (<see cref="MailTestServer.Outbound"/>), never relayed.
    /// </summary>
    public IList<string> Domains { get; } = [];

    /// <summary>Users as (address, password), for AUTH and for reading their mailboxes over POP3 and IMAP.</summary>
    public IList<(string Address, string Password)> Users { get; } = [];

    /// <summary>
    /// Take mail for any address of a local domain, user or not (each gets a mailbox of that name). Defaults to true;
    /// false refuses addresses that are no user with 550 5.1.1, as a real server would.
    /// </summary>
    public bool AcceptAnyRecipient { get; set; } = true;

    /// <summary>
    /// Offer AUTH on unencrypted connections too. Defaults to true: an application's test may send with a login over a
    /// plain connection to the loopback test server; set false to check that it insists on TLS first.
    /// </summary>
    public bool AllowPlaintextAuth { get; set; } = true;

    /// <summary>The largest message accepted, in octets. Defaults to 35 MiB.</summary>
    public long MaxMessageSize { get; set; } = 35 * 1024 * 1024;
}
