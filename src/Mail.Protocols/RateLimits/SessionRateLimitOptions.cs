using System.Net;

namespace Mail.Protocols.RateLimits;

/// <summary>
/// The settings of <see cref="SessionRateLimits"/>, copied when it is created. Each limit is null to switch it off. The
/// defaults are far above what a busy legitimate client does and far below what password guessing needs; see
/// docs/security.md for the reasoning behind each number.
/// </summary>
public sealed class SessionRateLimitOptions
{
    private int _maxTrackedKeys = 100_000;
    private int _ipv6PrefixLength = 64;

    /// <summary>
    /// New connections from one client address (an IPv4 address, or an IPv6 /64) to any server sharing the limits.
    /// Defaults to 600 a minute (ten a second, sustained): Postfix's anvil leaves its connection rate off by default, and
    /// 600 leaves room for a large NAT of polling clients while stopping a connection flood from one host. Over it, a
    /// connection gets the protocol's temporary refusal (SMTP <c>421 4.7.0</c>, POP3 <c>-ERR [SYS/TEMP]</c>, IMAP
    /// <c>* BYE [UNAVAILABLE]</c>) and is closed.
    /// </summary>
    public RateLimit? ConnectionsPerAddress { get; set; } = new(600, TimeSpan.FromMinutes(1));

    /// <summary>
    /// Failed (or cancelled) authentications from one client address. Defaults to 100 in 15 minutes, then a
    /// 15-minute lock-out in which every login attempt from the address is refused with the protocol's temporary error
    /// without its credentials being checked. A person who mistypes a password, and a client retrying an old one every
    /// few minutes, stay far below it; a guesser from one host gets at most 100 guesses a quarter hour. An attempt
    /// holds a slot from before its credentials are checked until it ends (given back unless it fails), so guesses made
    /// in parallel cannot pass the limit, and at most this many attempts from one address are in flight at once.
    /// </summary>
    public RateLimit? AuthFailuresPerAddress { get; set; } = new(100, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15));

    /// <summary>
    /// Failed (or cancelled) authentications for one login name (in its normal form, <see cref="Users.UserName"/>), from
    /// any address: the limit that still holds when guesses come from many addresses. Defaults to 30 in 15 minutes,
    /// then a 15-minute lock-out in which the login is refused with the protocol's temporary error even with the right
    /// password. Anyone can lock a login out this way for a quarter hour; that is the price of the defence, which is
    /// why the number is well above what a client with a stale password causes (MailKit's POP3 client, trying every
    /// mechanism, makes six failures of one wrong password). As for <see cref="AuthFailuresPerAddress"/>, an attempt
    /// holds a slot while its credentials are checked, so at most this many attempts at one login are in flight at
    /// once. A failure counts against the login of the user the directory finds for the login given (so that the
    /// spellings it resolves to one user share a budget), or against the login as given when it finds none.
    /// </summary>
    public RateLimit? AuthFailuresPerLogin { get; set; } = new(30, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15));

    /// <summary>
    /// Messages accepted from one authenticated user (SMTP, any role). Defaults to 1,000 an hour: far more than a
    /// person sends, and a cap on what a stolen password can send. Over it, MAIL FROM is answered <c>451 4.7.1</c>.
    /// </summary>
    public RateLimit? MessagesPerUser { get; set; } = new(1000, TimeSpan.FromHours(1));

    /// <summary>
    /// Client networks the per-address limits leave alone. Defaults to loopback (127.0.0.0/8 and ::1), as Postfix's
    /// anvil exempts <c>$mynetworks</c>: a webmail or proxy on the same host speaks for many users from one address.
    /// The per-login and per-user limits still apply to them.
    /// </summary>
    public IList<IPNetwork> ExemptNetworks { get; } = [new IPNetwork(IPAddress.Loopback, 8), new IPNetwork(IPAddress.IPv6Loopback, 128)];

    /// <summary>
    /// The prefix by which IPv6 client addresses are grouped for the per-address limits. Defaults to 64: one host (one
    /// attacker) is commonly given a whole /64, and counting each of its 2^64 addresses apart would be no limit at all.
    /// </summary>
    public int IPv6PrefixLength
    {
        get => _ipv6PrefixLength;
        set => _ipv6PrefixLength = value is >= 32 and <= 128 ? value : throw new ArgumentOutOfRangeException(nameof(value), "Must be between 32 and 128.");
    }

    /// <summary>
    /// Keys each limit tracks at most (addresses, logins, users), which bounds its memory: about 100 bytes an address
    /// and 250 a login (logins longer than 64 characters are kept as a hash): at the default, at most some 10 MB for each
    /// per-address limit and 25 MB for the per-login one (the per-user limit holds authenticated users only). Keys whose
    /// window has ended are dropped when the table fills and once per window; when it is still full, new keys share one
    /// overflow budget of the same size until room is made, so a flood from more addresses than this is limited as a
    /// whole while known keys keep their own count. That budget never locks out (it would lock out every key not yet
    /// tracked), so past a full table a lock-out holds only the keys it tracks. Defaults to 100,000.
    /// </summary>
    public int MaxTrackedKeys
    {
        get => _maxTrackedKeys;
        set => _maxTrackedKeys = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "Must be positive.");
    }
}
