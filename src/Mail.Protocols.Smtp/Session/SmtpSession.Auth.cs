using System.Diagnostics;
using Mail.Protocols.Connections;
using Mail.Protocols.RateLimits;
using Mail.Protocols.Sasl;
using Mail.Protocols.Smtp.Protocol;
using Mail.Protocols.Smtp.Telemetry;
using Mail.Protocols.Telemetry;
using Mail.Protocols.Users;

namespace Mail.Protocols.Smtp.Session;

// AUTH (RFC 4954) and STARTTLS (RFC 3207).
internal sealed partial class SmtpSession
{
    private bool _authenticating;

    // AUTH, in a span while something listens: the mechanism, and how the attempt ended.
    private async ValueTask<bool> AuthAsync(string arguments)
    {
        using var span = SmtpTracing.Smtp.StartActivity("SMTP AUTH", ActivityKind.Server);
        if (span is null)
        {
            return await AuthCoreAsync(arguments).ConfigureAwait(false);
        }
        _rejectedWith = null;
        var wasUser = _user;
        // The mechanism as offered, or "other" for what a client made up (a span attribute is no place for its text).
        var mechanism = arguments.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries) is [var name, ..]
            && _server.AuthMechanisms.FirstOrDefault(m => string.Equals(m, name, StringComparison.OrdinalIgnoreCase)) is { } known ? known : "other";
        span.SetTag("mail.auth.mechanism", mechanism);
        string? failure = null;
        try
        {
            return await AuthCoreAsync(arguments).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            failure = ex.GetType().Name;
            throw;
        }
        finally
        {
            // A success is a user where there was none: AUTH from a client logged in already is refused, not a success.
            var succeeded = wasUser is null && _user is not null;
            span.SetTag("mail.auth.outcome", succeeded ? "succeeded" : "failed");
            if (!succeeded)
            {
                span.SetTag("error.type", _rejectedWith?.ToString() ?? failure ?? "Failed");
                span.SetStatus(ActivityStatusCode.Error);
            }
        }
    }

    private async ValueTask<bool> AuthCoreAsync(string arguments)
    {
        if (_heloName is null || !_esmtp)
        {
            Reject(SmtpRejectReason.NeedHelo);
            return true;
        }
        if (_user is not null)
        {
            Reject(SmtpRejectReason.AlreadyAuthenticated);
            return true;
        }
        if (_transaction is not null)
        {
            Reject(SmtpRejectReason.AuthDuringTransaction);
            return true;
        }
        if (!AuthAllowed)
        {
            Reject(SmtpRejectReason.EncryptionRequiredForMechanism);
            return true;
        }
        var parts = arguments.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            Reject(SmtpRejectReason.SyntaxError);
            return true;
        }
        var name = parts[0];
        if (!_server.AuthMechanisms.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            Reject(SmtpRejectReason.UnknownMechanism);
            return true;
        }
        if (!SaslCommandExchange.TryParseInitialResponse(parts.Length == 2 ? parts[1] : null, out var initial))
        {
            Reject(SmtpRejectReason.AuthMalformed);
            return true;
        }
        // The attempt holds a slot of the address's failure budget until it ends, and of the login's once the mechanism
        // looks it up: through a directory that reserves it, and finds nobody for a login with no slot free (the secret
        // is then never checked).
        using var attempt = Options.RateLimits?.BeginAuth(Connection.RemoteEndPoint, null);
        if (attempt?.Refused is { } locked)
        {
            CountLoginAttempt(name.ToUpperInvariant(), "rate_limited");
            return await RateLimitedAuthAsync(locked).ConfigureAwait(false);
        }
        var users = attempt?.Guard(_server.Users);
        var mechanism = _server.Sasl.Create(name, new SaslContext(users ?? _server.Users, Options.ServerName, Connection.TimeProvider, Options.ScramUnknownUserKey, "smtp"));
        if (mechanism is null)
        {
            // Removed from the registry since the server was built.
            Reject(SmtpRejectReason.UnknownMechanism);
            return true;
        }

        // While set, a failing user directory is answered 454 (the session's catch reads and clears it).
        _authenticating = true;
        var result = await SaslCommandExchange.RunAsync(IO, mechanism, initial, s_challengePrefix, Options.IdleTimeout, cancellationToken: Connection.Aborted).ConfigureAwait(false);
        _authenticating = false;
        if (attempt is { LoginLockedOut: true } && result.Outcome is SaslExchangeOutcome.Succeeded or SaslExchangeOutcome.Failed or SaslExchangeOutcome.Malformed or SaslExchangeOutcome.Cancelled)
        {
            attempt!.Dispose();
            CountLoginAttempt(mechanism.Name, "rate_limited");
            return await RateLimitedAuthAsync(SessionRateLimit.AuthFailuresPerLogin).ConfigureAwait(false);
        }
        if (result.Outcome is SaslExchangeOutcome.Failed or SaslExchangeOutcome.Cancelled)
        {
            CountFailedLogin(attempt);
        }
        // Whatever was not counted is given back before the reply (and its delay).
        attempt?.Dispose();
        CountLoginAttempt(mechanism.Name, result.Outcome);
        switch (result.Outcome)
        {
            case SaslExchangeOutcome.Succeeded:
                _user = result.Step.User;
                SmtpLog.Authenticated(_logger, Connection.Id, Mail.Protocols.Telemetry.PersonalData.ForLog(_user!.Login), mechanism.Name);
                Write(SmtpReplies.AuthSucceeded);
                Success();
                return true;
            case SaslExchangeOutcome.Failed:
                SmtpLog.AuthenticationFailed(_logger, Connection.Id, mechanism.Name, result.Step.Error ?? "failed");
                return await FailAuthAsync(SmtpRejectReason.AuthFailed).ConfigureAwait(false);
            case SaslExchangeOutcome.Malformed:
                SmtpLog.AuthenticationFailed(_logger, Connection.Id, mechanism.Name, result.Step.Error ?? "failed");
                Reject(SmtpRejectReason.AuthMalformed);
                return true;
            case SaslExchangeOutcome.Cancelled:
                // A cancelled exchange costs what a failed one does: otherwise "*" after the server's first challenge
                // would be a free probe (SCRAM's salt for a login), repeatable without delay or limit.
                SmtpLog.AuthenticationFailed(_logger, Connection.Id, mechanism.Name, "cancelled");
                return await FailAuthAsync(SmtpRejectReason.AuthCancelled).ConfigureAwait(false);
            case SaslExchangeOutcome.InvalidBase64:
                Reject(SmtpRejectReason.AuthMalformed);
                return true;
            case SaslExchangeOutcome.AnswerTooLong:
                Reject(SmtpRejectReason.LineTooLong);
                return true;
            case SaslExchangeOutcome.TimedOut:
                SmtpLog.Timeout(_logger, Connection.Id, Connection.TimedOut);
                Write(_server.Replies.Timeout);
                return false;
            default:
                AbandonCommand(); // closed mid-exchange
                return false;
        }
    }

    private static readonly byte[] s_challengePrefix = "334 "u8.ToArray();

    // Slow down guessing: the reply waits (the session's other work waits with it), and a few failures end the
    // session however many good commands come between them.
    private async ValueTask<bool> FailAuthAsync(SmtpRejectReason reason)
    {
        var exhausted = await _authFailures.FailAsync(IO, Connection.Aborted).ConfigureAwait(false);
        Reject(reason);
        if (exhausted)
        {
            Write(_server.Replies.TooManyAuthFailures);
            return false;
        }
        return true;
    }

    // A login refused by a lock-out (SessionRateLimits) without its credentials checked: 454 4.7.0, after the same delay
    // as a failure and charged to the session's budget, so that hammering a locked-out login is slow here too.
    private async ValueTask<bool> RateLimitedAuthAsync(SessionRateLimit limit)
    {
        SmtpLog.RateLimited(_logger, Connection.Id, limit);
        CountRateLimited(limit);
        return await FailAuthAsync(SmtpRejectReason.AuthRateLimited).ConfigureAwait(false);
    }

    private async ValueTask<bool> StartTlsAsync(bool noArguments)
    {
        if (!noArguments)
        {
            Reject(SmtpRejectReason.SyntaxError);
            return true;
        }
        if (!Connection.CanStartTls)
        {
            Reject(Connection.IsSecure ? SmtpRejectReason.TlsAlreadyActive
                : Options.Tls is null ? SmtpRejectReason.NotImplemented
                : SmtpRejectReason.TlsNotAvailable);
            return true;
        }
        Write(SmtpReplies.ReadyToStartTls);
        // Anything the client sent after STARTTLS arrived in plaintext and must not be executed after the
        // handshake (the CVE-2011-0411 command-injection class): the session I/O drops it.
        if (!await StartTlsAsync(_logger).ConfigureAwait(false))
        {
            return false;
        }
        // RFC 3207 §4.2: forget everything learned before TLS, the client starts with EHLO again.
        _heloName = null;
        _esmtp = false;
        _user = null;
        ResetTransaction();
        return true;
    }
}
