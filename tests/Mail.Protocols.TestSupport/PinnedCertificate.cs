using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mail.Protocols.TestSupport;

/// <summary>
/// Certificate checks for test clients of a host with a self-signed certificate: chain validation cannot succeed, so
/// exactly the host's certificate (by its SHA-256 hash) is accepted and nothing else.
/// </summary>
public static class PinnedCertificate
{
    /// <summary>Whether <paramref name="presented"/> is <paramref name="expected"/>.</summary>
    public static bool Matches(X509Certificate expected, X509Certificate? presented)
    {
        ArgumentNullException.ThrowIfNull(expected);
        return presented is not null
            && presented.GetCertHashString(HashAlgorithmName.SHA256) == expected.GetCertHashString(HashAlgorithmName.SHA256);
    }

    /// <summary>A validation callback (MailKit's and <see cref="SslStream"/>'s shape) that accepts only <paramref name="expected"/>.</summary>
    public static RemoteCertificateValidationCallback Callback(X509Certificate expected)
    {
        var hash = expected.GetCertHashString(HashAlgorithmName.SHA256);
        return (_, presented, _, _) => presented is not null && presented.GetCertHashString(HashAlgorithmName.SHA256) == hash;
    }
}
