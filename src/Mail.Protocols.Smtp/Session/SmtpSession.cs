using System.Runtime.CompilerServices;
using System.Globalization;
using System.Net;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Policy;
using Mail.Protocols.RateLimits;
using Mail.Protocols.Sasl;
using Mail.Protocols.Smtp.Protocol;
using Mail.Protocols.Smtp.Telemetry;
using Mail.Protocols.Users;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Smtp.Session;

/// <summary>
/// One SMTP conversation. A single read loop takes one command line at a time from the
/// <see cref="SessionIO"/>, executes it and writes the reply; the session I/O flushes only when no further
/// complete command is buffered, so a PIPELINING batch gets its replies in one write.
/// </summary>
internal sealed partial class SmtpSession : CommandSession
{
    private readonly SmtpServerContext _server;
    private readonly SmtpRole _role;
    private readonly ILogger _logger;
    private bool _inMessageData;
    private bool _hookEndedSession;
    // The command running now, counted when it has been answered (OnCommandEnded).
    private SmtpVerb? _commandVerb;
    private readonly AuthFailureBudget _authFailures;

    private string? _heloName;
    private bool _esmtp;
    private MailUser? _user;
    private Transaction? _transaction;
    // For the transaction's span: the last refusal, and whether the message of the transaction ending now was stored.
    private SmtpRejectReason? _rejectedWith;
    private bool _messageStored;
    private PolicyContext? _policyContext;
    private SmtpSessionInfo? _sessionInfo;
    private byte[]? _receivedPrefix;
    private string? _receivedPrefixHelo;

    public SmtpSession(SmtpServerContext server, MailConnection connection, SmtpRole role)
        : base(server.Server, connection, server.Options.MaxErrors, server.Options.IdleTimeout)
    {
        _server = server;
        _role = role;
        _logger = server.Logger;
        _authFailures = new AuthFailureBudget(server.Options.FailedAuthDelay, server.Options.MaxAuthFailures, connection.TimeProvider);
    }

    private SmtpServerOptions Options => _server.Options;

    // Built once per state (they change only with HELO, AUTH and STARTTLS), not once per command.
    private PolicyContext PolicyContext =>
        _policyContext is { } c && c.AuthenticatedUser == _user && c.IsSecure == Connection.IsSecure
            ? c
            : _policyContext = new(Connection.RemoteEndPoint as IPEndPoint, _user, _role == SmtpRole.Submission, Connection.IsSecure);

    private SmtpSessionInfo SessionInfo =>
        _sessionInfo is { } i && i.AuthenticatedUser == _user && i.IsSecure == Connection.IsSecure && ReferenceEquals(i.HeloName, _heloName)
            ? i
            : _sessionInfo = new(Connection.Id, Connection.RemoteEndPoint, _role, _heloName, Connection.IsSecure, _user, Connection.LocalEndPoint);

    // The application's hooks, or null when none are set (the calls are skipped).
    private SmtpHooks? Hooks => ReferenceEquals(Options.Hooks, SmtpHooks.None) ? null : Options.Hooks;

    protected override void OnStarted() => _server.Metrics.SessionStarted();

    protected override void WriteGreeting() => Write(_server.Replies.Greeting);

    // Connections per client address (SessionRateLimits): 421 4.7.0 instead of the greeting, then close.
    protected override bool RefuseAtConnect()
    {
        if (AcceptConnection(Options.RateLimits))
        {
            return false;
        }
        SmtpLog.RateLimited(_logger, Connection.Id, SessionRateLimit.ConnectionsPerAddress);
        Reject(SmtpRejectReason.ConnectionRateLimited, countsAsError: false);
        return true;
    }

    protected override void WriteShuttingDown() => Write(_server.Replies.ShuttingDown);

    // A shutdown waits for a transaction in progress to finish.
    protected override ValueTask<LineReadOutcome> ReadCommandAsync() =>
        IO.ReadLineAsync(Options.MaxCommandLineLength, Options.IdleTimeout, allowShutdown: _transaction is null);

    protected override void OnLineTooLong() => Reject(SmtpRejectReason.LineTooLong);

    protected override void OnTimedOut()
    {
        SmtpLog.Timeout(_logger, Connection.Id, Connection.TimedOut);
        if (Connection.TimedOut == TimeoutReason.MinimumDataRate)
        {
            _server.Metrics.Rejected(SmtpRejectReason.DataRateTooLow);
            Write(_server.Replies.DataRateTooLow);
            return;
        }
        Write(_server.Replies.Timeout);
    }

    protected override void OnClosedByClient()
    {
        if (_transaction is not null)
        {
            SmtpLog.ClosedMidCommand(_logger, Connection.Id);
        }
    }

    protected override bool OnCommandFailed(Exception exception)
    {
        // A failing policy, hook or backend costs this command. Inside message data the position in the stream is
        // unknown, so the session ends after the reply.
        SmtpLog.CommandFailed(_logger, Connection.Id, exception);
        Reject(_authenticating ? SmtpRejectReason.AuthTemporaryFailure
            : exception is Storage.MailboxStoreException { Error: Storage.MailboxStoreError.InsufficientStorage } ? SmtpRejectReason.StorageFull
            : exception is Storage.MailboxStoreException { Error: Storage.MailboxStoreError.MailboxFull } ? SmtpRejectReason.MailboxFull
            : SmtpRejectReason.StorageError);
        _authenticating = false;
        if (_inMessageData)
        {
            ResetTransaction();
            return false;
        }
        return true;
    }

    protected override void OnErrorBudgetSpent()
    {
        SmtpLog.TooManyErrors(_logger, Connection.Id);
        Write(_server.Replies.TooManyErrors);
    }

    // The peer went away or the connection was aborted: nothing half-received is kept (the spool is disposed).
    protected override void OnConnectionLost(Exception exception) => SmtpLog.ConnectionLost(_logger, Connection.Id, exception.Message);

    protected override void OnEnded(TimeSpan duration)
    {
        _transaction?.Dispose();
        _server.Metrics.SessionEnded(duration);
    }

    // The error.type of a command refused by the recipient policy (VRFY and EXPN included) or a hook's reply rather than
    // one of the engine's own refusals (SmtpRejectReason).
    private const string PolicyRefusal = "Policy";

    protected override void OnCommandEnded(string? refusal)
    {
        if (_commandVerb is { } verb)
        {
            _server.Metrics.Command(verb, refusal);
            _commandVerb = null;
        }
    }

    /// <summary>Executes one command. Returns false to end the session.</summary>
    protected override ValueTask<bool> ExecuteAsync()
    {
        var line = IO.Line;
        var verb = SmtpVerbs.Parse(line, out var arguments);
        _commandVerb = verb;
        switch (verb)
        {
            case SmtpVerb.Ehlo:
                Ehlo(arguments, extended: true);
                break;
            case SmtpVerb.Helo:
                Ehlo(arguments, extended: false);
                break;
            case SmtpVerb.Mail:
                return MailAsync(line.Length - arguments.Length);
            case SmtpVerb.Rcpt:
                return RcptAsync(line.Length - arguments.Length);
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
                Help(arguments);
                break;
            case SmtpVerb.Vrfy:
                return QueryAsync(line.Length - arguments.Length, expand: false);
            case SmtpVerb.Expn:
                return QueryAsync(line.Length - arguments.Length, expand: true);
            case SmtpVerb.Verb:
                Verb(arguments.IsEmpty);
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
            Reject(extended ? SmtpRejectReason.EhloWithoutName : SmtpRejectReason.HeloWithoutName);
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
        if (!extended)
        {
            Write(_server.Replies.Helo);
            return;
        }
        Write(_server.Replies.EhloPrefix);
        WriteAscii(Sanitize(_heloName));
        Write(" ["u8);
        if ((Connection.RemoteEndPoint as IPEndPoint)?.Address is { } address && address.TryFormat(IO.Output.GetSpan(64), out var written))
        {
            IO.Output.Advance(written);
        }
        else
        {
            Write("unknown"u8);
        }
        Write("]\r\n"u8);
        Write(_server.Replies.EhloExtensions(Connection.CanStartTls, AuthAllowed && _user is null));
    }

    private bool AuthAllowed => Connection.IsSecure || Options.AllowPlaintextAuth;

    private void ResetTransaction()
    {
        _transaction?.Dispose();
        _transaction = null;
    }

    // Replies

    private void Reject(SmtpRejectReason reason, bool countsAsError = true)
    {
        _rejectedWith = reason;
        MarkCommandRefused(reason.ToString());
        if (countsAsError)
        {
            CountError();
        }
        _server.Metrics.Rejected(reason);
        Write(SmtpReplies.For(reason));
    }

    private void RejectWith(PolicyRejection rejection)
    {
        MarkCommandRefused(PolicyRefusal);
        CountError();
        WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rejection.Code} {rejection.EnhancedCode} {Sanitize(rejection.Text)}"));
    }

    private void RejectWith(SmtpReply reply) => RejectWith(new PolicyRejection(reply.Code, reply.EnhancedCode, reply.Text));

    // A hook's refusal; false when it ends the session: a 421 closes the channel after the reply (RFC 5321 §3.8), and
    // SmtpReply.DropConnection closes it without one (what a test server does to look like a network failure).
    private bool ReplyFromHook(SmtpReply reply)
    {
        if (ReferenceEquals(reply, SmtpReply.DropConnection))
        {
            SmtpLog.HookEndedSession(_logger, Connection.Id, "connection dropped without a reply");
            ResetTransaction();
            Connection.Abort();
            _hookEndedSession = true;
            return false;
        }
        RejectWith(reply);
        if (reply.Code == 421)
        {
            SmtpLog.HookEndedSession(_logger, Connection.Id, "421");
            ResetTransaction();
            _hookEndedSession = true;
        }
        return !_hookEndedSession;
    }

    private void Write(ReadOnlySpan<byte> reply) => IO.Write(reply);

    private void WriteLine(string line) => IO.WriteLine(line);

    private void WriteAscii(string text) => IO.WriteAscii(text);

    private ValueTask FlushAsync() => IO.FlushAsync();

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
}
