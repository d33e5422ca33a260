using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Mail.Protocols.Connections;

/// <summary>TLS settings shared by implicit-TLS endpoints and STARTTLS/STLS.</summary>
public sealed class MailTlsOptions
{
    /// <summary>Creates options with a server certificate (it must have a private key).</summary>
    public MailTlsOptions(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException("The server certificate needs its private key.", nameof(certificate));
        }
        Certificate = certificate;
    }

    /// <summary>
    /// Creates options whose certificate <paramref name="selector"/> chooses for each handshake (by SNI name, or the one
    /// renewed most recently); <see cref="Certificate"/> is its choice for a client that names no host, taken now.
    /// </summary>
    public MailTlsOptions(IServerCertificateSelector selector)
        : this(selector?.SelectCertificate(null) ?? throw new ArgumentNullException(nameof(selector)))
    {
        CertificateSelector = selector;
    }

    /// <summary>The server certificate (with a selector: the one chosen for a client that names no host, when the options were made).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Chooses the certificate of each handshake; null: <see cref="Certificate"/> always.</summary>
    public IServerCertificateSelector? CertificateSelector { get; }

    /// <summary>
    /// Allowed protocol versions. Defaults to <see cref="SslProtocols.None"/>: the operating system's choice (TLS 1.2 and
    /// 1.3 here; a client that offers only TLS 1.0 or 1.1 fails the handshake). Renegotiation is always refused.
    /// </summary>
    public SslProtocols EnabledProtocols { get; set; } = SslProtocols.None;

    /// <summary>How long a handshake may take. Defaults to 30 seconds.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    internal SslServerAuthenticationOptions CreateServerOptions() => new()
    {
        ServerCertificate = CertificateSelector is null ? Certificate : null,
        ServerCertificateSelectionCallback = CertificateSelector is { } selector
            ? (_, serverName) => selector.SelectCertificate(string.IsNullOrEmpty(serverName) ? null : serverName)
            : null,
        EnabledSslProtocols = EnabledProtocols,
        ClientCertificateRequired = false,
        // Said outright rather than left to the default: a client-initiated renegotiation costs the server a
        // handshake each time and has been the vehicle of attacks (CVE-2009-3555); TLS 1.3 has none anyway.
        AllowRenegotiation = false,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
    };
}
