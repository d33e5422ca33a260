using System.Buffers;
using System.Text;
using Mail.Protocols.Sasl;
using Mail.Protocols.Smtp.Protocol;
using Mail.Protocols.Smtp.Telemetry;
using Mail.Protocols.Telemetry;
using Mail.Protocols.Text;

namespace Mail.Protocols.Smtp.Session;

// AUTH (RFC 4954) and STARTTLS (RFC 3207).
internal sealed partial class SmtpSession
{
    // RFC 4954 §4: a server must accept AUTH lines of 12,288 octets.
    private const int MaxAuthLineLength = 12288;

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
        var mechanism = offered ? SaslMechanisms.Create(name, _server.Users, Options.ServerName, _connection.TimeProvider) : null;
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
            else if (!TryDecodeBase64(parts[1], out initial))
            {
                Reject(SmtpRejectReason.AuthMalformed);
                return true;
            }
        }

        var step = await mechanism.StartAsync(initial, _connection.Aborted).ConfigureAwait(false);
        while (step.Kind == SaslStepKind.Challenge)
        {
            var (response, keepGoing) = await ChallengeAsync(step.Data!).ConfigureAwait(false);
            if (response is null)
            {
                return keepGoing;
            }
            step = await mechanism.StepAsync(response, _connection.Aborted).ConfigureAwait(false);
        }
        if (step.Kind == SaslStepKind.Failure)
        {
            SmtpLog.AuthenticationFailed(_logger, _connection.Id, mechanism.Name, step.Error ?? "failed");
            if (step.IsMalformed)
            {
                Reject(SmtpRejectReason.AuthMalformed);
                return true;
            }
            // Slow down guessing: the reply waits (the session's other work waits with it), and a few
            // failures end the session however many good commands come between them.
            await FlushAsync().ConfigureAwait(false);
            await Task.Delay(Options.FailedAuthDelay, _connection.TimeProvider, _connection.Aborted).ConfigureAwait(false);
            Reject(SmtpRejectReason.AuthFailed);
            if (++_authFailures >= Options.MaxAuthFailures)
            {
                Write(_server.Replies.TooManyAuthFailures);
                return false;
            }
            return true;
        }
        if (step.Data is { } serverFinal)
        {
            // RFC 4954 §4: additional data with success goes in a 334 the client answers with an empty line.
            var (response, keepGoing) = await ChallengeAsync(serverFinal).ConfigureAwait(false);
            if (response is null)
            {
                return keepGoing;
            }
        }
        _user = step.User;
        SmtpLog.Authenticated(_logger, _connection.Id, _user!.Login, mechanism.Name);
        Write(SmtpReplies.AuthSucceeded);
        Success();
        return true;
    }

    /// <summary>Sends a 334 challenge and reads the answer. A null response means the exchange ended (the reply is written).</summary>
    private async ValueTask<(byte[]? Response, bool KeepGoing)> ChallengeAsync(byte[] challenge)
    {
        Write("334 "u8);
        WriteAscii(Convert.ToBase64String(challenge));
        Write("\r\n"u8);
        var (status, line) = await ReadLineAsync(MaxAuthLineLength, allowShutdown: false).ConfigureAwait(false);
        try
        {
            switch (status)
            {
                case LineReadStatus.TooLong:
                    Reject(SmtpRejectReason.LineTooLong);
                    return (null, true);
                case LineReadStatus.NeedMoreData:
                    return (null, false);
            }
            var text = line.Span;
            if (text.SequenceEqual("*"u8))
            {
                Reject(SmtpRejectReason.AuthCancelled);
                return (null, true);
            }
            if (!TryDecodeBase64(Encoding.Latin1.GetString(text), out var response))
            {
                Reject(SmtpRejectReason.AuthMalformed);
                return (null, true);
            }
            return (response, true);
        }
        finally
        {
            line.Return();
        }
    }

    // RFC 4954 §4: characters outside the base64 alphabet are rejected, not skipped (Convert would skip spaces).
    private static bool TryDecodeBase64(string text, out byte[] data)
    {
        data = [];
        if (text.Length == 0)
        {
            return true;
        }
        if (text.Length % 4 != 0)
        {
            return false;
        }
        var padding = text.EndsWith("==", StringComparison.Ordinal) ? 2 : text.EndsWith('=') ? 1 : 0;
        for (var i = 0; i < text.Length - padding; i++)
        {
            if (!char.IsAsciiLetterOrDigit(text[i]) && text[i] is not ('+' or '/'))
            {
                return false;
            }
        }
        var buffer = new byte[text.Length / 4 * 3];
        if (!Convert.TryFromBase64String(text, buffer, out var written))
        {
            return false;
        }
        data = buffer[..written];
        return true;
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
        await FlushAsync().ConfigureAwait(false);

        // Anything the client sent after STARTTLS arrived in plaintext and must not be executed after the
        // handshake (the CVE-2011-0411 command-injection class): drop it.
        if (_input.TryRead(out var pending))
        {
            if (!pending.Buffer.IsEmpty)
            {
                CoreMetrics.PipelinedPlaintextDiscarded("smtp", pending.Buffer.Length);
                _server.LogDiscarded(_connection.Id, pending.Buffer.Length);
            }
            _input.AdvanceTo(pending.Buffer.End);
        }
        if (!await _connection.StartTlsAsync(_connection.Aborted).ConfigureAwait(false))
        {
            return false;
        }
        _input = _connection.Transport.Input;
        _output = _connection.Transport.Output;
        _lineReader = default;
        _mustWaitForInput = false;
        // RFC 3207 §4.2: forget everything learned before TLS, the client starts with EHLO again.
        _heloName = null;
        _esmtp = false;
        _user = null;
        ResetTransaction();
        return true;
    }
}
