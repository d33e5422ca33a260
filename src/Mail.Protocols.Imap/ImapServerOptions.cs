using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap;

/// <summary>A folder the IMAP server creates for each user at login when it is missing (<see cref="ImapServerOptions.FoldersAtLogin"/>).</summary>
/// <param name="Name">The folder's full name.</param>
/// <param name="SpecialUse">Its special-use role (RFC 6154).</param>
public sealed record ImapFolderAtLogin(string Name, SpecialUse SpecialUse = SpecialUse.None);

/// <summary>Settings of the IMAP server. Every limit has a safe default.</summary>
public sealed class ImapServerOptions : MailServerOptions
{
    private int _maxLineLength = 65_536;
    private int _maxCommandSize = 262_144;
    private int _maxLiterals = 64;
    private long _appendLimit = 50L * 1024 * 1024;
    private TimeSpan _loginTimeout = TimeSpan.FromMinutes(3);

    /// <summary>
    /// Creates the options with IMAP's defaults: a 30-minute <see cref="MailServerOptions.IdleTimeout"/> (RFC 9051 §5.4's
    /// autologout timer, which also bounds one IDLE) and 5 for <see cref="MailServerOptions.MaxAuthFailures"/>.
    /// </summary>
    public ImapServerOptions()
        : base(TimeSpan.FromMinutes(30), maxAuthFailures: 5)
    {
    }

    /// <summary>
    /// How long a client that has not logged in may stay silent between commands before the server ends the session with
    /// <c>* BYE</c>. RFC 9051 §5.4 asks for at least 30 minutes of inactivity (<see cref="MailServerOptions.IdleTimeout"/>)
    /// only once a client is authenticated; a connection that never logs in only holds resources. Defaults to 3 minutes.
    /// </summary>
    public TimeSpan LoginTimeout
    {
        get => _loginTimeout;
        set => _loginTimeout = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), "Must be positive.");
    }

    /// <summary>Longest line of a command in octets, without CRLF (a long UID set fits). Defaults to 65,536.</summary>
    public int MaxLineLength
    {
        get => _maxLineLength;
        set => _maxLineLength = value >= 1024 ? value : throw new ArgumentOutOfRangeException(nameof(value), "At least 1,024 octets.");
    }

    /// <summary>
    /// Largest command in octets, its lines and literals together, except the message of an APPEND (which
    /// <see cref="AppendLimit"/> bounds and which is streamed to the store, never held). Defaults to 256 KiB.
    /// </summary>
    public int MaxCommandSize
    {
        get => _maxCommandSize;
        set => _maxCommandSize = value >= 4096 ? value : throw new ArgumentOutOfRangeException(nameof(value), "At least 4,096 octets.");
    }

    /// <summary>Most literals in one command. Defaults to 64.</summary>
    public int MaxLiterals
    {
        get => _maxLiterals;
        set => _maxLiterals = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), "At least 1.");
    }

    /// <summary>Largest message APPEND takes, advertised as APPENDLIMIT (RFC 7889). Defaults to 50 MiB.</summary>
    public long AppendLimit
    {
        get => _appendLimit;
        set => _appendLimit = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), "At least 1 octet.");
    }

    /// <summary>
    /// Folders every user has from the first login on: at each login, those missing are created with their special-use
    /// role and subscribed (as Dovecot's <c>auto = subscribe</c> does). Empty by default.
    /// </summary>
    public IList<ImapFolderAtLogin> FoldersAtLogin { get; } = [];

}
