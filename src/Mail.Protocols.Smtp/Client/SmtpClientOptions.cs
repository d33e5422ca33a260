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
    /// <summary>The name this host gives in EHLO/HELO. Defaults to the machine name.</summary>
    public string LocalName { get; set; } = Environment.MachineName;

    /// <summary>STARTTLS policy. Defaults to <see cref="StartTlsPolicy.Opportunistic"/>.</summary>
    public StartTlsPolicy StartTls { get; set; } = StartTlsPolicy.Opportunistic;

    /// <summary>Validate the server certificate (name and chain). Defaults to false: opportunistic TLS encrypts without authenticating, as RFC 7435 describes.</summary>
    public bool ValidateCertificate { get; set; }

    /// <summary>Credentials for AUTH (a smart host that wants a login); null: no AUTH.</summary>
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
