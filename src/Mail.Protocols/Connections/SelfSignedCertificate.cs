using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mail.Protocols.Connections;

/// <summary>Creates a self-signed server certificate, so STARTTLS works out of the box in development.</summary>
public static class SelfSignedCertificate
{
    /// <summary>Creates a certificate for <paramref name="hostNames"/> (plus localhost and 127.0.0.1/::1), valid for a year.</summary>
    public static X509Certificate2 Create(params string[] hostNames)
    {
        ArgumentNullException.ThrowIfNull(hostNames);
        using var key = RSA.Create(2048);
        var subject = hostNames.Length > 0 ? hostNames[0] : "localhost";
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        foreach (var name in hostNames.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (!string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase))
            {
                san.AddDnsName(name);
            }
        }
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(1));
        // Round-trip through PKCS#12 so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }
}
