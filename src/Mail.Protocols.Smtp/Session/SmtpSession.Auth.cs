using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Sasl;
using Mail.Protocols.Smtp.Protocol;
using Mail.Protocols.Smtp.Telemetry;
using Mail.Protocols.Telemetry;

namespace Mail.Protocols.Smtp.Session;

// AUTH (RFC 4954) and STARTTLS (RFC 3207).
internal sealed partial class SmtpSession
{
    // RFC 4954 §4: a server must accept AUTH lines of 12,288 octets.
    private const int MaxAuthLineLength = 12288;

    private bool _challengeKeepGoing = true;
    private bool _authCancelled;
    private bool _authenticating;

    private async ValueTask<bool> AuthAsync(string arguments)
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
        var offered = Options.AuthMechanisms.Any(m => string.Equals(m, name, StringComparison.OrdinalIgnoreCase));
        var mechanism = offered ? SaslMechanisms.Create(name, _server.Users, Options.ServerName, _connection.TimeProvider, Options.ScramUnknownUserKey) : null;
        if (mechanism is null)
        {
            Reject(SmtpRejectReason.UnknownMechanism);
            return true;
        }
        byte[]? initial = null;
        if (parts.Length == 2)
        {
            if (parts[1] == "=")
            {
                initial = [];
            }
            else if (!SaslExchange.TryDecodeBase64(parts[1], out initial))
            {
                Reject(SmtpRejectReason.AuthMalformed);
                return true;
            }
        }

        // While set, a failing user directory is answered 454 (the session's catch reads and clears it).
        _authenticating = true;
        var result = await SaslExchange.RunAsync(mechanism, initial, ChallengeAsync, _connection.Aborted).ConfigureAwait(false);
        _authenticating = false;
        if (result is not { } step)
        {
            if (!_authCancelled)
            {
                return _challengeKeepGoing;
            }
            // A cancelled exchange costs what a failed one does: otherwise "*" after the server's first challenge
            // would be a free probe (SCRAM's salt for a login), repeatable without delay or limit.
            _authCancelled = false;
            SmtpLog.AuthenticationFailed(_logger, _connection.Id, mechanism.Name, "cancelled");
            return await FailAuthAsync(SmtpRejectReason.AuthCancelled).ConfigureAwait(false);
        }
        if (step.Kind == SaslStepKind.Failure)
        {
            SmtpLog.AuthenticationFailed(_logger, _connection.Id, mechanism.Name, step.Error ?? "failed");
            if (step.IsMalformed)
            {
                Reject(SmtpRejectReason.AuthMalformed);
                return true;
            }
            return await FailAuthAsync(SmtpRejectReason.AuthFailed).ConfigureAwait(false);
        }
        _user = step.User;
        SmtpLog.Authenticated(_logger, _connection.Id, _user!.Login, mechanism.Name);
        Write(SmtpReplies.AuthSucceeded);
        Success();
        return true;
    }

    // Slow down guessing: the reply waits (the session's other work waits with it), and a few failures end the
    // session however many good commands come between them.
    private async ValueTask<bool> FailAuthAsync(SmtpRejectReason reason)
    {
        await FlushAsync().ConfigureAwait(false);
        await Task.Delay(Options.FailedAuthDelay, _connection.TimeProvider, _connection.Aborted).ConfigureAwait(false);
        Reject(reason);
        if (++_authFailures >= Options.MaxAuthFailures)
        {
            Write(_server.Replies.TooManyAuthFailures);
            return false;
        }
        return true;
    }

    /// <summary>Sends a 334 challenge and reads the answer; null when the exchange ended (the reply is written and
    /// <see cref="_challengeKeepGoing"/> says whether the session goes on).</summary>
    private async ValueTask<byte[]?> ChallengeAsync(byte[] challenge)
    {
        Write("334 "u8);
        WriteAscii(Convert.ToBase64String(challenge));
        Write("\r\n"u8);
        var outcome = await _io.ReadLineAsync(MaxAuthLineLength, Options.IdleTimeout, allowShutdown: false, TimeoutReason.Authentication).ConfigureAwait(false);
        _challengeKeepGoing = true;
        switch (outcome)
        {
            case LineReadOutcome.Line:
                break;
            case LineReadOutcome.TooLong:
                Reject(SmtpRejectReason.LineTooLong);
                return null;
            case LineReadOutcome.TimedOut:
                SmtpLog.Timeout(_logger, _connection.Id, _connection.TimedOut);
                Write(_server.Replies.Timeout);
                _challengeKeepGoing = false;
                return null;
            default:
                _challengeKeepGoing = false;
                return null;
        }
        var text = _io.Line;
        if (text.SequenceEqual("*"u8))
        {
            _authCancelled = true; // answered after the failed-auth delay (AuthAsync)
            return null;
        }
        if (!SaslExchange.TryDecodeBase64(Encoding.Latin1.GetString(text), out var response))
        {
            Reject(SmtpRejectReason.AuthMalformed);
            return null;
        }
        return response;
    }

    private async ValueTask<bool> StartTlsAsync(bool noArguments)
    {
        if (!noArguments)
        {
            Reject(SmtpRejectReason.SyntaxError);
            return true;
        }
        if (!_connection.CanStartTls)
        {
            Reject(_connection.IsSecure ? SmtpRejectReason.TlsAlreadyActive
                : Options.Tls is null ? SmtpRejectReason.NotImplemented
                : SmtpRejectReason.TlsNotAvailable);
            return true;
        }
        Write(SmtpReplies.ReadyToStartTls);
        // Anything the client sent after STARTTLS arrived in plaintext and must not be executed after the
        // handshake (the CVE-2011-0411 command-injection class): the session I/O drops it.
        var discarded = await _io.StartTlsAsync().ConfigureAwait(false);
        if (discarded is null)
        {
            return false;
        }
        if (discarded > 0)
        {
            _server.CoreMetrics.PipelinedPlaintextDiscarded("smtp", discarded.Value);
            _server.LogDiscarded(_connection.Id, discarded.Value);
        }
        // RFC 3207 §4.2: forget everything learned before TLS, the client starts with EHLO again.
        _heloName = null;
        _esmtp = false;
        _user = null;
        ResetTransaction();
        return true;
    }
}
