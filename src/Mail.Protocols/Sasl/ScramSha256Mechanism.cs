using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mail.Protocols.Users;

namespace Mail.Protocols.Sasl;

// RFC 5802 with SHA-256 (RFC 7677). Channel binding is not offered (no -PLUS variant): a client asking for
// it ("p=") is refused; "y" is accepted because we never advertise a -PLUS mechanism.
internal sealed class ScramSha256Mechanism(IUserDirectory users, ReadOnlyMemory<byte> unknownUserKey) : SaslMechanism
{
    // The default key of made-up salts: one per process, so SMTP and POP3 in one process show the same salt for a login.
    private static readonly byte[] s_processKey = RandomNumberGenerator.GetBytes(32);

    // The server-first message echoes the client's nonce, and is sent in base64 (a third larger): a nonce of kilobytes
    // would be an answer too long for a protocol line (POP3's 512 octets, RFC 2449 §4) made by the client. Clients send
    // a few dozen characters (RFC 5802's examples: 24); RFC 5802 sets no limit, so this is ours.
    internal const int MaxClientNonceLength = 256;

    private MailUser? _user;
    private ScramCredential? _credential;
    private string? _clientFirstBare;
    private string? _serverFirst;
    private string? _nonce;
    private string? _gs2Header;
    private bool _unknownUser;

    public override string Name => SaslMechanisms.ScramSha256;

    public override bool IsPlaintext => false;

    // "=" is an empty client-first message, not an absent one (RFC 4954 §4, RFC 5034 §4): it fails as malformed.
    public override ValueTask<SaslStep> StartAsync(byte[]? initialResponse, CancellationToken cancellationToken = default) =>
        initialResponse is null
            ? ValueTask.FromResult(SaslStep.Challenge([]))
            : StepAsync(initialResponse, cancellationToken);

    public override ValueTask<SaslStep> StepAsync(byte[] response, CancellationToken cancellationToken = default) =>
        _serverFirst is null ? ClientFirstAsync(response, cancellationToken) : ValueTask.FromResult(ClientFinal(response));

    private async ValueTask<SaslStep> ClientFirstAsync(byte[] response, CancellationToken cancellationToken)
    {
        string message;
        try
        {
            message = SaslText.Utf8.GetString(response);
        }
        catch (DecoderFallbackException)
        {
            return SaslStep.Malformed("SCRAM client-first-message is not UTF-8");
        }
        // gs2-header = gs2-cbind-flag "," [authzid] ","
        var firstComma = message.IndexOf(',', StringComparison.Ordinal);
        var secondComma = firstComma < 0 ? -1 : message.IndexOf(',', firstComma + 1);
        if (secondComma < 0)
        {
            return SaslStep.Malformed("SCRAM client-first-message lacks a GS2 header");
        }
        var cbind = message[..firstComma];
        if (cbind is not ("n" or "y"))
        {
            return SaslStep.Malformed("SCRAM channel binding is not supported");
        }
        var authzid = message[(firstComma + 1)..secondComma];
        _gs2Header = message[..(secondComma + 1)];
        _clientFirstBare = message[(secondComma + 1)..];
        var attributes = ParseAttributes(_clientFirstBare);
        if (attributes is null || !attributes.TryGetValue('n', out var saslName) || !attributes.TryGetValue('r', out var clientNonce)
            || clientNonce.Length is 0 or > MaxClientNonceLength || attributes.ContainsKey('m'))
        {
            return SaslStep.Malformed("SCRAM client-first-message is malformed");
        }
        var login = DecodeSaslName(saslName) is { } decoded ? ScramCredentials.SaslPrep(decoded) : null;
        if (login is null)
        {
            return SaslStep.Malformed("SCRAM user name is malformed");
        }
        if (authzid.Length > 0)
        {
            // gs2-authzid = "a=" saslname (RFC 5802 §5.1): decoded like the user name, then compared as PLAIN compares
            // its authorization identity, by the login's normal form.
            if (!authzid.StartsWith("a=", StringComparison.Ordinal) || DecodeSaslName(authzid[2..]) is not { } requested)
            {
                return SaslStep.Malformed("SCRAM authorization identity is malformed");
            }
            if (!UserName.Comparer.Equals(requested, login))
            {
                return SaslStep.Failed("authorization identity differs from the authenticated user");
            }
        }

        _user = await users.FindByLoginAsync(login, cancellationToken).ConfigureAwait(false);
        _credential = _user is null ? null : await users.GetScramCredentialAsync(_user, cancellationToken).ConfigureAwait(false);
        if (_credential is null)
        {
            // Carry on with a made-up salt so an unknown user looks like a wrong password (no user enumeration). The salt
            // is keyed with a server secret: a public function of the login would let a client compute it and see that
            // the login is unknown. The login is taken in its normal form, by which the directory tells users apart, so
            // two spellings get one salt exactly when they would name one user if it existed ("Bob" and "bob" one,
            // a final and a medial sigma two); any other folding lets a client compare two spellings' salts.
            _unknownUser = true;
            var key = unknownUserKey.IsEmpty ? s_processKey : unknownUserKey.Span;
            var name = UserName.TryNormalize(login, out var normalized) ? normalized : login;
            var salt = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes("SCRAM-SHA-256 salt:" + name))[..ScramCredentials.SaltLength];
            _credential = new ScramCredential(salt, ScramCredentials.DefaultIterations, new byte[32], new byte[32]);
        }
        _nonce = clientNonce + Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        _serverFirst = string.Create(CultureInfo.InvariantCulture, $"r={_nonce},s={Convert.ToBase64String(_credential.Salt)},i={_credential.Iterations}");
        return SaslStep.Challenge(Encoding.ASCII.GetBytes(_serverFirst));
    }

    private SaslStep ClientFinal(byte[] response)
    {
        string message;
        try
        {
            message = SaslText.Utf8.GetString(response);
        }
        catch (DecoderFallbackException)
        {
            return SaslStep.Malformed("SCRAM client-final-message is not UTF-8");
        }
        var proofAt = message.LastIndexOf(",p=", StringComparison.Ordinal);
        if (proofAt < 0)
        {
            return SaslStep.Malformed("SCRAM client-final-message lacks a proof");
        }
        var withoutProof = message[..proofAt];
        var attributes = ParseAttributes(withoutProof);
        if (attributes is null || !attributes.TryGetValue('c', out var binding) || !attributes.TryGetValue('r', out var nonce))
        {
            return SaslStep.Malformed("SCRAM client-final-message is malformed");
        }
        byte[] proof;
        try
        {
            proof = Convert.FromBase64String(message[(proofAt + 3)..]);
            if (!Convert.FromBase64String(binding).AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(_gs2Header!)))
            {
                return SaslStep.Failed("SCRAM channel binding data does not match");
            }
        }
        catch (FormatException)
        {
            return SaslStep.Malformed("SCRAM client-final-message has bad base64");
        }
        if (!string.Equals(nonce, _nonce, StringComparison.Ordinal) || proof.Length != 32)
        {
            return SaslStep.Failed("SCRAM nonce or proof mismatch");
        }

        var authMessage = Encoding.UTF8.GetBytes($"{_clientFirstBare},{_serverFirst},{withoutProof}");
        var credential = _credential!;
        var clientSignature = HMACSHA256.HashData(credential.StoredKey, authMessage);
        var clientKey = new byte[32];
        for (var i = 0; i < clientKey.Length; i++)
        {
            clientKey[i] = (byte)(proof[i] ^ clientSignature[i]);
        }
        if (_unknownUser || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(clientKey), credential.StoredKey))
        {
            return SaslStep.Failed("invalid credentials");
        }
        var serverSignature = HMACSHA256.HashData(credential.ServerKey, authMessage);
        return SaslStep.Success(_user!, Encoding.ASCII.GetBytes("v=" + Convert.ToBase64String(serverSignature)));
    }

    private static Dictionary<char, string>? ParseAttributes(string text)
    {
        var result = new Dictionary<char, string>();
        foreach (var part in text.Split(','))
        {
            if (part.Length < 2 || part[1] != '=' || !char.IsAsciiLetter(part[0]) || !result.TryAdd(part[0], part[2..]))
            {
                return null;
            }
        }
        return result;
    }

    // saslname: "=2C" stands for ',' and "=3D" for '='; any other '=' is malformed.
    private static string? DecodeSaslName(string name)
    {
        if (!name.Contains('=', StringComparison.Ordinal))
        {
            return name.Length == 0 ? null : name;
        }
        var builder = new StringBuilder(name.Length);
        for (var i = 0; i < name.Length; i++)
        {
            if (name[i] != '=')
            {
                builder.Append(name[i]);
                continue;
            }
            if (i + 2 >= name.Length)
            {
                return null;
            }
            var code = name.Substring(i + 1, 2);
            if (code == "2C")
            {
                builder.Append(',');
            }
            else if (code == "3D")
            {
                builder.Append('=');
            }
            else
            {
                return null;
            }
            i += 2;
        }
        return builder.ToString();
    }
}

/// <summary>Creates SCRAM-SHA-256 credentials from passwords (RFC 5802 §3).</summary>
public static class ScramCredentials
{
    /// <summary>The PBKDF2 iteration count of <see cref="FromPassword"/> by default (RFC 7677's minimum), also the
    /// count shown for a login that does not exist. A directory with other counts makes its real users stand out.</summary>
    public const int DefaultIterations = 4096;

    // Salts of FromPassword and the made-up salts of unknown logins alike.
    internal const int SaltLength = 16;

    /// <summary>Derives the stored credential for <paramref name="password"/> with a random salt.</summary>
    /// <param name="password">The password; it is prepared with <see cref="SaslPrep"/> as RFC 5802 requires.</param>
    /// <param name="iterations">PBKDF2 iterations; RFC 7677 asks for at least 4096.</param>
    public static ScramCredential FromPassword(string password, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        var salt = RandomNumberGenerator.GetBytes(SaltLength);
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(SaslPrep(password)), salt, iterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        return new ScramCredential(salt, iterations, SHA256.HashData(clientKey), serverKey);
    }

    /// <summary>
    /// The mapping and normalization steps of SASLprep (RFC 4013 §2.1–2.2): characters "commonly mapped to
    /// nothing" (RFC 3454 B.1) are removed, non-ASCII spaces (C.1.2) become U+0020, then NFKC. Prohibited
    /// and bidirectional checks are not applied: a stored credential only needs to match what clients derive.
    /// </summary>
    public static string SaslPrep(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is '\u00AD' or '\u034F' or '\u1806' or (>= '\u180B' and <= '\u180D') or (>= '\u200B' and <= '\u200D') or '\u2060'
                or (>= '\uFE00' and <= '\uFE0F') or '\uFEFF')
            {
                continue;
            }
            builder.Append(c is '\u00A0' or '\u1680' or (>= '\u2000' and <= '\u200A') or '\u202F' or '\u205F' or '\u3000' ? ' ' : c);
        }
        return builder.ToString().Normalize(NormalizationForm.FormKC);
    }
}
