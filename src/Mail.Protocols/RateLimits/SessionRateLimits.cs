using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Mail.Protocols.Users;

namespace Mail.Protocols.RateLimits;

/// <summary>The limits of <see cref="SessionRateLimits"/>, for metrics (the <c>mail.rate_limit</c> tag) and logs.</summary>
public enum SessionRateLimit
{
    /// <summary>New connections per client address (<see cref="SessionRateLimitOptions.ConnectionsPerAddress"/>).</summary>
    ConnectionsPerAddress,
    /// <summary>Failed authentications per client address (<see cref="SessionRateLimitOptions.AuthFailuresPerAddress"/>).</summary>
    AuthFailuresPerAddress,
    /// <summary>Failed authentications per login (<see cref="SessionRateLimitOptions.AuthFailuresPerLogin"/>).</summary>
    AuthFailuresPerLogin,
    /// <summary>Messages per authenticated user (<see cref="SessionRateLimitOptions.MessagesPerUser"/>).</summary>
    MessagesPerUser,
}

/// <summary>
/// Rate limits that count across sessions and across servers: connections and failed authentications per client
/// address, failed authentications per login (each with a lock-out), and messages per authenticated user. An
/// application makes one and gives it to every server's options (<see cref="MailServerOptions.RateLimits"/>), so that
/// failures against POP3 and IMAP count together for the same address or login; by default each options object has
/// one of its own. Thread-safe; it holds no timer and needs no disposal. Each limit is a
/// <see cref="PartitionedRateLimiter{TResource}"/> an application may also query or use itself.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The limiters hold no timer or handle; disposing them would only make them throw.")]
public sealed class SessionRateLimits
{
    // Logins longer than this are kept as their SHA-256 (71 characters with its prefix), so that a key costs about the
    // same whatever the attacker sends; real logins (addresses) are nearly always shorter.
    private const int MaxLoginKeyLength = 64;

    private readonly IPNetwork[] _exempt;
    private readonly int _ipv6Prefix;
    private readonly WindowPartitionedRateLimiter<IPAddress, UInt128> _connections;
    private readonly WindowPartitionedRateLimiter<IPAddress, UInt128> _authByAddress;
    private readonly WindowPartitionedRateLimiter<string, string> _authByLogin;
    private readonly WindowPartitionedRateLimiter<string, string> _messagesByUser;

    /// <summary>Creates the limits.</summary>
    /// <param name="options">The settings (copied); the defaults of <see cref="SessionRateLimitOptions"/> when null.</param>
    /// <param name="timeProvider">The clock the windows and lock-outs follow; the system's when null.</param>
    public SessionRateLimits(SessionRateLimitOptions? options = null, TimeProvider? timeProvider = null)
    {
        options ??= new SessionRateLimitOptions();
        var time = timeProvider ?? TimeProvider.System;
        _exempt = [.. options.ExemptNetworks];
        _ipv6Prefix = options.IPv6PrefixLength;
        TimeProvider = time;
        var max = options.MaxTrackedKeys;
        _connections = new(options.ConnectionsPerAddress, AddressKey, null, max, time);
        _authByAddress = new(options.AuthFailuresPerAddress, AddressKey, null, max, time);
        _authByLogin = new(options.AuthFailuresPerLogin, LoginKey, StringComparer.Ordinal, max, time);
        _messagesByUser = new(options.MessagesPerUser, LoginKey, StringComparer.Ordinal, max, time);
    }

    /// <summary>The clock the windows and lock-outs follow.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>New connections per client address (IPv6 grouped by prefix; exempt networks always allowed).</summary>
    public PartitionedRateLimiter<IPAddress> ConnectionsPerAddress => _connections;

    /// <summary>
    /// Failed authentications per client address; a lease of 0 permits asks whether the address is locked out or has
    /// its budget taken by failures and attempts in flight.
    /// </summary>
    public PartitionedRateLimiter<IPAddress> AuthFailuresPerAddress => _authByAddress;

    /// <summary>
    /// Failed authentications per login (by its normal form); a lease of 0 permits asks whether the login is locked out
    /// or has its budget taken by failures and attempts in flight.
    /// </summary>
    public PartitionedRateLimiter<string> AuthFailuresPerLogin => _authByLogin;

    /// <summary>Messages per authenticated user (by login).</summary>
    public PartitionedRateLimiter<string> MessagesPerUser => _messagesByUser;

    // For tests of the memory bound.
    internal int TrackedKeys(SessionRateLimit limit) => limit switch
    {
        SessionRateLimit.ConnectionsPerAddress => _connections.TrackedKeys,
        SessionRateLimit.AuthFailuresPerAddress => _authByAddress.TrackedKeys,
        SessionRateLimit.AuthFailuresPerLogin => _authByLogin.TrackedKeys,
        _ => _messagesByUser.TrackedKeys,
    };

    /// <summary>Counts a new connection; false when its address is over the limit (the session refuses it).</summary>
    public bool TryConnect(EndPoint? remote) =>
        AddressOf(remote) is not { } address || _connections.TryAcquire(address, 1, out _);

    /// <summary>
    /// Whether a login attempt would be refused now: its address or (when known yet) its login is locked out or has no
    /// slot free. Returns the limit that refuses it, or null. A question only: sessions use <see cref="BeginAuth"/>,
    /// which also takes the slot.
    /// </summary>
    internal SessionRateLimit? AuthLockedOut(EndPoint? remote, string? login)
    {
        if (AddressOf(remote) is { } address && !_authByAddress.TryAcquire(address, 0, out _))
        {
            return SessionRateLimit.AuthFailuresPerAddress;
        }
        return login is not null && !_authByLogin.TryAcquire(login, 0, out _) ? SessionRateLimit.AuthFailuresPerLogin : null;
    }

    /// <summary>
    /// Starts a login attempt: reserves a slot of its address's failure budget and (when known yet) its login's, before
    /// the credentials are checked, so that attempts in flight together cannot all pass. <see cref="AuthAttempt.Refused"/>
    /// says which limit refused it (nothing is then held). The caller disposes the attempt when it ends, after
    /// <see cref="AuthAttempt.Failed"/> when it failed; otherwise disposing gives the slots back uncounted.
    /// </summary>
    public AuthAttempt BeginAuth(EndPoint? remote, string? login)
    {
        var attempt = new AuthAttempt(this);
        if (AddressOf(remote) is { } address)
        {
            if (!_authByAddress.TryReserve(address, out var reservation))
            {
                attempt.Refuse(SessionRateLimit.AuthFailuresPerAddress);
                return attempt;
            }
            attempt.Address = reservation;
        }
        if (login is not null && !attempt.ReserveLogin(login))
        {
            attempt.Refuse(SessionRateLimit.AuthFailuresPerLogin);
        }
        return attempt;
    }

    internal WindowPartitionedRateLimiter<string, string> AuthByLogin => _authByLogin;

    /// <summary>Whether <paramref name="login"/> is locked out.</summary>
    internal bool LoginLockedOut(string login) => !_authByLogin.TryAcquire(login, 0, out _);

    /// <summary>Counts a failed authentication against its address and (when known) its login; returns the lock-outs it started.</summary>
    internal (bool Address, bool Login) AuthFailed(EndPoint? remote, string? login)
    {
        var address = false;
        var byLogin = false;
        if (AddressOf(remote) is { } ip)
        {
            _authByAddress.TryAcquire(ip, 1, out address);
        }
        if (login is not null)
        {
            _authByLogin.TryAcquire(login, 1, out byLogin);
        }
        return (address, byLogin);
    }

    /// <summary>Whether <paramref name="login"/> may send one more message (nothing is counted).</summary>
    public bool MaySend(string login) => _messagesByUser.TryAcquire(login, 0, out _);

    /// <summary>Counts a message accepted from <paramref name="login"/> (one already in flight is counted even over the limit).</summary>
    public void Sent(string login) => _messagesByUser.TryAcquire(login, 1, out _);

    private static IPAddress? AddressOf(EndPoint? remote) => (remote as IPEndPoint)?.Address;

    private bool AddressKey(IPAddress address, out UInt128 key)
    {
        key = default;
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        foreach (var network in _exempt)
        {
            if (network.Contains(address))
            {
                return false;
            }
        }
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            // As ::ffff:a.b.c.d, so that no IPv6 prefix collides with it.
            bytes[10] = 0xff;
            bytes[11] = 0xff;
            address.TryWriteBytes(bytes[12..], out _);
            key = BinaryPrimitives.ReadUInt128BigEndian(bytes);
            return true;
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6 || !address.TryWriteBytes(bytes, out _))
        {
            return false;
        }
        var value = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        key = _ipv6Prefix == 128 ? value : value & ~(UInt128.MaxValue >> _ipv6Prefix);
        return true;
    }

    private static bool LoginKey(string login, out string key)
    {
        key = UserName.TryNormalize(login, out var normalized) ? normalized : login;
        if (key.Length > MaxLoginKeyLength)
        {
            key = "sha256:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        }
        return key.Length > 0;
    }
}
