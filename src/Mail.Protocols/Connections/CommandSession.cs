using System.Diagnostics;
using System.Runtime.CompilerServices;
using Mail.Protocols.RateLimits;
using Mail.Protocols.Telemetry;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Connections;

/// <summary>
/// The loop every command-and-reply protocol session runs: the greeting (or the shutdown line when the server is
/// already stopping), then one command at a time until the client leaves, the session ends itself, the deadline
/// passes, the server shuts down or the client spends its error budget. A command that fails because of the
/// backend (store, user directory, policy, hook) costs that command, not the connection; the connection's own
/// failures end the session quietly. What differs between protocols (the replies, what a timeout says, how
/// the last error is answered) are the overrides.
/// </summary>
/// <remarks>
/// Part of the surface for protocol engines (docs/public-surface.md): the SMTP, POP3 and IMAP sessions derive from it,
/// and so may an engine of another protocol built on this library. Applications do not use it.
/// </remarks>
public abstract class CommandSession
{
    private readonly int _maxErrors;
    private readonly CoreMetrics _metrics;
    private readonly string _protocol;
    private int _errors;
    private Activity? _commandSpan;
    private Activity? _spanParent;

    /// <summary>Sets up the loop over a connection.</summary>
    /// <param name="server">The server the session belongs to (its protocol name and connection instruments).</param>
    /// <param name="connection">The connection.</param>
    /// <param name="maxErrors">How many failed commands in a row end the session.</param>
    /// <param name="writeTimeout">How long a flush may wait for a client that does not read.</param>
    protected CommandSession(ProtocolServer server, MailConnection connection, int maxErrors, TimeSpan writeTimeout)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(connection);
        Connection = connection;
        IO = new SessionIO(connection) { WriteTimeout = writeTimeout };
        _maxErrors = maxErrors;
        _metrics = server.CoreMetrics;
        _protocol = server.Protocol;
    }

    /// <summary>The connection.</summary>
    protected MailConnection Connection { get; }

    /// <summary>The session's line reader and reply buffer.</summary>
    protected SessionIO IO { get; }

    /// <summary>Whether the error budget is spent: the session ends after the current reply.</summary>
    protected bool ErrorBudgetSpent => _errors >= _maxErrors;

    /// <summary>A command succeeded: the error budget starts over.</summary>
    protected void Success() => _errors = 0;

    /// <summary>Counts a failed command; true when this one spends the budget (the session ends after its reply).</summary>
    protected bool CountError() => ++_errors >= _maxErrors;

    /// <summary>
    /// Counts the connection against its address's connection rate (<see cref="SessionRateLimits.TryConnect"/>); false,
    /// counted in the metrics, when the address is over it and the session must refuse the client. True when
    /// <paramref name="limits"/> is null.
    /// </summary>
    protected bool AcceptConnection(SessionRateLimits? limits)
    {
        if (limits is null || limits.TryConnect(Connection.RemoteEndPoint))
        {
            return true;
        }
        CountRateLimited(SessionRateLimit.ConnectionsPerAddress);
        return false;
    }

    /// <summary>Counts a request refused by a rate limit in the metrics (<c>mail.rate_limit.refused</c>).</summary>
    protected void CountRateLimited(SessionRateLimit limit) => _metrics.RateLimited(_protocol, limit);

    /// <summary>Counts a lock-out started by failed logins in the metrics (<c>mail.rate_limit.lockouts</c>).</summary>
    protected void CountLockout(SessionRateLimit limit) => _metrics.RateLimitLockout(_protocol, limit);

    /// <summary>
    /// Counts a login attempt in the metrics (<c>mail.auth.attempts</c>): its method (a SASL mechanism's name, or the
    /// protocol's own: <c>USER</c>, <c>APOP</c>, <c>LOGIN</c>) and its outcome (<c>succeeded</c>, <c>failed</c>,
    /// <c>cancelled</c>, <c>malformed</c>, <c>rate_limited</c>, <c>abandoned</c>).
    /// </summary>
    protected void CountLoginAttempt(string method, string outcome)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(outcome);
        _metrics.LoginAttempted(_protocol, method, outcome);
    }

    /// <summary>Counts a SASL exchange's login attempt by its outcome (<see cref="CountLoginAttempt(string, string)"/>).</summary>
    protected void CountLoginAttempt(string mechanism, Sasl.SaslExchangeOutcome outcome) => CountLoginAttempt(mechanism, outcome switch
    {
        Sasl.SaslExchangeOutcome.Succeeded => "succeeded",
        Sasl.SaslExchangeOutcome.Failed => "failed",
        Sasl.SaslExchangeOutcome.Cancelled => "cancelled",
        Sasl.SaslExchangeOutcome.Malformed or Sasl.SaslExchangeOutcome.InvalidBase64 or Sasl.SaslExchangeOutcome.AnswerTooLong => "malformed",
        _ => "abandoned", // timed out or closed mid-exchange
    });

    /// <summary>
    /// Counts a failed login against its address and login (<see cref="AuthAttempt.Failed"/>), and the lock-outs it
    /// starts in the metrics. Nothing when <paramref name="attempt"/> is null (the limits are off).
    /// </summary>
    protected void CountFailedLogin(AuthAttempt? attempt)
    {
        if (attempt is null)
        {
            return;
        }
        var (address, login) = attempt.Failed();
        if (address)
        {
            CountLockout(SessionRateLimit.AuthFailuresPerAddress);
        }
        if (login)
        {
            CountLockout(SessionRateLimit.AuthFailuresPerLogin);
        }
    }

    /// <summary>
    /// Starts the span of the command about to run, while something listens to <paramref name="source"/> (null
    /// otherwise, at the cost of one check). It is the current activity while the command runs; pass what the command
    /// returns to <see cref="EndCommandSpan"/>, which stops the span when the command ends.
    /// </summary>
    protected Activity? StartCommandSpan(ActivitySource source, string name)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!source.HasListeners())
        {
            return null;
        }
        _spanParent = Activity.Current;
        return _commandSpan = source.StartActivity(name, ActivityKind.Server);
    }

    /// <summary>
    /// Stops the command span (if any) once <paramref name="command"/> completes, marked an error if it throws; the
    /// session goes on outside the span.
    /// </summary>
    protected ValueTask<bool> EndCommandSpan(ValueTask<bool> command)
    {
        if (_commandSpan is not { } span)
        {
            return command;
        }
        Activity.Current = _spanParent;
        if (command.IsCompletedSuccessfully)
        {
            _commandSpan = null;
            span.Dispose();
            return command;
        }
        return EndCommandSpanAsync(command, span);
    }

    /// <summary>Whether the command running now has a span (so that a refusal's name is made only when it is needed).</summary>
    protected bool IsCommandTraced => _commandSpan is not null;

    /// <summary>
    /// Why the command running now was refused (its refusal's name, as given to <see cref="MarkCommandRefused"/>), or null
    /// while it has not been; <see cref="OnCommandEnded"/> receives it.
    /// </summary>
    protected string? CommandRefusal { get; private set; }

    // The connection was lost in the command running now (AbandonCommand): it is not counted.
    private bool _commandAbandoned;

    /// <summary>
    /// Says the connection was lost in the command running now (closed by the client, or a reply cut off): it gets no
    /// <see cref="OnCommandEnded"/>, since it was never answered.
    /// </summary>
    protected void AbandonCommand() => _commandAbandoned = true;

    /// <summary>
    /// Marks the command running now refused: <paramref name="reason"/> (a refusal's name, a small fixed set) becomes its
    /// <see cref="CommandRefusal"/> and, when it has a span, the span's <c>error.type</c>.
    /// </summary>
    protected void MarkCommandRefused(string reason)
    {
        CommandRefusal = reason;
        if (_commandSpan is { } span)
        {
            span.SetTag("error.type", reason);
            span.SetStatus(ActivityStatusCode.Error);
        }
    }

    /// <summary>Ends the command span (if any) of a command that threw before it returned.</summary>
    protected void FailCommandSpan(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (_commandSpan is { } span)
        {
            _commandSpan = null;
            Activity.Current = _spanParent;
            MarkFailed(span, exception);
            span.Dispose();
        }
    }

    private async ValueTask<bool> EndCommandSpanAsync(ValueTask<bool> command, Activity span)
    {
        try
        {
            return await command.ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            MarkFailed(span, exception);
            throw;
        }
        finally
        {
            if (ReferenceEquals(_commandSpan, span))
            {
                _commandSpan = null;
            }
            span.Dispose();
        }
    }

    private static void MarkFailed(Activity span, Exception exception)
    {
        span.SetTag("error.type", exception.GetType().Name);
        span.SetStatus(ActivityStatusCode.Error);
    }

    /// <summary>
    /// Upgrades the connection to TLS once the protocol's go-ahead reply (STARTTLS, STLS) is written: flushes it, discards
    /// what the client pipelined in plaintext (never executed; counted in the metrics and logged to
    /// <paramref name="logger"/>), then runs the handshake. False when the handshake failed: end the session without a reply.
    /// </summary>
    protected ValueTask<bool> StartTlsAsync(ILogger logger) => IO.StartTlsAsync(_metrics, _protocol, logger);

    /// <summary>Runs the session to its end; never throws for anything the peer or the backend does.</summary>
    public async Task RunAsync()
    {
        var started = Connection.TimeProvider.GetTimestamp();
        OnStarted();
        try
        {
            if (Connection.IsShutdownRequested)
            {
                WriteShuttingDown();
                await IO.FlushAsync().ConfigureAwait(false);
                return;
            }
            if (RefuseAtConnect())
            {
                await IO.FlushAsync().ConfigureAwait(false);
                return;
            }
            WriteGreeting();
            while (await ReadAndExecuteAsync().ConfigureAwait(false))
            {
                if (ErrorBudgetSpent)
                {
                    OnErrorBudgetSpent();
                    break;
                }
            }
            await IO.FlushAsync().ConfigureAwait(false);
        }
        // InvalidOperationException: a pipe read or write after the transport was completed under us (an abort).
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // Nothing half-received is kept: what a command was receiving is disposed in OnEnded.
            OnConnectionLost(ex);
        }
        finally
        {
            OnEnded(Connection.TimeProvider.GetElapsedTime(started));
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReadAndExecuteAsync()
    {
        try
        {
            return await ReadAndExecuteCoreAsync().ConfigureAwait(false);
        }
        catch (LiteralReadException ex) when (ex.Failure == LiteralReadFailure.TimedOut && Connection.TimedOut != TimeoutReason.None)
        {
            // Message data or a literal that stalled or fell below the minimum data rate: the deadline is answered
            // as any other (the protocol's timeout line, then close); what it was receiving was not stored.
            OnTimedOut();
            OnCommandEnded(TimedOutRefusal);
            return false;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReadAndExecuteCoreAsync()
    {
        switch (await ReadCommandAsync().ConfigureAwait(false))
        {
            case LineReadOutcome.Line:
                break;
            case LineReadOutcome.TooLong:
                OnLineTooLong();
                return true;
            case LineReadOutcome.TimedOut:
                OnTimedOut();
                return false;
            case LineReadOutcome.ShutdownRequested:
                WriteShuttingDown();
                return false;
            default:
                OnClosedByClient();
                return false;
        }
        CommandRefusal = null;
        _commandAbandoned = false;
        bool goOn;
        try
        {
            goOn = await ExecuteAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (!IsConnectionFailure(ex))
        {
            // A backend's own exception types, its own timeouts surfacing as cancellations, a bug in a hook: the
            // command failed, the connection did not.
            goOn = OnCommandFailed(ex);
        }
        if (!_commandAbandoned)
        {
            // A command the connection's deadline ended was answered with the protocol's timeout line.
            OnCommandEnded(CommandRefusal ?? (Connection.TimedOut != TimeoutReason.None ? TimedOutRefusal : null));
        }
        return goOn;
    }

    /// <summary>The refusal <see cref="OnCommandEnded"/> receives for a command that ended in the connection's timeout.</summary>
    protected const string TimedOutRefusal = "Timeout";

    /// <summary>
    /// A command was read and answered (its reply written, not necessarily flushed): the engine counts it here, by name
    /// and, when <paramref name="refusal"/> is not null, as refused for that reason (<see cref="TimedOutRefusal"/> when
    /// the connection's deadline ended it). Not called for a command the connection was lost in
    /// (<see cref="AbandonCommand"/>). Does nothing by default.
    /// </summary>
    protected virtual void OnCommandEnded(string? refusal)
    {
    }

    /// <summary>
    /// Whether an exception a command threw is the connection's (the session ends quietly) rather than the backend's (the
    /// command is answered and the session goes on). By default <see cref="MailConnection.IsConnectionFailure"/>.
    /// </summary>
    protected virtual bool IsConnectionFailure(Exception exception) => Connection.IsConnectionFailure(exception);

    /// <summary>Reads the next command into <see cref="SessionIO.Line"/> (or the protocol's own buffer).</summary>
    protected abstract ValueTask<LineReadOutcome> ReadCommandAsync();

    /// <summary>Executes the command just read and writes its reply; false ends the session (the farewell is written).</summary>
    protected abstract ValueTask<bool> ExecuteAsync();

    /// <summary>
    /// Instead of the greeting: when a limit refuses the connection (a rate limit), writes the protocol's refusal and
    /// returns true, and the session ends. Refuses nothing by default.
    /// </summary>
    protected virtual bool RefuseAtConnect() => false;

    /// <summary>Writes the greeting.</summary>
    protected abstract void WriteGreeting();

    /// <summary>Writes the line that tells the client the server is shutting down.</summary>
    protected abstract void WriteShuttingDown();

    /// <summary>Answers a command line longer than the limit (it was dropped; the session reads on).</summary>
    protected abstract void OnLineTooLong();

    /// <summary>
    /// A deadline passed (<see cref="MailConnection.TimedOut"/> says which: the command's, or a literal's inactivity
    /// limit or minimum data rate): log it and write whatever the protocol says then (perhaps nothing).
    /// </summary>
    protected abstract void OnTimedOut();

    /// <summary>
    /// A command failed for a reason that is not the connection's: answer it and return whether the session goes on
    /// (false where the position in the stream is unknown, say inside message data).
    /// </summary>
    protected abstract bool OnCommandFailed(Exception exception);

    /// <summary>The error budget is spent (after the reply to the last error): write the closing line if the protocol has one.</summary>
    protected abstract void OnErrorBudgetSpent();

    /// <summary>The client closed the connection between commands (or in the middle of one).</summary>
    protected virtual void OnClosedByClient()
    {
    }

    /// <summary>The connection failed or was aborted.</summary>
    protected abstract void OnConnectionLost(Exception exception);

    /// <summary>The session starts (metrics).</summary>
    protected abstract void OnStarted();

    /// <summary>The session ended, however it ended: release what it holds, record the metrics.</summary>
    protected abstract void OnEnded(TimeSpan duration);
}
