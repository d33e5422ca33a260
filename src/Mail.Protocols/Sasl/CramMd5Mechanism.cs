using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mail.Protocols.Users;

namespace Mail.Protocols.Sasl;

// RFC 2195: the server sends a unique msg-id style challenge; the client answers "user HEX(HMAC-MD5(secret, challenge))".
internal sealed class CramMd5Mechanism(IUserDirectory users, string serverName, TimeProvider timeProvider) : SaslMechanism
{
    private byte[]? _challenge;

    public override string Name => SaslMechanisms.CramMd5;

    public override bool IsPlaintext => false;

    public override ValueTask<SaslStep> StartAsync(byte[]? initialResponse, CancellationToken cancellationToken = default)
    {
        // The server speaks first: any initial response, even an empty one ("="), is refused (RFC 4954 §4, RFC 5034 §4).
        if (initialResponse is not null)
        {
            return ValueTask.FromResult(SaslStep.Malformed("CRAM-MD5 takes no initial response"));
        }
        var random = RandomNumberGenerator.GetInt32(int.MaxValue).ToString(CultureInfo.InvariantCulture);
        var time = timeProvider.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        _challenge = Encoding.ASCII.GetBytes($"<{random}.{time}@{serverName}>");
        return ValueTask.FromResult(SaslStep.Challenge(_challenge));
    }

    public override async ValueTask<SaslStep> StepAsync(byte[] response, CancellationToken cancellationToken = default)
    {
        if (_challenge is null)
        {
            return SaslStep.Malformed("CRAM-MD5 exchange not started");
        }
        var space = Array.LastIndexOf(response, (byte)' ');
        if (space <= 0 || response.Length - space - 1 != 32)
        {
            return SaslStep.Malformed("CRAM-MD5 response is not 'user digest'");
        }
        string login;
        byte[] digest;
        try
        {
            login = SaslText.Utf8.GetString(response, 0, space);
            digest = Convert.FromHexString(Encoding.ASCII.GetString(response, space + 1, 32));
        }
        catch (Exception ex) when (ex is DecoderFallbackException or FormatException)
        {
            return SaslStep.Malformed("CRAM-MD5 response is not 'user digest'");
        }
        var user = await users.FindByLoginAsync(login, cancellationToken).ConfigureAwait(false);
        var secret = user is null ? null : await users.GetSharedSecretAsync(user, cancellationToken).ConfigureAwait(false);
        if (user is null || secret is null)
        {
            return SaslStep.Failed("unknown user or no shared secret");
        }
#pragma warning disable CA5351 // MD5 is what RFC 2195 specifies; it is not used for anything else.
        var expected = HMACMD5.HashData(Encoding.UTF8.GetBytes(secret), _challenge);
#pragma warning restore CA5351
        return CryptographicOperations.FixedTimeEquals(expected, digest) ? SaslStep.Success(user) : SaslStep.Failed("invalid credentials");
    }
}
