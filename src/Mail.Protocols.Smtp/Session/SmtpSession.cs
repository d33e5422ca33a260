using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Policy;
using Mail.Protocols.Smtp.Protocol;
using Mail.Protocols.Smtp.Telemetry;
using Mail.Protocols.Text;
using Mail.Protocols.Users;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Smtp.Session;

/// <summary>
/// One SMTP conversation. A single read loop parses one command line at a time from the connection's
/// PipeReader, executes it, and writes replies into the PipeWriter; output is flushed only when no further
/// complete command is buffered, so a PIPELINING batch gets its replies in one write.
/// </summary>
internal sealed partial class SmtpSession
{
    private readonly SmtpServerContext _server;
    private readonly MailConnection _connection;
    private readonly SmtpRole _role;
    private readonly ILogger _logger;
    private PipeReader _input;
    private PipeWriter _output;
    private LineReader _lineReader;
    private bool _mustWaitForInput;
    private int _errors;

    private string? _heloName;
    private bool _esmtp;
    private MailUser? _user;
    private Transaction? _transaction;

    public SmtpSession(SmtpServerContext server, MailConnection connection, SmtpRole role)
    {
        _server = server;
        _connection = connection;
        _role = role;
        _logger = server.Logger;
        _input = connection.Transport.Input;
        _output = connection.Transport.Output;
    }

    private SmtpServerOptions Options => _server.Options;

    private PolicyContext PolicyContext => new(_connection.RemoteEndPoint as IPEndPoint, _user, _role == SmtpRole.Submission, _connection.IsSecure);

    private SmtpSessionInfo SessionInfo => new(_connection.Id, _connection.RemoteEndPoint, _role, _heloName, _connection.IsSecure, _user);

    public async Task RunAsync()
    {
        SmtpMetrics.SessionStarted();
        var started = _connection.TimeProvider.GetTimestamp();
        try
        {
            if (_connection.IsShutdownRequested)
            {
                WriteLine($"421 4.3.2 {Options.ServerName} Service shutting down");
                await FlushAsync().ConfigureAwait(false);
                return;
            }
            WriteLine($"220 {Options.ServerName} ESMTP");
            while (await ReadCommandAsync().ConfigureAwait(false) is { } command)
            {
                bool keepGoing;
                try
                {
                    keepGoing = await ExecuteAsync(command).ConfigureAwait(false);
                }
                finally
                {
                    command.Return();
                }
                if (!keepGoing)
                {
                    break;
                }
                if (_errors >= Options.MaxErrors)
                {
                    SmtpLog.TooManyErrors(_logger, _connection.Id);
                    WriteLine($"421 4.7.0 {Options.ServerName} Error: too many errors");
                    break;
                }
            }
            await FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The peer went away or the connection was aborted: nothing half-received is kept (the spool is disposed).
            SmtpLog.ConnectionLost(_logger, _connection.Id, ex.Message);
        }
        finally
        {
            _transaction?.Dispose();
            SmtpMetrics.SessionEnded(_connection.TimeProvider.GetElapsedTime(started));
        }
    }

    /// <summary>
    /// Reads the next command line. Returns null when the session must end (client closed, timeout or
    /// shutdown; the farewell reply is already written). An over-long line is answered here and skipped.
    /// </summary>
    private async ValueTask<CommandLine?> ReadCommandAsync()
    {
        while (true)
        {
            var (status, line) = await ReadLineAsync(Options.MaxCommandLineLength, allowShutdown: true).ConfigureAwait(false);
            switch (status)
            {
                case LineReadStatus.Line:
                    return line;
                case LineReadStatus.TooLong:
                    Reject(SmtpRejectReason.LineTooLong);
                    if (_errors >= Options.MaxErrors)
                    {
                        return CommandLine.Empty; // the caller sends 421
                    }
                    continue;
                default:
                    return null;
            }
        }
    }

    /// <summary>
    /// Reads one line of at most <paramref name="maxLength"/> octets. <see cref="LineReadStatus.NeedMoreData"/>
    /// means the session must end (closed, timed out or shut down; any farewell is written).
    /// </summary>
    private async ValueTask<(LineReadStatus Status, CommandLine Line)> ReadLineAsync(int maxLength, bool allowShutdown)
    {
        while (true)
        {
            ReadResult result;
            if (_mustWaitForInput || !_input.TryRead(out result))
            {
                await FlushAsync().ConfigureAwait(false);
                if (allowShutdown && _connection.IsShutdownRequested && _transaction is null)
                {
                    WriteLine($"421 4.3.2 {Options.ServerName} Service shutting down");
                    return (LineReadStatus.NeedMoreData, default);
                }
                _connection.SetTimeout(Options.IdleTimeout, TimeoutReason.Idle);
                result = await _input.ReadAsync(_connection.Aborted).ConfigureAwait(false);
                _connection.ClearTimeout();
                _mustWaitForInput = false;
            }
            if (result.IsCanceled)
            {
                if (_connection.TimedOut != TimeoutReason.None)
                {
                    SmtpLog.Timeout(_logger, _connection.Id, _connection.TimedOut);
                    WriteLine($"421 4.4.2 {Options.ServerName} Error: timeout exceeded");
                    return (LineReadStatus.NeedMoreData, default);
                }
                if (allowShutdown && _connection.IsShutdownRequested && _transaction is null)
                {
                    WriteLine($"421 4.3.2 {Options.ServerName} Service shutting down");
                    return (LineReadStatus.NeedMoreData, default);
                }
                continue;
            }

            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            var status = _lineReader.TryReadLine(ref reader, maxLength, out var line);
            switch (status)
            {
                case LineReadStatus.Line:
                    var command = CommandLine.Create(line);
                    _input.AdvanceTo(reader.Position);
                    return (status, command);
                case LineReadStatus.TooLong:
                    _input.AdvanceTo(reader.Position);
                    return (status, default);
                default:
                    _input.AdvanceTo(reader.Position, buffer.End);
                    if (result.IsCompleted)
                    {
                        if (!buffer.IsEmpty || _transaction is not null)
                        {
                            SmtpLog.ClosedMidCommand(_logger, _connection.Id);
                        }
                        return (LineReadStatus.NeedMoreData, default);
                    }
                    _mustWaitForInput = true;
                    continue;
            }
        }
    }

    /// <summary>Executes one command. Returns false to end the session.</summary>
    private ValueTask<bool> ExecuteAsync(CommandLine command)
    {
        if (command.IsEmpty)
        {
            return ValueTask.FromResult(_errors < Options.MaxErrors);
        }
        var verb = SmtpVerbs.Parse(command.Span, out var arguments);
        SmtpMetrics.Command(verb);
        switch (verb)
        {
            case SmtpVerb.Ehlo:
                Ehlo(arguments, extended: true);
                break;
            case SmtpVerb.Helo:
                Ehlo(arguments, extended: false);
                break;
            case SmtpVerb.Mail:
                return MailAsync(command.Span.Length - arguments.Length, command);
            case SmtpVerb.Rcpt:
                return RcptAsync(command.Span.Length - arguments.Length, command);
            case SmtpVerb.Data:
                return DataAsync(arguments.IsEmpty);
            case SmtpVerb.Bdat:
                return BdatAsync(arguments.ToArray());
            case SmtpVerb.Rset:
                if (!arguments.IsEmpty)
                {
                    Reject(SmtpRejectReason.SyntaxError);
                    break;
                }
                ResetTransaction();
                Write(SmtpReplies.Ok);
                Success();
                break;
            case SmtpVerb.Noop:
                Write(SmtpReplies.Ok);
                Success();
                break;
            case SmtpVerb.Quit:
                WriteLine($"221 2.0.0 {Options.ServerName} closing connection");
                return ValueTask.FromResult(false);
            case SmtpVerb.Help:
                Write(SmtpReplies.Help);
                Success();
                break;
            case SmtpVerb.Vrfy:
                return VrfyAsync(command.Span.Length - arguments.Length, command);
            case SmtpVerb.Expn:
            case SmtpVerb.Verb:
                Reject(SmtpRejectReason.NotImplemented);
                break;
            case SmtpVerb.Auth:
                return AuthAsync(Encoding.ASCII.GetString(arguments));
            case SmtpVerb.StartTls:
                return StartTlsAsync(arguments.IsEmpty);
            default:
                Reject(SmtpRejectReason.UnknownCommand);
                break;
        }
        return ValueTask.FromResult(true);
    }

    private void Ehlo(ReadOnlySpan<byte> arguments, bool extended)
    {
        var name = arguments.Trim((byte)' ');
        if (name.IsEmpty || name.IndexOf((byte)' ') >= 0 && !extended)
        {
            WriteLine(extended ? "501 5.5.4 Syntax: EHLO hostname" : "501 5.5.4 Syntax: HELO hostname");
            _errors++;
            return;
        }
        // RFC 5321 §4.1.4: EHLO/HELO resets any transaction.
        ResetTransaction();
        _heloName = Encoding.UTF8.GetString(name.IndexOf((byte)' ') is var sp and >= 0 ? name[..sp] : name);
        _esmtp = extended;
        Success();
        var remote = (_connection.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "unknown";
        if (!extended)
        {
            WriteLine($"250 {Options.ServerName}");
            return;
        }
        var builder = new StringBuilder(256);
        builder.Append(CultureInfo.InvariantCulture, $"250-{Options.ServerName} greets {Sanitize(_heloName)} [{remote}]\r\n");
        builder.Append("250-PIPELINING\r\n");
        builder.Append(CultureInfo.InvariantCulture, $"250-SIZE {Options.MaxMessageSize}\r\n");
        builder.Append("250-8BITMIME\r\n");
        builder.Append("250-BINARYMIME\r\n");
        builder.Append("250-CHUNKING\r\n");
        builder.Append("250-ENHANCEDSTATUSCODES\r\n");
        builder.Append("250-DSN\r\n");
        builder.Append("250-SMTPUTF8\r\n");
        if (_connection.CanStartTls)
        {
            builder.Append("250-STARTTLS\r\n");
        }
        if (AuthAllowed && _user is null && Options.AuthMechanisms.Count > 0)
        {
            builder.Append("250-AUTH ").AppendJoin(' ', Options.AuthMechanisms).Append("\r\n");
        }
        builder.Append("250 HELP\r\n");
        WriteAscii(builder.ToString());
    }

    private bool AuthAllowed => _connection.IsSecure || Options.AllowPlaintextAuth;

    private void ResetTransaction()
    {
        _transaction?.Dispose();
        _transaction = null;
    }

    // Replies

    private void Success() => _errors = 0;

    private void Reject(SmtpRejectReason reason)
    {
        _errors++;
        SmtpMetrics.Rejected(reason);
        Write(SmtpReplies.For(reason));
    }

    private void RejectWith(PolicyRejection rejection)
    {
        _errors++;
        WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rejection.Code} {rejection.EnhancedCode} {Sanitize(rejection.Text)}"));
    }

    private void RejectWith(SmtpReply reply) => RejectWith(new PolicyRejection(reply.Code, reply.EnhancedCode, reply.Text));

    private void Write(ReadOnlySpan<byte> reply) => _output.Write(reply);

    private void WriteLine(string line)
    {
        WriteAscii(line);
        Write("\r\n"u8);
    }

    private void WriteAscii(string text)
    {
        var span = _output.GetSpan(text.Length);
        var n = Encoding.ASCII.GetBytes(text, span);
        _output.Advance(n);
    }

    private async ValueTask FlushAsync()
    {
        if (_output.UnflushedBytes > 0)
        {
            await _output.FlushAsync(_connection.Aborted).ConfigureAwait(false);
        }
    }

    // Reply text must stay on one line of printable ASCII.
    private static string Sanitize(string text)
    {
        foreach (var c in text)
        {
            if (c is < ' ' or > '~')
            {
                return string.Create(text.Length, text, static (span, t) =>
                {
                    for (var i = 0; i < t.Length; i++)
                    {
                        span[i] = t[i] is < ' ' or > '~' ? '?' : t[i];
                    }
                });
            }
        }
        return text;
    }

    /// <summary>A command line copied out of the pipe so the pipe can advance while the command runs.</summary>
    private readonly struct CommandLine
    {
        private readonly byte[]? _buffer;
        private readonly int _length;

        private CommandLine(byte[] buffer, int length)
        {
            _buffer = buffer;
            _length = length;
        }

        public static CommandLine Empty => default;

        public bool IsEmpty => _buffer is null;

        public ReadOnlySpan<byte> Span => _buffer is null ? default : _buffer.AsSpan(0, _length);

        public static CommandLine Create(in ReadOnlySequence<byte> line)
        {
            // Pooled: a steady stream of commands allocates nothing here. Returned in ExecuteAsync's caller.
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(16, (int)line.Length));
            line.CopyTo(buffer);
            return new CommandLine(buffer, (int)line.Length);
        }

        public void Return()
        {
            if (_buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
            }
        }
    }
}
