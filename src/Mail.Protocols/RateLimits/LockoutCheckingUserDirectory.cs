using System.Net;
using Mail.Protocols.Users;

namespace Mail.Protocols.RateLimits;

/// <summary>
/// The user directory as one SASL exchange sees it: it notes the login the mechanism looks up (the exchange gives it
/// away only inside the mechanism) and reserves a slot of that login's failure budget for the attempt
/// (<see cref="AuthAttempt.ReserveLogin"/>), then one of the login of the user found (<see cref="AuthAttempt.ReserveUser"/>).
/// When either has no slot free (locked out, or its budget taken by failures and attempts in flight) it finds no user,
/// so the mechanism fails without checking any secret and even the right password does not get in. The session then
/// answers the lock-out's temporary error instead of the mechanism's outcome.
/// </summary>
internal sealed class LockoutCheckingUserDirectory(IUserDirectory inner, AuthAttempt attempt) : IUserDirectory
{
    /// <summary>The login the mechanism looked up last, or null when it never got that far.</summary>
    public string? Login { get; private set; }

    /// <summary>Whether the login was refused (the exchange's outcome does not count then).</summary>
    public bool LockedOut { get; private set; }

    public async ValueTask<MailUser?> FindByLoginAsync(string login, CancellationToken cancellationToken = default)
    {
        Login = login;
        if (!attempt.ReserveLogin(login))
        {
            LockedOut = true;
            return null;
        }
        var user = await inner.FindByLoginAsync(login, cancellationToken).ConfigureAwait(false);
        if (user is not null && !attempt.ReserveUser(user.Login))
        {
            LockedOut = true;
            return null;
        }
        return user;
    }

    public ValueTask<MailUser?> FindByAddressAsync(string address, CancellationToken cancellationToken = default) =>
        inner.FindByAddressAsync(address, cancellationToken);

    public ValueTask<bool> VerifyPasswordAsync(MailUser user, string password, CancellationToken cancellationToken = default) =>
        inner.VerifyPasswordAsync(user, password, cancellationToken);

    public ValueTask<string?> GetSharedSecretAsync(MailUser user, CancellationToken cancellationToken = default) =>
        inner.GetSharedSecretAsync(user, cancellationToken);

    public bool HasSharedSecrets => inner.HasSharedSecrets;

    public ValueTask<ScramCredential?> GetScramCredentialAsync(MailUser user, CancellationToken cancellationToken = default) =>
        inner.GetScramCredentialAsync(user, cancellationToken);
}
