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
    private bool _lineDeadlineArmed;
    private bool _inMessageData;
    private int _authFailures;
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
                Write(_server.Replies.ShuttingDown);
                await FlushAsync().ConfigureAwait(false);
                return;
            }
            Write(_server.Replies.Greeting);
            while (await ReadCommandAsync().ConfigureAwait(false) is { } command)
            {
                bool keepGoing;
                try
                {
                    keepGoing = await ExecuteAsync(command).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not (IOException or OperationCanceledException or ObjectDisposedException))
                {
                    // A failing policy, hook or backend costs this command, not the connection. Inside
                    // message data the position in the stream is unknown, so the session ends after the reply.
                    SmtpLog.CommandFailed(_logger, _connection.Id, ex);
                    Reject(ex is Storage.MailboxStoreException { Error: Storage.MailboxStoreError.InsufficientStorage }
                        ? SmtpRejectReason.StorageFull : SmtpRejectReason.StorageError);
                    keepGoing = !_inMessageData;
                    if (_inMessageData)
                    {
                        ResetTransaction();
                    }
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
                    Write(_server.Replies.TooManyErrors);
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
        // One deadline for the whole line, not one per read: a client dripping a byte at a time cannot
        // hold the session open longer than IdleTimeout per command.
        _lineDeadlineArmed = false;
        try
        {
            return await ReadLineCoreAsync(maxLength, allowShutdown).ConfigureAwait(false);
        }
        finally
        {
            _connection.ClearTimeout();
        }
    }

    private async ValueTask<(LineReadStatus Status, CommandLine Line)> ReadLineCoreAsync(int maxLength, bool allowShutdown)
    {
        while (true)
        {
            ReadResult result;
            if (_mustWaitForInput || !_input.TryRead(out result))
            {
                await FlushAsync().ConfigureAwait(false);
                if (allowShutdown && _connection.IsShutdownRequested && _transaction is null)
                {
                    Write(_server.Replies.ShuttingDown);
                    return (LineReadStatus.NeedMoreData, default);
                }
                if (!_lineDeadlineArmed)
                {
                    _connection.SetTimeout(Options.IdleTimeout, TimeoutReason.Idle);
                    _lineDeadlineArmed = true;
                }
                result = await _input.ReadAsync(_connection.Aborted).ConfigureAwait(false);
                _mustWaitForInput = false;
            }
            if (result.IsCanceled)
            {
                if (_connection.TimedOut != TimeoutReason.None)
                {
                    SmtpLog.Timeout(_logger, _connection.Id, _connection.TimedOut);
                    Write(_server.Replies.Timeout);
                    return (LineReadStatus.NeedMoreData, default);
                }
                if (allowShutdown && _connection.IsShutdownRequested && _transaction is null)
                {
                    Write(_server.Replies.ShuttingDown);
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
            return ValueTask.FromResult(true); // the caller sees the error count and sends 421
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
                Write(_server.Replies.Closing);
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
        var space = name.IndexOf((byte)' ');
        if (space >= 0)
        {
            name = name[..space]; // EHLO may be followed by junk some clients send; the name is the first word
        }
        if (name.IsEmpty)
        {
            WriteLine(extended ? "501 5.5.4 Syntax: EHLO hostname" : "501 5.5.4 Syntax: HELO hostname");
            _errors++;
            return;
        }
        // The name goes into the Received header: printable ASCII only, one header-safe word, bounded.
        if (name.Length > SmtpSyntax.MaxDomain || name.ContainsAnyExceptInRange((byte)'!', (byte)'~'))
        {
            Reject(SmtpRejectReason.BadHeloName);
            return;
        }
        // RFC 5321 §4.1.4: EHLO/HELO resets any transaction.
        ResetTransaction();
        _heloName = Encoding.ASCII.GetString(name);
        _esmtp = extended;
        Success();
        var remote = (_connection.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "unknown";
        if (!extended)
        {
            Write(_server.Replies.Helo);
            return;
        }
        Write(_server.Replies.EhloPrefix);
        WriteAscii(Sanitize(_heloName));
        Write(" ["u8);
        WriteAscii(remote);
        Write("]\r\n"u8);
        Write(_server.Replies.EhloExtensions(_connection.CanStartTls, AuthAllowed && _user is null));
    }

    private bool AuthAllowed => _connection.IsSecure || Options.AllowPlaintextAuth;

    private void ResetTransaction()
    {
        _transaction?.Dispose();
        _transaction = null;
    }

    // Replies

    private void Success() => _errors = 0;

    private void Reject(SmtpRejectReason reason, bool countsAsError = true)
    {
        if (countsAsError)
        {
            _errors++;
        }
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
            // A client that sends but never reads must not hold the session: the write gets a deadline too.
            _connection.SetWriteTimeout(Options.IdleTimeout);
            try
            {
                await _output.FlushAsync(_connection.Aborted).ConfigureAwait(false);
            }
            finally
            {
                _connection.ClearWriteTimeout();
            }
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
