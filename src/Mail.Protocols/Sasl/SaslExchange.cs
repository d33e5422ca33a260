using System.Buffers;

namespace Mail.Protocols.Sasl;

/// <summary>
/// Drives one SASL exchange the way SMTP AUTH, POP3 AUTH and IMAP AUTHENTICATE all need it: start with the
/// optional initial response, send challenges and feed back the answers until success or failure, and on a
/// success that carries final server data (SCRAM) send that as one more challenge whose answer must be empty.
/// The protocol supplies only how a challenge is sent and its answer read.
/// </summary>
public static class SaslExchange
{
    /// <summary>How the protocol sends a challenge and reads the answer: null when the exchange was cancelled or broken off (the protocol has already replied).</summary>
    public delegate ValueTask<byte[]?> ChallengeHandler(byte[] challenge);

    /// <summary>
    /// Runs the exchange. Returns the final step (success or failure), or null when <paramref name="challenge"/>
    /// returned null (cancelled, malformed line or connection gone).
    /// </summary>
    /// <param name="mechanism">The mechanism's server side.</param>
    /// <param name="initialResponse">The client's initial response, if it sent one.</param>
    /// <param name="challenge">How a challenge is sent and its answer read.</param>
    /// <param name="sendFailureData">
    /// Whether a failure's error data (<see cref="SaslStep.Failed(string, byte[])"/>) is sent as a last challenge. False for
    /// a protocol whose clients take a challenge after their last message for a protocol error (POP3's, in MailKit): the
    /// exchange then fails at once, for every mechanism alike.
    /// </param>
    /// <param name="cancellationToken">Cancels the mechanism's work.</param>
    public static async ValueTask<SaslStep?> RunAsync(SaslMechanism mechanism, byte[]? initialResponse, ChallengeHandler challenge, bool sendFailureData = true,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mechanism);
        ArgumentNullException.ThrowIfNull(challenge);
        var step = await mechanism.StartAsync(initialResponse, cancellationToken).ConfigureAwait(false);
        while (step.Kind == SaslStepKind.Challenge)
        {
            var response = await challenge(step.Data!).ConfigureAwait(false);
            if (response is null)
            {
                return null;
            }
            step = await mechanism.StepAsync(response, cancellationToken).ConfigureAwait(false);
        }
        if (step.Kind == SaslStepKind.Failure && step.Data is { } error && sendFailureData)
        {
            // The mechanism's error goes out as a challenge; the answer (RFC 7628 asks for a lone %x01) is read and
            // ignored, and the exchange failed whatever it is: a client that breaks off here has still failed.
            await challenge(error).ConfigureAwait(false);
            return step;
        }
        if (step.Kind == SaslStepKind.Success && step.Data is { } serverFinal)
        {
            var response = await challenge(serverFinal).ConfigureAwait(false);
            if (response is null)
            {
                return null;
            }
            if (response.Length != 0)
            {
                return SaslStep.Malformed("the answer to the server's final data must be empty");
            }
        }
        return step;
    }

    private static readonly SearchValues<char> s_alphabet = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

    /// <summary>
    /// Decodes base64 strictly, as RFC 4954 §4 and RFC 5034 §4 ask: any character outside the alphabet (spaces
    /// included, which <see cref="Convert"/> would skip) or misplaced padding fails. "" decodes to no octets.
    /// </summary>
    public static bool TryDecodeBase64(ReadOnlySpan<char> text, out byte[] data)
    {
        data = [];
        if (text.IsEmpty)
        {
            return true;
        }
        if (text.Length % 4 != 0 || text.TrimEnd('=').ContainsAnyExcept(s_alphabet) || text.Length - text.TrimEnd('=').Length > 2)
        {
            return false;
        }
        var buffer = new byte[text.Length / 4 * 3];
        if (!Convert.TryFromBase64Chars(text, buffer, out var written))
        {
            return false;
        }
        data = buffer[..written];
        return true;
    }
}
