using System.Net;
using Mail.Protocols.Users;

namespace Mail.Protocols.RateLimits;

/// <summary>
/// The user directory as one SASL exchange sees it: it notes the login the mechanism looks up (the exchange gives it
/// away only inside the mechanism), and for a login that is locked out it finds no user, so the mechanism fails without
/// checking any secret and even the right password does not get in. The session then answers the lock-out's temporary
/// error instead of the mechanism's outcome, and charges a failure to the login it noted.
/// </summary>
internal sealed class LockoutCheckingUserDirectory(IUserDirectory inner, SessionRateLimits limits) : IUserDirectory
{
    /// <summary>The login the mechanism looked up last, or null when it never got that far.</summary>
    public string? Login { get; private set; }

    /// <summary>Whether the login was locked out (the exchange's outcome does not count then).</summary>
    public bool LockedOut { get; private set; }

    public ValueTask<MailUser?> FindByLoginAsync(string login, CancellationToken cancellationToken = default)
    {
        Login = login;
        if (limits.LoginLockedOut(login))
        {
            LockedOut = true;
            return ValueTask.FromResult<MailUser?>(null);
        }
        return inner.FindByLoginAsync(login, cancellationToken);
    }

    public ValueTask<MailUser?> FindByAddressAsync(string address, CancellationToken cancellationToken = default) =>
        inner.FindByAddressAsync(address, cancellationToken);

    public ValueTask<bool> VerifyPasswordAsync(MailUser user, string password, CancellationToken cancellationToken = default) =>
        inner.VerifyPasswordAsync(user, password, cancellationToken);

    public ValueTask<string?> GetSharedSecretAsync(MailUser user, CancellationToken cancellationToken = default) =>
        inner.GetSharedSecretAsync(user, cancellationToken);

    public ValueTask<ScramCredential?> GetScramCredentialAsync(MailUser user, CancellationToken cancellationToken = default) =>
        inner.GetScramCredentialAsync(user, cancellationToken);
}

/// <summary>What the sessions of every protocol do with the rate limits around a login, so the three say it once.</summary>
internal static class LoginRateLimits
{
    /// <summary>
    /// Counts a failed login against its address and login, and the lock-outs it starts in the metrics. Nothing when
    /// the limits are off.
    /// </summary>
    public static void Failed(SessionRateLimits? limits, Telemetry.CoreMetrics metrics, string protocol, EndPoint? remote, string? login)
    {
        if (limits is null)
        {
            return;
        }
        var (address, byLogin) = limits.AuthFailed(remote, login);
        if (address)
        {
            metrics.RateLimitLockout(protocol, SessionRateLimit.AuthFailuresPerAddress);
        }
        if (byLogin)
        {
            metrics.RateLimitLockout(protocol, SessionRateLimit.AuthFailuresPerLogin);
        }
    }
}
