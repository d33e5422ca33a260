using System.Buffers;
using Mail.Protocols.Text;
using System.Globalization;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Pop3.Protocol;
using Mail.Protocols.Pop3.Telemetry;
using Mail.Protocols.Sasl;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Pop3.Session;

/// <summary>
/// One POP3 conversation (RFC 1939): AUTHORIZATION until a login succeeds, then TRANSACTION over the
/// INBOX as it was at login, then UPDATE on QUIT, where deletions are committed. A dropped connection
/// commits nothing.
/// </summary>
internal sealed partial class Pop3Session : CommandSession
{
    private const string Inbox = "INBOX";
    private readonly Pop3ServerContext _server;
    private readonly ILogger _logger;
    private readonly string? _apopTimestamp;
    private readonly AuthFailureBudget _authFailures;
    private bool _utf8;
    // The command running now, counted when it has been answered (OnCommandEnded).
    private Pop3Verb? _commandVerb;
    private string? _pendingUser;

    // TRANSACTION state: the maildrop as listed at login.
    private MailUser? _user;
    private IDisposable? _lock;
    private IReadOnlyList<MessageInfo> _messages = [];
    private bool[] _deleted = [];
    private bool[] _retrieved = [];
    private uint _uidValidity;
    private string[]? _uidls;

    // Set while a RETR/TOP body is being sent: a failure then cannot be answered with -ERR.
    private bool _sendingMessage;

    public Pop3Session(Pop3ServerContext server, MailConnection connection)
        : base(server.Server, connection, server.Options.MaxErrors, server.Options.IdleTimeout)
    {
        _server = server;
        _authFailures = new AuthFailureBudget(server.Options.FailedAuthDelay, server.Options.MaxAuthFailures, connection.TimeProvider);
        _logger = server.Logger;
        // APOP's timestamp only where APOP can be accepted in this session: at once, or after STLS. A greeting that
        // offered it where the login will be refused would draw the digest out in plaintext for nothing.
        if (server.Options.EnableApop && server.Users.HasSharedSecrets && (connection.IsSecure || connection.CanStartTls || server.Options.AllowPlaintextAuth))
        {
            // RFC 1939 §7: a unique msg-id style timestamp per greeting.
            _apopTimestamp = string.Create(CultureInfo.InvariantCulture,
                $"<{Environment.ProcessId}.{Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6))}.{connection.TimeProvider.GetUtcNow().ToUnixTimeSeconds()}@{server.Options.ServerName}>");
        }
    }

    private Pop3ServerOptions Options => _server.Options;

    private bool InTransaction => _user is not null;

    protected override void OnStarted() => _server.Metrics.SessionStarted();

    protected override void WriteGreeting() =>
        IO.WriteLine(_apopTimestamp is null ? $"+OK {Options.ServerName} POP3 ready" : $"+OK {Options.ServerName} POP3 ready {_apopTimestamp}");

    protected override void WriteShuttingDown() => IO.Write(Pop3Replies.ShuttingDown);

    // Connections per client address (SessionRateLimits): -ERR [SYS/TEMP] instead of the greeting, then close.
    protected override bool RefuseAtConnect()
    {
        if (AcceptConnection(Options.RateLimits))
        {
            return false;
        }
        Pop3Log.RateLimited(_logger, Connection.Id, RateLimits.SessionRateLimit.ConnectionsPerAddress);
        _server.Metrics.Rejected(Pop3RejectReason.ConnectionRateLimited);
        IO.Write(Pop3Replies.For(Pop3RejectReason.ConnectionRateLimited));
        return true;
    }

    protected override ValueTask<LineReadOutcome> ReadCommandAsync() => IO.ReadLineAsync(Options.MaxCommandLineLength, Options.IdleTimeout);

    protected override void OnLineTooLong() => Error(Pop3RejectReason.LineTooLong);

    // RFC 1939 §3: an idle session is closed without a response and without removing messages.
    protected override void OnTimedOut() => Pop3Log.Timeout(_logger, Connection.Id);

    protected override bool OnCommandFailed(Exception exception)
    {
        Pop3Log.StoreFailed(_logger, Connection.Id, exception);
        // Part of a message is out: ending the reply with "." would pass a cut-off message for a whole one, so the
        // connection closes instead (and commits no deletion).
        if (_sendingMessage)
        {
            MarkCommandRefused(nameof(Pop3RejectReason.MailboxUnavailable)); // cut off: counted as the failure it was
            return false;
        }
        Error(Pop3RejectReason.MailboxUnavailable);
        return true;
    }

    // Error() answered the last error with the closing line already.
    protected override void OnErrorBudgetSpent()
    {
    }

    protected override void OnConnectionLost(Exception exception) => Pop3Log.ConnectionLost(_logger, Connection.Id, exception.Message);

    protected override void OnEnded(TimeSpan duration)
    {
        _lock?.Dispose();
        _server.Metrics.SessionEnded(duration);
    }

    // The logins and the commands that read or change the maildrop run in a span while something listens.
    protected override ValueTask<bool> ExecuteAsync()
    {
        if (!Pop3Tracing.Source.HasListeners())
        {
            return Execute();
        }
        var verb = Pop3Verbs.Parse(IO.Line, out _);
        if (verb is not (Pop3Verb.Pass or Pop3Verb.Apop or Pop3Verb.Auth or Pop3Verb.Retr or Pop3Verb.Top or Pop3Verb.Quit)
            || StartCommandSpan(Pop3Tracing.Source, SpanNames[(int)verb]) is not { } span)
        {
            return Execute();
        }
        span.SetTag("mail.pop3.command", verb.ToString().ToUpperInvariant());
        ValueTask<bool> command;
        try
        {
            command = Execute();
        }
        catch (Exception ex)
        {
            FailCommandSpan(ex);
            throw;
        }
        return EndCommandSpan(command);
    }

    protected override void OnCommandEnded(string? refusal)
    {
        if (_commandVerb is { } verb)
        {
            _server.Metrics.Command(verb, refusal);
            _commandVerb = null;
        }
    }

    private static readonly string[] SpanNames = [.. Enum.GetValues<Pop3Verb>().Select(v => "POP3 " + v.ToString().ToUpperInvariant())];

    private ValueTask<bool> Execute()
    {
        var line = IO.Line;
        var verb = Pop3Verbs.Parse(line, out var arguments);
        _commandVerb = verb;
        // RFC 1939, 2449, 2595 and 6856 give these "Arguments: none".
        if (!arguments.IsEmpty && verb is Pop3Verb.Capa or Pop3Verb.Stat or Pop3Verb.Rset or Pop3Verb.Noop or Pop3Verb.Quit or Pop3Verb.Stls or Pop3Verb.Utf8)
        {
            Error(Pop3RejectReason.TakesNoArguments);
            return ValueTask.FromResult(true);
        }
        if (InTransaction)
        {
            return ExecuteTransactionAsync(verb, arguments);
        }
        switch (verb)
        {
            case Pop3Verb.Capa:
                Capabilities();
                return ValueTask.FromResult(true);
            case Pop3Verb.User:
                User(arguments);
                return ValueTask.FromResult(true);
            case Pop3Verb.Pass:
                return PassAsync(DecodeText(arguments));
            case Pop3Verb.Apop:
                return ApopAsync(DecodeText(arguments));
            case Pop3Verb.Auth:
                return AuthAsync(Encoding.ASCII.GetString(arguments));
            case Pop3Verb.Stls:
                return StartTlsAsync(); // arguments were refused above
            case Pop3Verb.Utf8:
                // RFC 6856 §2: enables UTF-8 user names and passwords; the content is sent as stored.
                _utf8 = true;
                IO.Write("+OK UTF8 enabled\r\n"u8);
                Success();
                return ValueTask.FromResult(true);
            case Pop3Verb.Noop:
                Error(Pop3RejectReason.NotLoggedIn);
                return ValueTask.FromResult(true);
            case Pop3Verb.Quit:
                IO.WriteLine($"+OK {Options.ServerName} POP3 server signing off");
                return ValueTask.FromResult(false);
            case Pop3Verb.Stat or Pop3Verb.List or Pop3Verb.Retr or Pop3Verb.Dele or Pop3Verb.Rset or Pop3Verb.Top or Pop3Verb.Uidl:
                Error(Pop3RejectReason.NotLoggedIn);
                return ValueTask.FromResult(true);
            default:
                Error(Pop3RejectReason.UnknownCommand);
                return ValueTask.FromResult(true);
        }
    }

    // Names and passwords: UTF-8 when they are valid UTF-8 (clients send it, CAPA says "UTF8 USER"),
    // otherwise Latin-1, unless the UTF8 command asked for UTF-8 only.
    private string DecodeText(ReadOnlySpan<byte> text)
    {
        if (_utf8 || System.Text.Unicode.Utf8.IsValid(text))
        {
            return Encoding.UTF8.GetString(text);
        }
        return Encoding.Latin1.GetString(text);
    }

    private void Capabilities()
    {
        // RFC 2449 §5: what AUTHORIZATION offers is announced in TRANSACTION too (the commands are refused there).
        var output = IO.Output;
        output.Write("+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"u8);
        // USER (RFC 2449 §6.2) and SASL (§6.3) only where a login would be accepted: CAPA tells what the server takes.
        if (AuthAllowed)
        {
            output.Write("USER\r\n"u8);
        }
        var first = true;
        foreach (var mechanism in OfferedMechanisms())
        {
            output.Write(first ? "SASL "u8 : " "u8);
            output.WriteAscii(mechanism);
            first = false;
        }
        if (!first)
        {
            output.Write("\r\n"u8);
        }
        if (Connection.CanStartTls)
        {
            output.Write("STLS\r\n"u8);
        }
        output.Write("UTF8 USER\r\nEXPIRE NEVER\r\n"u8);
        if (Options.LoginDelaySeconds is { } delay)
        {
            output.Write("LOGIN-DELAY "u8);
            output.WriteNumber(delay);
            output.Write("\r\n"u8);
        }
        output.Write("IMPLEMENTATION Mail.Protocols\r\n.\r\n"u8);
        Success();
    }

    // Every login (USER/PASS, APOP, each SASL mechanism) needs TLS unless plaintext authentication is allowed.
    private bool AuthAllowed => Connection.IsSecure || Options.AllowPlaintextAuth;

    private IEnumerable<string> OfferedMechanisms() => AuthAllowed ? _server.AuthMechanisms : [];

    // A store or user directory that fails in any way (its own exception types, a timeout of its own, a bug)
    // costs the command, not the session; what the connection itself throws ends the session.
    private bool IsBackendFailure(Exception ex) => !Connection.IsConnectionFailure(ex);

    // An IOException from a store call itself (not from the connection) is the store's trouble: reported as
    // its "unavailable", so the command gets -ERR [SYS/TEMP] instead of the session ending as if the client left.
    private static MailboxStoreException StoreUnavailable(Exception ex) =>
        new(MailboxStoreError.Unavailable, "The mailbox store failed.", ex);

    // For a catch around a store call and nothing else: there an IOException is the store's too.
    private bool IsStoreCallFailure(Exception ex) => ex is IOException || IsBackendFailure(ex);

    // One reply per command: the error that reaches the limit is answered with the closing line instead, keeping
    // [AUTH] when that error was about credentials (RFC 3206 §6: every credential failure carries it). Too many
    // errors is the client's doing, not a system error, so no SYS code.
    private void Error(Pop3RejectReason reason)
    {
        MarkCommandRefused(reason.ToString());
        _server.Metrics.Rejected(reason);
        var reply = Pop3Replies.For(reason);
        if (!CountError())
        {
            IO.Write(reply);
            return;
        }
        IO.Write(reply.StartsWith("-ERR [AUTH]"u8) ? Pop3Replies.TooManyErrorsAuth : Pop3Replies.TooManyErrors);
    }
}
