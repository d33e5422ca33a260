using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mail.Protocols.Connections;

namespace Mail.Protocols.Hosting.Configuration;

/// <summary>
/// One certificate with its private key: from a PKCS#12 file (.pfx, .p12), from a PEM certificate with its key in the
/// same or another file, or from the operating system's certificate store by thumbprint.
/// </summary>
public class CertificateSettings
{
    /// <summary>The certificate file: PKCS#12 when it ends in .pfx or .p12, PEM otherwise. A changed file is loaded again.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key, when <see cref="CertificatePath"/> holds only the certificate.</summary>
    public string? KeyPath { get; set; }

    /// <summary>The password of the PKCS#12 file or of an encrypted PEM key.</summary>
    public string? Password { get; set; }

    /// <summary>The SHA-1 thumbprint of a certificate in the store named by <see cref="StoreName"/> and <see cref="StoreLocation"/>.</summary>
    public string? StoreThumbprint { get; set; }

    /// <summary>The store to look in. Defaults to My (personal certificates).</summary>
    public StoreName StoreName { get; set; } = StoreName.My;

    /// <summary>The store's location. Defaults to CurrentUser (the account the server runs as).</summary>
    public StoreLocation StoreLocation { get; set; } = StoreLocation.CurrentUser;

    /// <summary>Whether a file or a thumbprint is named.</summary>
    internal bool NamesACertificate => CertificatePath is not null || StoreThumbprint is not null;

    /// <summary>What is wrong with the settings, each message naming its setting under <paramref name="path"/>.</summary>
    internal virtual IEnumerable<string> Check(string path)
    {
        if (CertificatePath is not null && StoreThumbprint is not null)
        {
            yield return $"{path}: CertificatePath and StoreThumbprint both given; choose one.";
        }
        else if (!NamesACertificate)
        {
            yield return $"{path}:CertificatePath: no certificate named (a file, or StoreThumbprint).";
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
    }

    /// <summary>The time the certificate file was last written, for reloading; null for the store.</summary>
    internal DateTime? Stamp() => CertificatePath is { } file ? Max(File.GetLastWriteTimeUtc(file), KeyPath is { } key ? File.GetLastWriteTimeUtc(key) : default) : null;

    /// <summary>Loads the certificate; one that cannot be loaded, or lacks its private key, fails naming the setting.</summary>
    internal X509Certificate2 Load(string path)
    {
        var setting = CertificatePath is not null ? "CertificatePath" : "StoreThumbprint";
        X509Certificate2? certificate;
        try
        {
            certificate = CertificatePath is not { } file ? FromStore()
                : IsPkcs12(file) ? X509CertificateLoader.LoadPkcs12FromFile(file, Password)
                : WithPersistableKey(Password is not null ? X509Certificate2.CreateFromEncryptedPemFile(file, Password, KeyPath)
                    : X509Certificate2.CreateFromPemFile(file, KeyPath));
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw SettingsBinder.Refusal<TlsSettings>($"{path}:{setting}", $"'{CertificatePath ?? StoreThumbprint}' could not be loaded: {e.Message}", e);
        }
        if (certificate is null)
        {
            throw SettingsBinder.Refusal<TlsSettings>($"{path}:StoreThumbprint", $"no certificate '{StoreThumbprint}' in {StoreLocation}\\{StoreName}.");
        }
        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw SettingsBinder.Refusal<TlsSettings>($"{path}:{(CertificatePath is not null ? "KeyPath" : "StoreThumbprint")}", $"'{CertificatePath ?? StoreThumbprint}' has no private key here.");
        }
        return certificate;
    }

    private X509Certificate2? FromStore()
    {
        using var store = new X509Store(StoreName, StoreLocation);
        store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
        var all = store.Certificates;
        var found = all.Find(X509FindType.FindByThumbprint, StoreThumbprint!.Replace(" ", "", StringComparison.Ordinal), validOnly: false);
        var chosen = found.Count > 0 ? found[0] : null;
        // Each collection holds its own copies: every one but the one kept is disposed.
        foreach (var certificate in all.Concat(found).Where(certificate => !ReferenceEquals(certificate, chosen)))
        {
            certificate.Dispose();
        }
        return chosen;
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

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;

    private static bool IsPkcs12(string file) =>
        file.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".p12", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// The servers' TLS (<c>Mail:Tls</c>): the default certificate (a file, the store, or, for development and tests only,
/// one generated at start), certificates for other host names chosen by SNI (<see cref="ServerNames"/>), the handshake
/// deadline. A certificate file that changes is loaded again at the next handshake, so a renewal needs no restart.
/// </summary>
public sealed class TlsSettings : CertificateSettings
{
    /// <summary>Generate a self-signed certificate for localhost and this machine at start (clients must be told to trust it).</summary>
    public bool SelfSigned { get; set; }

    /// <summary>How long a handshake may take. Defaults to 30 seconds.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Certificates for the host names a client may ask for (SNI): an exact name, or <c>*.example.org</c> for any one
    /// label under it. A client that asks for another name, or none, gets the default certificate.
    /// </summary>
    public IDictionary<string, CertificateSettings> ServerNames { get; } = new Dictionary<string, CertificateSettings>(StringComparer.OrdinalIgnoreCase);

    /// <inheritdoc />
    internal override IEnumerable<string> Check(string path)
    {
        if (SelfSigned && NamesACertificate)
        {
            yield return $"{path}: a certificate and SelfSigned both given; choose one.";
        }
        else if (SelfSigned && (KeyPath ?? Password) is not null)
        {
            yield return $"{path}:{(KeyPath is not null ? "KeyPath" : "Password")}: has no use with SelfSigned (a generated certificate).";
        }
        else if (!SelfSigned)
        {
            foreach (var problem in base.Check(path))
            {
                yield return problem.Replace("no certificate named (a file, or StoreThumbprint).", "no certificate named (a file, StoreThumbprint, or SelfSigned: true for development).", StringComparison.Ordinal);
            }
        }
        if (HandshakeTimeout <= TimeSpan.Zero)
        {
            yield return $"{path}:HandshakeTimeout: must be positive.";
        }
        foreach (var (name, certificate) in ServerNames)
        {
            var namePath = $"{path}:ServerNames:{name}";
            var host = name.StartsWith("*.", StringComparison.Ordinal) ? name[2..] : name;
            host = Addressing.DomainName.ToAscii(host.TrimEnd('.')); // an international name in either form
            if (!Smtp.Client.SmtpHelloName.IsValid(host) || host.StartsWith('['))
            {
                yield return $"{namePath}: '{name}' is not a host name (or *. and a domain).";
            }
            foreach (var problem in certificate.Check(namePath))
            {
                yield return problem;
            }
        }
    }

    /// <summary>Loads (or generates) every certificate; one that cannot be loaded fails naming its setting.</summary>
    internal MailTlsOptions CreateTlsOptions(string path)
    {
        var selector = new ConfiguredCertificates(this, path);
        return new MailTlsOptions(selector) { HandshakeTimeout = HandshakeTimeout };
    }
}
