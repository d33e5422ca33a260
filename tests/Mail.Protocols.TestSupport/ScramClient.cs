using System.Security.Cryptography;
using System.Text;

namespace Mail.Protocols.TestSupport;

/// <summary>
/// The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677), in base64 as the line protocols carry it, for tests that
/// speak AUTH on a raw connection. No channel binding ("n,,"); <paramref name="authzid"/>, when given, is written as
/// it is (already saslname-encoded) into the GS2 header ("n,a=…,").
/// </summary>
public sealed class ScramClient(string login, string password, string? authzid = null)
{
    private readonly string _gs2Header = authzid is null ? "n,," : $"n,a={authzid},";
    private readonly string _clientNonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
    private string? _serverSignature;

    /// <summary>The client-first message, base64.</summary>
    public string First => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_gs2Header}n={login},r={_clientNonce}"));

    /// <summary>The salt and iteration count of a base64 server-first message.</summary>
    public static (byte[] Salt, int Iterations) ParseServerFirst(string serverFirstBase64)
    {
        var attributes = Encoding.ASCII.GetString(Convert.FromBase64String(serverFirstBase64)).Split(',').ToDictionary(a => a[0], a => a[2..]);
        return (Convert.FromBase64String(attributes['s']), int.Parse(attributes['i'], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The client-final message (with the proof) for a base64 server-first message, base64.</summary>
    public string Final(string serverFirstBase64)
    {
        var serverFirst = Encoding.ASCII.GetString(Convert.FromBase64String(serverFirstBase64));
        var (salt, iterations) = ParseServerFirst(serverFirstBase64);
        var nonce = serverFirst.Split(',')[0][2..];
        var withoutProof = $"c={Convert.ToBase64String(Encoding.UTF8.GetBytes(_gs2Header))},r={nonce}";
        var authMessage = Encoding.UTF8.GetBytes($"n={login},r={_clientNonce},{serverFirst},{withoutProof}");
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var signature = HMACSHA256.HashData(SHA256.HashData(clientKey), authMessage);
        var proof = new byte[32];
        for (var i = 0; i < proof.Length; i++)
        {
            proof[i] = (byte)(clientKey[i] ^ signature[i]);
        }
        _serverSignature = "v=" + Convert.ToBase64String(HMACSHA256.HashData(HMACSHA256.HashData(salted, "Server Key"u8), authMessage));
        return Convert.ToBase64String(Encoding.UTF8.GetBytes($"{withoutProof},p={Convert.ToBase64String(proof)}"));
    }

    /// <summary>Whether a base64 server-final message carries the signature this client expects.</summary>
    public bool VerifyServerFinal(string serverFinalBase64) =>
        _serverSignature is not null && Encoding.ASCII.GetString(Convert.FromBase64String(serverFinalBase64)) == _serverSignature;
}
