namespace Mail.Protocols.Connections;

/// <summary>Why a connection's deadline was set; reported when it expires.</summary>
public enum TimeoutReason
{
    /// <summary>No deadline is armed.</summary>
    None,
    /// <summary>Waiting for the next command.</summary>
    Idle,
    /// <summary>Waiting for the rest of a command, message data or a literal.</summary>
    Data,
    /// <summary>The octets of a length-delimited read (an IMAP literal, an SMTP BDAT chunk).</summary>
    Literal,
    /// <summary>The TLS handshake.</summary>
    TlsHandshake,
    /// <summary>A SASL exchange.</summary>
    Auth,
    /// <summary>Writing to a client that does not read: the connection is aborted.</summary>
    Write,
}
