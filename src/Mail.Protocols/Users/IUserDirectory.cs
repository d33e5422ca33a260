namespace Mail.Protocols.Users;

/// <summary>
/// Finds users and verifies their credentials for each SASL mechanism. Different mechanisms need
/// different stored secrets: PLAIN and LOGIN check a password; CRAM-MD5 and POP3 APOP need the shared
/// secret itself; SCRAM-SHA-256 needs a salted credential (RFC 5802) and never the password.
/// A directory returns null for what it does not store, and that mechanism then fails for that user.
/// </summary>
public interface IUserDirectory
{
    /// <summary>
    /// Finds a user by login name (the full address, by convention). Logins that have the same normal form
    /// (<see cref="UserName.Normalize"/>: NFKC, then lower case) must find the same user, and logins with different
    /// forms different users: stores key mailboxes by that form, so any other rule lets two users share one.
    /// </summary>
    ValueTask<MailUser?> FindByLoginAsync(string login, CancellationToken cancellationToken = default);

    /// <summary>
    /// Finds the user that receives mail for <paramref name="address"/> (local part and domain, case-insensitive; an
    /// internationalised domain in its Unicode or its ASCII form finds the same user: compare
    /// <see cref="Addressing.DomainName.ToAsciiAddress"/> forms).
    /// </summary>
    ValueTask<MailUser?> FindByAddressAsync(string address, CancellationToken cancellationToken = default);

    /// <summary>Checks a password (PLAIN, LOGIN, POP3 USER/PASS). Implementations compare in constant time.</summary>
    ValueTask<bool> VerifyPasswordAsync(MailUser user, string password, CancellationToken cancellationToken = default);

    /// <summary>Returns the shared secret (the clear-text password) for challenge-response mechanisms (CRAM-MD5, APOP), or null if not stored.</summary>
    ValueTask<string?> GetSharedSecretAsync(MailUser user, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether <see cref="GetSharedSecretAsync"/> returns users' clear-text secrets. The servers offer CRAM-MD5 and
    /// POP3 APOP only when it does: a directory that keeps only password hashes would fail every such login. False
    /// unless a directory says otherwise; keeping passwords in the clear (or reversibly encrypted) is a choice a
    /// directory makes knowingly.
    /// </summary>
    bool HasSharedSecrets => false;

    /// <summary>Returns the SCRAM-SHA-256 credential of a user, or null if not stored.</summary>
    ValueTask<ScramCredential?> GetScramCredentialAsync(MailUser user, CancellationToken cancellationToken = default);
}

/// <summary>A user of the mail system.</summary>
/// <param name="Login">The login name; its normal form (<see cref="UserName.Normalize"/>) is the key under which the user's mailboxes are stored.</param>
/// <param name="Addresses">The addresses the user receives mail for and may send from.</param>
public sealed record MailUser(string Login, IReadOnlyList<string> Addresses)
{
    /// <summary>
    /// Whether <paramref name="address"/> is one of the user's addresses (case-insensitive; an internationalised domain
    /// in either form, <see cref="Addressing.DomainName.AddressComparer"/>).
    /// </summary>
    public bool OwnsAddress(string address)
    {
        foreach (var a in Addresses)
        {
            if (Addressing.DomainName.AddressComparer.Equals(a, address))
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>A salted SCRAM credential (RFC 5802 §3): what a server stores instead of the password.</summary>
/// <param name="Salt">The salt.</param>
/// <param name="Iterations">The PBKDF2 iteration count (4096 at least, RFC 7677).</param>
/// <param name="StoredKey">H(ClientKey).</param>
/// <param name="ServerKey">HMAC(SaltedPassword, "Server Key").</param>
public sealed record ScramCredential(byte[] Salt, int Iterations, byte[] StoredKey, byte[] ServerKey);
