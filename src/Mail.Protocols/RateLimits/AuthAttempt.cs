using System.Net;
using Mail.Protocols.Users;

namespace Mail.Protocols.RateLimits;

/// <summary>
/// One login attempt as the failed-login limits of <see cref="SessionRateLimits"/> see it (made by
/// <see cref="SessionRateLimits.BeginAuth"/>). It holds a reserved slot of its address's budget and of its login's
/// from before the credentials are checked until it ends: <see cref="Failed"/> counts them, and
/// <see cref="Dispose"/> gives back whatever was not counted, so a session that uses it with <c>using</c> cannot
/// forget a slot, whether the attempt succeeded, was refused, or ended with an exception or a closed connection.
/// <para>
/// Login slots: the login as typed (<see cref="ReserveLogin"/>, when the session or the SASL mechanism learns it), and
/// the login of the user the directory found for it (<see cref="ReserveUser"/>) when that is another key, so that the
/// spellings a directory resolves to one user (a login and an address) share that user's budget. A failure counts
/// against the user's login when a user was found, else against the login as typed. Not thread-safe: one session's.
/// </para>
/// </summary>
public sealed class AuthAttempt : IDisposable
{
    private WindowPartitionedRateLimiter<string, string>.Reservation? _typed;
    private WindowPartitionedRateLimiter<string, string>.Reservation? _user;
    private readonly SessionRateLimits _limits;
    private string? _typedLogin;
    private LockoutCheckingUserDirectory? _guard;

    internal AuthAttempt(SessionRateLimits limits) => _limits = limits;

    /// <summary>The limit that refused the attempt before its credentials were checked, or null.</summary>
    public SessionRateLimit? Refused { get; private set; }

    internal WindowPartitionedRateLimiter<IPAddress, UInt128>.Reservation? Address { get; set; }

    /// <summary>
    /// The user directory a SASL mechanism of this attempt looks users up in: each login it looks up takes a slot of
    /// that login's budget first (<see cref="ReserveLogin"/>, <see cref="ReserveUser"/>), and a login with none free is
    /// found to be nobody, so its secret is never checked; <see cref="LoginLockedOut"/> then says so.
    /// </summary>
    public IUserDirectory Guard(IUserDirectory users)
    {
        ArgumentNullException.ThrowIfNull(users);
        return _guard = new LockoutCheckingUserDirectory(users, this);
    }

    /// <summary>Whether the directory of <see cref="Guard"/> refused a login that is locked out (the exchange's outcome does not count then).</summary>
    public bool LoginLockedOut => _guard?.LockedOut == true;

    internal void Refuse(SessionRateLimit limit)
    {
        Refused = limit;
        Dispose();
    }

    /// <summary>
    /// Reserves a slot of <paramref name="login"/> (as typed); false when it has none free (locked out, or its budget
    /// all taken by failures and attempts in flight). A new login replaces the one reserved before.
    /// </summary>
    public bool ReserveLogin(string login)
    {
        if (_typed is not null && _typedLogin is not null && _limits.AuthByLogin.SameKey(_typedLogin, login))
        {
            return true;
        }
        _typed?.Release();
        _typed = null;
        _user?.Release();
        _user = null;
        _typedLogin = login;
        if (!_limits.AuthByLogin.TryReserve(login, out var reservation))
        {
            return false;
        }
        _typed = reservation;
        return true;
    }

    /// <summary>
    /// Reserves a slot of the login of the user found for the typed login, when that is another key (nothing to do
    /// otherwise); false when it has none free.
    /// </summary>
    public bool ReserveUser(string userLogin)
    {
        if (_typedLogin is not null && _limits.AuthByLogin.SameKey(_typedLogin, userLogin))
        {
            return true;
        }
        _user?.Release();
        _user = null;
        if (!_limits.AuthByLogin.TryReserve(userLogin, out var reservation))
        {
            return false;
        }
        _user = reservation;
        return true;
    }

    /// <summary>Counts the attempt as a failure of its address and its login; returns the lock-outs it started.</summary>
    public (bool Address, bool Login) Failed()
    {
        var address = Address?.Count() ?? false;
        bool login;
        if (_user is not null)
        {
            login = _user.Count();
            _typed?.Release();
        }
        else
        {
            login = _typed?.Count() ?? false;
        }
        return (address, login);
    }

    /// <summary>Gives back every slot not counted.</summary>
    public void Dispose()
    {
        Address?.Release();
        _typed?.Release();
        _user?.Release();
    }
}
