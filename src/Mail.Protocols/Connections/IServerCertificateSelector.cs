using System.Security.Cryptography.X509Certificates;

namespace Mail.Protocols.Connections;

/// <summary>
/// Chooses the server certificate for each TLS handshake (implicit TLS, STARTTLS, STLS), by the host name the client
/// asked for (SNI, RFC 6066 §3): one server can then answer for several domains, and a renewed certificate can be taken
/// up without a restart.
/// </summary>
public interface IServerCertificateSelector
{
    /// <summary>The certificate (with its private key) for a handshake.</summary>
    /// <param name="serverName">The name the client sent, or null when it sent none (it connected to an address).</param>
    X509Certificate2 SelectCertificate(string? serverName);
}
