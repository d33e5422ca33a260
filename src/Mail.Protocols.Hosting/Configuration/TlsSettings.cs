using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mail.Protocols.Connections;

namespace Mail.Protocols.Hosting.Configuration;

/// <summary>
/// Where the servers' certificate comes from (<c>Mail:Tls</c>): a PKCS#12 file (.pfx, .p12), a PEM certificate with its
/// key in the same or another file, or, for development and tests only, one generated at start.
/// </summary>
public sealed class TlsSettings
{
    /// <summary>The certificate file: PKCS#12 when it ends in .pfx or .p12, PEM otherwise.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key, when <see cref="CertificatePath"/> holds only the certificate.</summary>
    public string? KeyPath { get; set; }

    /// <summary>The password of the PKCS#12 file or of an encrypted PEM key.</summary>
    public string? Password { get; set; }

    /// <summary>Generate a self-signed certificate for localhost and this machine at start (clients must be told to trust it).</summary>
    public bool SelfSigned { get; set; }

    /// <summary>How long a handshake may take. Defaults to 30 seconds.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>What is wrong with the settings, each message naming its setting under <paramref name="path"/>.</summary>
    internal IEnumerable<string> Check(string path)
    {
        if (SelfSigned && CertificatePath is not null)
        {
            yield return $"{path}: CertificatePath and SelfSigned both given; choose one.";
        }
        else if (!SelfSigned && CertificatePath is null)
        {
            yield return $"{path}:CertificatePath: no certificate named (or SelfSigned: true, for development).";
        }
        if (CertificatePath is { } certificate && !File.Exists(certificate))
        {
            yield return $"{path}:CertificatePath: no file '{certificate}'.";
        }
        if (KeyPath is not null && CertificatePath is { } pkcs12 && IsPkcs12(pkcs12))
        {
            yield return $"{path}:KeyPath: a PKCS#12 file holds its own key; KeyPath is for PEM.";
        }
        else if (KeyPath is { } key && !File.Exists(key))
        {
            yield return $"{path}:KeyPath: no file '{key}'.";
        }
        if (HandshakeTimeout <= TimeSpan.Zero)
        {
            yield return $"{path}:HandshakeTimeout: must be positive.";
        }
    }

    /// <summary>Loads (or generates) the certificate; a file that does not hold one with its key fails naming the setting.</summary>
    internal MailTlsOptions CreateTlsOptions(string path)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = CertificatePath is not { } file ? SelfSignedCertificate.Create("localhost", System.Net.Dns.GetHostName())
                : IsPkcs12(file) ? X509CertificateLoader.LoadPkcs12FromFile(file, Password)
                : WithPersistableKey(Password is not null ? X509Certificate2.CreateFromEncryptedPemFile(file, Password, KeyPath)
                    : X509Certificate2.CreateFromPemFile(file, KeyPath));
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw SettingsBinder.Refusal<TlsSettings>($"{path}:CertificatePath", $"'{CertificatePath}' could not be loaded: {e.Message}", e);
        }
        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw SettingsBinder.Refusal<TlsSettings>($"{path}:KeyPath", $"'{CertificatePath}' holds no private key; name the key file.");
        }
        return new MailTlsOptions(certificate) { HandshakeTimeout = HandshakeTimeout };
    }

    // A PEM key is attached as an ephemeral key, which SslStream cannot use on Windows; a round trip through PKCS#12
    // gives it the form every platform takes.
    private static X509Certificate2 WithPersistableKey(X509Certificate2 certificate)
    {
        using (certificate)
        {
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
        }
    }

    private static bool IsPkcs12(string file) =>
        file.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".p12", StringComparison.OrdinalIgnoreCase);
}
