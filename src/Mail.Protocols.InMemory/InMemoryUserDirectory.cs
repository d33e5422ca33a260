using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Mail.Protocols.Sasl;
using Mail.Protocols.Users;

namespace Mail.Protocols.InMemory;

/// <summary>
/// A user directory held in memory: each user has a login (their address), extra addresses and a
/// password, from which the SCRAM-SHA-256 credential is derived on first use. Logins are keyed by their
/// normal form (<see cref="UserName.Normalize"/>), so look-alike spellings of one login find that user.
/// </summary>
public sealed class InMemoryUserDirectory : IUserDirectory
{
    private readonly ConcurrentDictionary<string, Entry> _byLogin = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry> _byAddress = new(StringComparer.Ordinal); // by normal form

    /// <summary>
    /// Adds a user whose login is <paramref name="address"/>, with optional extra addresses, or replaces the user
    /// with exactly that login (ordinal). A login that is another spelling of an existing one (the same normal
    /// form, such as "Kate@…" or "\u212Aate@…" for "kate@…") names that user and is refused with
    /// <see cref="ArgumentException"/>: it would otherwise take over, or share, that user's mailboxes. So is an address
    /// or alias that is (in its normal form) an address of another user: it would take that user's mail.
    /// </summary>
    public MailUser AddUser(string address, string password, params string[] aliases)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(aliases);
        if (!UserName.TryNormalize(address, out var key))
        {
            throw new ArgumentException("The login is not valid Unicode.", nameof(address));
        }
        var user = new MailUser(address, [address, .. aliases]);
        var addressKeys = new List<string>(user.Addresses.Count);
        foreach (var a in user.Addresses)
        {
            if (!TryAddressKey(a, out var addressKey))
            {
                throw new ArgumentException($"The address '{a}' is not valid Unicode.", nameof(aliases));
            }
            addressKeys.Add(addressKey);
        }
        var entry = new Entry(user, password);
        lock (_byLogin)
        {
            if (_byLogin.TryGetValue(key, out var existing) && !string.Equals(existing.User.Login, address, StringComparison.Ordinal))
            {
                throw new ArgumentException($"The login '{address}' is another spelling of the existing login '{existing.User.Login}'.", nameof(address));
            }
            // An address of another user (in any spelling of its normal form) stays theirs: taking it would take their mail.
            for (var i = 0; i < addressKeys.Count; i++)
            {
                if (_byAddress.TryGetValue(addressKeys[i], out var owner) && !string.Equals(owner.User.Login, address, StringComparison.Ordinal))
                {
                    throw new ArgumentException($"The address '{user.Addresses[i]}' belongs to the user '{owner.User.Login}'.", nameof(aliases));
                }
            }
            _byLogin[key] = entry;
            foreach (var addressKey in addressKeys)
            {
                _byAddress[addressKey] = entry;
            }
        }
        return user;
    }

    /// <summary>All users.</summary>
    public IReadOnlyCollection<MailUser> Users => [.. _byLogin.Values.Select(e => e.User)];

    /// <inheritdoc />
    public ValueTask<MailUser?> FindByLoginAsync(string login, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(UserName.TryNormalize(login, out var key) && _byLogin.TryGetValue(key, out var e) ? e.User : null);

    /// <inheritdoc />
    public ValueTask<MailUser?> FindByAddressAsync(string address, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(TryAddressKey(address, out var key) && _byAddress.TryGetValue(key, out var e) ? e.User : null);

    /// <inheritdoc />
    public ValueTask<bool> VerifyPasswordAsync(MailUser user, string password, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(password);
        if (!_byLogin.TryGetValue(Key(user), out var entry))
        {
            return ValueTask.FromResult(false);
        }
        var ok = CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(password)),
            SHA256.HashData(Encoding.UTF8.GetBytes(entry.Password)));
        return ValueTask.FromResult(ok);
    }

    /// <inheritdoc />
    public ValueTask<string?> GetSharedSecretAsync(MailUser user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        return ValueTask.FromResult(_byLogin.TryGetValue(Key(user), out var e) ? e.Password : null);
    }

    /// <summary>True: this directory keeps each password as given, so CRAM-MD5 and APOP can be offered.</summary>
    public bool HasSharedSecrets => true;

    /// <inheritdoc />
    public ValueTask<ScramCredential?> GetScramCredentialAsync(MailUser user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        return ValueTask.FromResult(_byLogin.TryGetValue(Key(user), out var e) ? e.Scram.Value : null);
    }

    // An address's key: its normal form with the domain in ASCII form, so that an internationalised domain written
    // either way finds the same user.
    private static bool TryAddressKey(string address, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? key) =>
        UserName.TryNormalize(Addressing.DomainName.ToAsciiAddress(address), out key);

    private static string Key(MailUser user) => UserName.TryNormalize(user.Login, out var key) ? key : user.Login;

    private sealed class Entry(MailUser user, string password)
    {
        public MailUser User { get; } = user;
        public string Password { get; } = password;
        // Derived lazily: PBKDF2 with 4,096 rounds per user would slow down loading thousands of users.
        public Lazy<ScramCredential?> Scram { get; } = new(() => ScramCredentials.FromPassword(password));
    }
}
