using Mail.Protocols.Users;

namespace Mail.Protocols.Sasl;

/// <summary>What a SASL step asks the protocol engine to do next.</summary>
public enum SaslStepKind
{
    /// <summary>Send <see cref="SaslStep.Data"/> as a challenge and pass the client's answer to the next step.</summary>
    Challenge,
    /// <summary>Authenticated as <see cref="SaslStep.User"/>. If <see cref="SaslStep.Data"/> is not null it is the
    /// server's final data (SCRAM): the engine sends it as a challenge, expects an empty answer, then reports success.</summary>
    Success,
    /// <summary>
    /// Authentication failed (bad credentials or a malformed exchange); see <see cref="SaslStep.Error"/>. If
    /// <see cref="SaslStep.Data"/> is not null it is the mechanism's error for the client (RFC 7628 §3.2.2): the engine
    /// sends it as a challenge and reads one answer, whatever it is, then reports the failure; the failure stands even
    /// when the client breaks off instead of answering.
    /// </summary>
    Failure,
}

/// <summary>One step of a SASL exchange.</summary>
/// <param name="Kind">What to do next.</param>
/// <param name="Data">Challenge or final server data (raw octets; the engine base64-encodes them).</param>
/// <param name="User">The authenticated user on success.</param>
/// <param name="Error">Why it failed, for logs (never sent to the client verbatim).</param>
/// <param name="IsMalformed">True when the client's data could not be parsed (SMTP 501) rather than wrong credentials (535).</param>
public readonly record struct SaslStep(SaslStepKind Kind, byte[]? Data = null, MailUser? User = null, string? Error = null, bool IsMalformed = false)
{
    /// <summary>A challenge.</summary>
    public static SaslStep Challenge(byte[] data) => new(SaslStepKind.Challenge, data);

    /// <summary>Success.</summary>
    public static SaslStep Success(MailUser user, byte[]? finalData = null) => new(SaslStepKind.Success, finalData, user);

    /// <summary>Wrong credentials or unknown user.</summary>
    public static SaslStep Failed(string error) => new(SaslStepKind.Failure, Error: error);

    /// <summary>Wrong credentials, with an error the client is sent as one last challenge before the failure (RFC 7628 §3.2.2).</summary>
    public static SaslStep Failed(string error, byte[] errorData) => new(SaslStepKind.Failure, errorData, Error: error);

    /// <summary>Malformed client data.</summary>
    public static SaslStep Malformed(string error) => new(SaslStepKind.Failure, Error: error, IsMalformed: true);
}

/// <summary>
/// The server side of one SASL exchange (RFC 4422). A new instance is created per AUTH command; it is
/// driven by <see cref="StartAsync"/> and then <see cref="StepAsync"/> until it returns success or failure.
/// </summary>
public abstract class SaslMechanism
{
    /// <summary>The mechanism's registered name, for example <c>SCRAM-SHA-256</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Whether the client sends the password in the clear (PLAIN, LOGIN). The servers offer every mechanism, this kind or not, only over TLS unless plaintext authentication is allowed.</summary>
    public abstract bool IsPlaintext { get; }

    /// <summary>Begins the exchange, with the client's initial response if it sent one (an empty array for "=").</summary>
    public abstract ValueTask<SaslStep> StartAsync(byte[]? initialResponse, CancellationToken cancellationToken = default);

    /// <summary>Handles the client's answer to the last challenge.</summary>
    public abstract ValueTask<SaslStep> StepAsync(byte[] response, CancellationToken cancellationToken = default);
}
