using System.Text;
using Mail.Protocols.Connections;

namespace Mail.Protocols.Sasl;

/// <summary>How a SASL command exchange (SMTP AUTH, POP3 AUTH, IMAP AUTHENTICATE) ended.</summary>
public enum SaslExchangeOutcome
{
    /// <summary>The mechanism accepted the credentials; <see cref="SaslExchangeResult.Step"/> carries the user.</summary>
    Succeeded,
    /// <summary>The mechanism refused the credentials.</summary>
    Failed,
    /// <summary>The mechanism found an answer that breaks its own syntax (<see cref="SaslStep.IsMalformed"/>).</summary>
    Malformed,
    /// <summary>The client answered a challenge with "*".</summary>
    Cancelled,
    /// <summary>An answer was not strict base64.</summary>
    InvalidBase64,
    /// <summary>An answer was longer than <see cref="SaslCommandExchange.MaxAnswerLength"/>.</summary>
    AnswerTooLong,
    /// <summary>No answer came in time (<see cref="MailConnection.TimedOut"/> says so).</summary>
    TimedOut,
    /// <summary>The connection closed or was aborted while a challenge waited for its answer.</summary>
    Closed,
}

/// <summary>What <see cref="SaslCommandExchange.RunAsync"/> found: the outcome, and the mechanism's last step when it gave one.</summary>
/// <param name="Outcome">How the exchange ended.</param>
/// <param name="Step">The final step for <see cref="SaslExchangeOutcome.Succeeded"/>, <see cref="SaslExchangeOutcome.Failed"/> and <see cref="SaslExchangeOutcome.Malformed"/>; otherwise the default.</param>
public readonly record struct SaslExchangeResult(SaslExchangeOutcome Outcome, SaslStep Step);

/// <summary>
/// The command side of a SASL exchange that SMTP, POP3 and IMAP share: each challenge goes out as the protocol's
/// prefix ("334 " for SMTP, "+ " for POP3 and IMAP) and base64, each answer line is read under its own bound and
/// timeout, "*" cancels, and answers are decoded strictly. The protocol turns the outcome into its own reply
/// (its refusal enum stays the one place replies come from) and charges failures to an <see cref="AuthFailureBudget"/>.
/// </summary>
public static class SaslCommandExchange
{
    /// <summary>The longest answer line accepted: RFC 4954 §4 asks for at least 12,288 octets, and RFC 5034 and IMAP use the same bound here.</summary>
    public const int MaxAnswerLength = 12288;

    /// <summary>
    /// Reads the optional initial response of an AUTH/AUTHENTICATE command: "=" is an empty response, anything
    /// else must be strict base64. Returns false when it is not.
    /// </summary>
    public static bool TryParseInitialResponse(string? argument, out byte[]? initial)
    {
        initial = null;
        if (argument is null)
        {
            return true;
        }
        if (argument == "=")
        {
            initial = [];
            return true;
        }
        if (SaslExchange.TryDecodeBase64(argument, out var decoded))
        {
            initial = decoded;
            return true;
        }
        return false;
    }

    /// <summary>
    /// Runs the exchange over <paramref name="io"/>: challenges are written after <paramref name="challengePrefix"/>,
    /// and answers are read with <paramref name="answerTimeout"/> (a shutdown request does not interrupt an exchange).
    /// <paramref name="sendFailureData"/> is as for <see cref="SaslExchange.RunAsync"/>.
    /// </summary>
    public static async ValueTask<SaslExchangeResult> RunAsync(SessionIO io, SaslMechanism mechanism, byte[]? initialResponse,
        byte[] challengePrefix, TimeSpan answerTimeout, bool sendFailureData = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(io);
        ArgumentNullException.ThrowIfNull(challengePrefix);
        var ended = SaslExchangeOutcome.Closed;
        var result = await SaslExchange.RunAsync(mechanism, initialResponse, ChallengeAsync, sendFailureData, cancellationToken).ConfigureAwait(false);
        if (result is not { } step)
        {
            return new SaslExchangeResult(ended, default);
        }
        var outcome = step.Kind == SaslStepKind.Success ? SaslExchangeOutcome.Succeeded
            : step.IsMalformed ? SaslExchangeOutcome.Malformed
            : SaslExchangeOutcome.Failed;
        return new SaslExchangeResult(outcome, step);

        async ValueTask<byte[]?> ChallengeAsync(byte[] challenge)
        {
            io.Write(challengePrefix);
            io.WriteAscii(Convert.ToBase64String(challenge));
            io.Write("\r\n"u8);
            var read = await io.ReadLineAsync(MaxAnswerLength, answerTimeout, allowShutdown: false, TimeoutReason.Authentication).ConfigureAwait(false);
            switch (read)
            {
                case LineReadOutcome.Line:
                    break;
                case LineReadOutcome.TooLong:
                    ended = SaslExchangeOutcome.AnswerTooLong;
                    return null;
                case LineReadOutcome.TimedOut:
                    ended = SaslExchangeOutcome.TimedOut;
                    return null;
                default:
                    ended = SaslExchangeOutcome.Closed;
                    return null;
            }
            if (io.Line.SequenceEqual("*"u8))
            {
                ended = SaslExchangeOutcome.Cancelled;
                return null;
            }
            if (!SaslExchange.TryDecodeBase64(Encoding.Latin1.GetString(io.Line), out var response))
            {
                ended = SaslExchangeOutcome.InvalidBase64;
                return null;
            }
            return response;
        }
    }
}

/// <summary>
/// Slows down password guessing the same way in every protocol: a failed (or cancelled) authentication waits
/// <c>FailedAuthDelay</c> before its reply, with the replies so far flushed, and <c>MaxAuthFailures</c> of them end
/// the session however many good commands come between them. The protocol writes the replies.
/// </summary>
public sealed class AuthFailureBudget
{
    private readonly TimeSpan _delay;
    private readonly int _maxFailures;
    private readonly TimeProvider _timeProvider;
    private int _failures;

    /// <summary>Creates the budget of one session.</summary>
    public AuthFailureBudget(TimeSpan delay, int maxFailures, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _delay = delay;
        _maxFailures = maxFailures;
        _timeProvider = timeProvider;
    }

    /// <summary>Failures counted so far.</summary>
    public int Failures => _failures;

    /// <summary>
    /// Flushes the pending replies, waits the failure delay and counts the failure. Returns true when this
    /// failure used up the budget (the session must end after its reply).
    /// </summary>
    public async ValueTask<bool> FailAsync(SessionIO io, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(io);
        await io.FlushAsync().ConfigureAwait(false);
        await Task.Delay(_delay, _timeProvider, cancellationToken).ConfigureAwait(false);
        return ++_failures >= _maxFailures;
    }
}
