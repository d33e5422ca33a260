using System.Security.Cryptography;
using System.Text;
using Mail.Protocols.Addressing;
using Mail.Protocols.Sasl;
using Mail.Protocols.Users;
using Npgsql;

namespace Mail.Protocols.PostgreSql.Users;

/// <summary>
/// Users in PostgreSQL (<c>mail_users</c>, <c>mail_user_addresses</c>), shared by every host on the database. A user is
/// stored with a salted SCRAM-SHA-256 credential (RFC 5802 §3: PBKDF2-HMAC-SHA-256 of the password under a random salt
/// of the user's own), never the password: SCRAM logins use it as it is, and a PLAIN or LOGIN password is checked by
/// deriving the same keys from it. CRAM-MD5 and APOP, which need the clear-text password, are not offered
/// (<see cref="IUserDirectory.HasSharedSecrets"/> is false).
/// </summary>
/// <param name="dataSource">Where connections come from.</param>
/// <param name="iterations">
/// PBKDF2 iterations for new credentials: <see cref="ScramCredentials.DefaultIterations"/> (RFC 7677's minimum) by default,
/// the count a SCRAM exchange also shows for a login that does not exist, so real users do not stand out; a higher
/// count makes a stolen table slower to attack and each login slower for both sides.
/// </param>
public sealed class PostgreSqlUserDirectory(NpgsqlDataSource dataSource, int iterations = ScramCredentials.DefaultIterations) : IUserDirectory
{
    private readonly NpgsqlDataSource _dataSource = dataSource ?? throw new ArgumentNullException(nameof(dataSource));
    private readonly int _iterations = iterations >= ScramCredentials.DefaultIterations
        ? iterations
        : throw new ArgumentOutOfRangeException(nameof(iterations), "RFC 7677 asks for at least 4096 iterations.");

    /// <summary>
    /// Adds a user whose login is <paramref name="address"/>, with optional extra addresses, or replaces the user with
    /// exactly that login (its password and addresses). As in the in-memory directory, a login that is another spelling
    /// of an existing one is refused, and so is an address of another user (it would take their mail).
    /// </summary>
    /// <exception cref="ArgumentException">The login or an address is another user's, or not valid Unicode.</exception>
    public async Task<MailUser> AddUserAsync(string address, string password, IEnumerable<string>? aliases = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        ArgumentNullException.ThrowIfNull(password);
        var key = UserName.TryNormalize(address, out var normal) ? normal : throw new ArgumentException("The login is not valid Unicode.", nameof(address));
        var user = new MailUser(address, [address, .. aliases ?? []]);
        var addresses = user.Addresses.Select(a => (Key: AddressKey(a) ?? throw new ArgumentException($"The address '{a}' is not valid Unicode.", nameof(aliases)), Display: a))
            .DistinctBy(a => a.Key, StringComparer.Ordinal).ToList();
        var credential = ScramCredentials.FromPassword(password, _iterations);

        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        using (var existing = new NpgsqlCommand("SELECT display_login FROM mail_users WHERE login = $1 FOR UPDATE", connection, transaction))
        {
            existing.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
            if (await existing.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string other && !string.Equals(other, address, StringComparison.Ordinal))
            {
                throw new ArgumentException($"The login '{address}' is another spelling of the existing login '{other}'.", nameof(address));
            }
        }
        using (var upsert = new NpgsqlCommand("""
            INSERT INTO mail_users (login, display_login, scram_salt, scram_iterations, scram_stored_key, scram_server_key) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (login) DO UPDATE SET scram_salt = EXCLUDED.scram_salt, scram_iterations = EXCLUDED.scram_iterations,
                scram_stored_key = EXCLUDED.scram_stored_key, scram_server_key = EXCLUDED.scram_server_key
            """, connection, transaction))
        {
            upsert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
            upsert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = address });
            upsert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = credential.Salt });
            upsert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = credential.Iterations });
            upsert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = credential.StoredKey });
            upsert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = credential.ServerKey });
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        using (var clear = new NpgsqlCommand("DELETE FROM mail_user_addresses WHERE login = $1", connection, transaction))
        {
            clear.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
            await clear.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        using var insert = new NpgsqlCommand("""
            INSERT INTO mail_user_addresses (address, login, display_address) VALUES ($1, $2, $3) ON CONFLICT (address) DO NOTHING
            """, connection, transaction);
        var addressParameter = new NpgsqlParameter<string>();
        var displayParameter = new NpgsqlParameter<string>();
        insert.Parameters.Add(addressParameter);
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        insert.Parameters.Add(displayParameter);
        foreach (var (addressKey, display) in addresses)
        {
            addressParameter.TypedValue = addressKey;
            displayParameter.TypedValue = display;
            // Nothing inserted: another user has it (this user's own were removed above).
            if (await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                throw new ArgumentException($"The address '{display}' belongs to another user.", nameof(aliases));
            }
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return user;
    }

    /// <summary>Removes a user and their addresses (their mailboxes are the store's). Returns whether there was one.</summary>
    public async Task<bool> RemoveUserAsync(string login, CancellationToken cancellationToken = default)
    {
        if (!UserName.TryNormalize(login, out var key))
        {
            return false;
        }
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        using var delete = new NpgsqlCommand("DELETE FROM mail_users WHERE login = $1", connection);
        delete.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        return await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public async ValueTask<MailUser?> FindByLoginAsync(string login, CancellationToken cancellationToken = default) =>
        UserName.TryNormalize(login, out var key) ? await FindAsync("u.login = $1", key, cancellationToken).ConfigureAwait(false) : null;

    /// <inheritdoc />
    public async ValueTask<MailUser?> FindByAddressAsync(string address, CancellationToken cancellationToken = default) =>
        AddressKey(address) is { } key
            ? await FindAsync("u.login = (SELECT login FROM mail_user_addresses WHERE address = $1)", key, cancellationToken).ConfigureAwait(false)
            : null;

    /// <inheritdoc />
    public async ValueTask<bool> VerifyPasswordAsync(MailUser user, string password, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (await GetScramCredentialAsync(user, cancellationToken).ConfigureAwait(false) is not { } credential)
        {
            return false;
        }
        // The keys a SCRAM client would derive from this password; equal StoredKeys mean the same password.
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(ScramCredentials.SaslPrep(password)), credential.Salt, credential.Iterations,
            HashAlgorithmName.SHA256, 32);
        var storedKey = SHA256.HashData(HMACSHA256.HashData(salted, "Client Key"u8));
        return CryptographicOperations.FixedTimeEquals(storedKey, credential.StoredKey);
    }

    /// <inheritdoc />
    /// <remarks>Always null: no clear-text password is stored.</remarks>
    public ValueTask<string?> GetSharedSecretAsync(MailUser user, CancellationToken cancellationToken = default) => ValueTask.FromResult<string?>(null);

    /// <inheritdoc />
    public async ValueTask<ScramCredential?> GetScramCredentialAsync(MailUser user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (!UserName.TryNormalize(user.Login, out var key))
        {
            return null;
        }
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        using var select = new NpgsqlCommand("SELECT scram_salt, scram_iterations, scram_stored_key, scram_server_key FROM mail_users WHERE login = $1", connection);
        select.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new ScramCredential(reader.GetFieldValue<byte[]>(0), reader.GetInt32(1), reader.GetFieldValue<byte[]>(2), reader.GetFieldValue<byte[]>(3))
            : null;
    }

    // The user and all their addresses: the login's own first, then the others by name.
    private async Task<MailUser?> FindAsync(string condition, string key, CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        using var select = new NpgsqlCommand($"""
            SELECT u.display_login, a.display_address FROM mail_users u LEFT JOIN mail_user_addresses a ON a.login = u.login
            WHERE {condition} ORDER BY a.display_address = u.display_login DESC, a.display_address
            """, connection);
        select.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        string? login = null;
        var addresses = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            login = reader.GetString(0);
            if (!reader.IsDBNull(1))
            {
                addresses.Add(reader.GetString(1));
            }
        }
        return login is null ? null : new MailUser(login, addresses);
    }

    private static string? AddressKey(string address) =>
        UserName.TryNormalize(DomainName.ToAsciiAddress(address), out var key) ? key : null;
}
