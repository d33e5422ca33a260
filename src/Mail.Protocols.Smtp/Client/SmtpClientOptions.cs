using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Mail.Protocols.Smtp.Client;

/// <summary>Whether the client uses STARTTLS.</summary>
public enum StartTlsPolicy
{
    /// <summary>Use it when the server offers it; carry on in plaintext when it does not (the default, as MTAs do).</summary>
    Opportunistic,
    /// <summary>Refuse to send unless the connection is encrypted.</summary>
    Required,
    /// <summary>Never start TLS.</summary>
    Never,
}

/// <summary>Settings of <see cref="SmtpClientConnection"/>.</summary>
public sealed class SmtpClientOptions
{
    /// <summary>
    /// The name this host gives in EHLO/HELO: a domain or an address literal. Null (the default): the machine name when
    /// it is a domain, otherwise the address literal of the connection's local address (RFC 5321 §4.1.4).
    /// </summary>
    public string? LocalName { get; set; }

    /// <summary>STARTTLS policy. Defaults to <see cref="StartTlsPolicy.Opportunistic"/>.</summary>
    public StartTlsPolicy StartTls { get; set; } = StartTlsPolicy.Opportunistic;

    /// <summary>
    /// Validate the server certificate (chain and host name) even without <see cref="Credentials"/>. Defaults to false:
    /// opportunistic TLS encrypts without authenticating, as RFC 7435 describes. With credentials the certificate is
    /// always validated, whatever this says: a login goes only to the server it was meant for.
    /// </summary>
    public bool ValidateCertificate { get; set; }

    /// <summary>
    /// Certificates to trust as roots besides the system's, when the certificate is validated: a private CA, or the
    /// self-signed certificate of a smart host or test server. The host name is still checked against the certificate.
    /// Only the public part is needed.
    /// </summary>
    public X509Certificate2Collection TrustedCertificates { get; } = [];

    /// <summary>
    /// Decides about the server certificate instead of the built-in check (chain against the system roots and
    /// <see cref="TrustedCertificates"/>, then the host name), with or without credentials. This is the explicit opt-out
    /// for test setups: a callback that accepts what the built-in check refused lets a login go to a server nobody has
    /// authenticated, so prefer <see cref="TrustedCertificates"/>. Null by default.
    /// </summary>
    public RemoteCertificateValidationCallback? CertificateValidation { get; set; }

    /// <summary>
    /// Credentials for AUTH (a smart host that wants a login); null: no AUTH. They are sent only over TLS (unless
    /// <see cref="AllowPlaintextAuth"/>) and only after the server certificate was validated.
    /// </summary>
    public System.Net.NetworkCredential? Credentials { get; set; }

    /// <summary>Allow AUTH on an unencrypted connection. Defaults to false: credentials are only sent over TLS.</summary>
    public bool AllowPlaintextAuth { get; set; }

    /// <summary>Time to wait for the greeting: 5 minutes (RFC 5321 §4.5.3.2.1).</summary>
    public TimeSpan GreetingTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Time to wait for replies to MAIL and RCPT: 5 minutes (§4.5.3.2.2–3).</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Time to wait for the 354 to DATA: 2 minutes (§4.5.3.2.4).</summary>
    public TimeSpan DataInitiationTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Time to wait for each block of data to be sent: 3 minutes (§4.5.3.2.5).</summary>
    public TimeSpan DataBlockTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Time to wait for the reply after the end of data: 10 minutes (§4.5.3.2.6).</summary>
    public TimeSpan DataTerminationTimeout { get; set; } = TimeSpan.FromMinutes(10);
}
