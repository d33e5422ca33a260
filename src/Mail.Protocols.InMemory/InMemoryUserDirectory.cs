using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Mail.Protocols.Sasl;
using Mail.Protocols.Users;

namespace Mail.Protocols.InMemory;

/// <summary>
/// A user directory held in memory: each user has a login (their address), extra addresses and a
/// password, from which the SCRAM-SHA-256 credential is derived on first use.
/// </summary>
public sealed class InMemoryUserDirectory : IUserDirectory
{
    private readonly ConcurrentDictionary<string, Entry> _byLogin = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Entry> _byAddress = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Adds (or replaces) a user whose login is <paramref name="address"/>, with optional extra addresses.</summary>
    public MailUser AddUser(string address, string password, params string[] aliases)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(aliases);
        var user = new MailUser(address, [address, .. aliases]);
        var entry = new Entry(user, password);
        _byLogin[address] = entry;
        foreach (var a in user.Addresses)
        {
            _byAddress[a] = entry;
        }
        return user;
    }

    /// <summary>All users.</summary>
    public IReadOnlyCollection<MailUser> Users => [.. _byLogin.Values.Select(e => e.User)];

    /// <inheritdoc />
    public ValueTask<MailUser?> FindByLoginAsync(string login, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_byLogin.TryGetValue(login, out var e) ? e.User : null);

    /// <inheritdoc />
    public ValueTask<MailUser?> FindByAddressAsync(string address, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_byAddress.TryGetValue(address, out var e) ? e.User : null);

    /// <inheritdoc />
    public ValueTask<bool> VerifyPasswordAsync(MailUser user, string password, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(password);
        if (!_byLogin.TryGetValue(user.Login, out var entry))
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
        return ValueTask.FromResult(_byLogin.TryGetValue(user.Login, out var e) ? e.Password : null);
    }

    /// <inheritdoc />
    public ValueTask<ScramCredential?> GetScramCredentialAsync(MailUser user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        return ValueTask.FromResult(_byLogin.TryGetValue(user.Login, out var e) ? e.Scram.Value : null);
    }

    private sealed class Entry(MailUser user, string password)
    {
        public MailUser User { get; } = user;
        public string Password { get; } = password;
        // Derived lazily: PBKDF2 with 4,096 rounds per user would slow down loading thousands of users.
        public Lazy<ScramCredential?> Scram { get; } = new(() => ScramCredentials.FromPassword(password));
    }
}
