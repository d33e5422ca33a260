using Mail.Protocols.Users;

namespace Mail.Protocols.Sasl;

/// <summary>What a mechanism is given for one exchange: where users are found and what the server knows.</summary>
/// <param name="Users">Where users and their secrets are found (for a session, a directory that also counts failed logins).</param>
/// <param name="ServerName">The server's host name (CRAM-MD5 puts it in its challenge).</param>
/// <param name="TimeProvider">The clock.</param>
/// <param name="ScramUnknownUserKey">
/// The key of SCRAM's made-up salts for logins that do not exist (<see cref="MailServerOptions.ScramUnknownUserKey"/>);
/// empty: a random key made once per process.
/// </param>
/// <param name="Protocol">The protocol running the exchange: <c>smtp</c>, <c>pop3</c> or <c>imap</c>.</param>
public sealed record SaslContext(IUserDirectory Users, string ServerName, TimeProvider TimeProvider, ReadOnlyMemory<byte> ScramUnknownUserKey, string Protocol);

/// <summary>
/// The SASL mechanisms a server can run, by name: the four built in (<see cref="SaslMechanisms.BuiltIn"/>) and any an
/// application adds, such as <see cref="SaslMechanisms.OAuthBearer"/> (<see cref="OAuthMechanismsExtensions.AddOAuthBearer"/>).
/// Which of them a server offers, and in which order, is <see cref="MailServerOptions.AuthMechanisms"/>; a name offered
/// there must be registered here. A registry may be shared by several servers and changed while they run (each change
/// replaces the table whole, so a session sees one table or the next); a server fixes what it offers when it is built,
/// and a mechanism removed since is refused as unknown.
/// </summary>
public sealed class SaslMechanismRegistry
{
    // Copy-on-write: readers (sessions) take the current table without a lock; writers replace it under the lock.
    private readonly Lock _writing = new();
    private Dictionary<string, Registration> _mechanisms = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>A registry with the built-in mechanisms: SCRAM-SHA-256, CRAM-MD5, PLAIN and LOGIN.</summary>
    public SaslMechanismRegistry()
    {
        Add(SaslMechanisms.ScramSha256, c => new ScramSha256Mechanism(c.Users, c.ScramUnknownUserKey));
        Add(SaslMechanisms.CramMd5, c => new CramMd5Mechanism(c.Users, c.ServerName, c.TimeProvider), requiresSharedSecrets: true);
        Add(SaslMechanisms.Plain, c => new PlainMechanism(c.Users));
        Add(SaslMechanisms.Login, c => new LoginMechanism(c.Users));
    }

    /// <summary>The registered names.</summary>
    public IReadOnlyCollection<string> Names => Volatile.Read(ref _mechanisms).Keys;

    /// <summary>
    /// Registers a mechanism, or replaces the one of the same name (a built-in one too).
    /// </summary>
    /// <param name="name">The mechanism's name as RFC 4422 §3.1 allows it: 1 to 20 upper-case letters, digits, '-' or '_'.</param>
    /// <param name="factory">Makes the server side of one exchange; called once per AUTH or AUTHENTICATE command.</param>
    /// <param name="requiresSharedSecrets">
    /// True for a mechanism that needs each user's clear-text secret (<see cref="IUserDirectory.GetSharedSecretAsync"/>),
    /// as CRAM-MD5 does: it is then offered only by servers whose directory says it has them
    /// (<see cref="IUserDirectory.HasSharedSecrets"/>).
    /// </param>
    public void Add(string name, Func<SaslContext, SaslMechanism> factory, bool requiresSharedSecrets = false)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(factory);
        if (!IsMechanismName(name))
        {
            throw new ArgumentException($"'{name}' is not a SASL mechanism name (1 to 20 of A-Z, 0-9, '-', '_').", nameof(name));
        }
        lock (_writing)
        {
            Volatile.Write(ref _mechanisms, new Dictionary<string, Registration>(_mechanisms, StringComparer.OrdinalIgnoreCase) { [name] = new(factory, requiresSharedSecrets) });
        }
    }

    /// <summary>Removes a mechanism; false if it was not registered.</summary>
    public bool Remove(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_writing)
        {
            var next = new Dictionary<string, Registration>(_mechanisms, StringComparer.OrdinalIgnoreCase);
            if (!next.Remove(name))
            {
                return false;
            }
            Volatile.Write(ref _mechanisms, next);
            return true;
        }
    }

    /// <summary>Whether a mechanism of that name (case-insensitive) is registered.</summary>
    public bool Contains(string name) => name is not null && Volatile.Read(ref _mechanisms).ContainsKey(name);

    /// <summary>
    /// Whether a server whose users are in <paramref name="users"/> can offer the mechanism: it is registered, and if it
    /// needs clear-text secrets the directory has them.
    /// </summary>
    public bool IsAvailable(string name, IUserDirectory users)
    {
        ArgumentNullException.ThrowIfNull(users);
        return name is not null && Volatile.Read(ref _mechanisms).TryGetValue(name, out var registration) && (!registration.RequiresSharedSecrets || users.HasSharedSecrets);
    }

    /// <summary>The names of <paramref name="offered"/> that <see cref="IsAvailable"/> allows, in their order: what a server offers.</summary>
    public IReadOnlyList<string> SelectAvailable(IEnumerable<string> offered, IUserDirectory users)
    {
        ArgumentNullException.ThrowIfNull(offered);
        return [.. offered.Where(name => IsAvailable(name, users))];
    }

    /// <summary>Makes the server side of one exchange of <paramref name="name"/>, or null if no such mechanism is registered.</summary>
    public SaslMechanism? Create(string name, SaslContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return name is not null && Volatile.Read(ref _mechanisms).TryGetValue(name, out var registration) ? registration.Factory(context) : null;
    }

    private static bool IsMechanismName(string name)
    {
        if (name.Length is 0 or > 20)
        {
            return false;
        }
        foreach (var c in name)
        {
            if (c is not ((>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_'))
            {
                return false;
            }
        }
        return true;
    }

    private sealed record Registration(Func<SaslContext, SaslMechanism> Factory, bool RequiresSharedSecrets);
}
