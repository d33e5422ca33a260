using System.Diagnostics.Metrics;
using System.Net;
using Mail.Protocols.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mail.Protocols.Connections;

/// <summary>
/// What every protocol server shares: its endpoints, a <see cref="MailListener"/> started on demand, graceful
/// stop and dispose. An engine derives from it and says how to run one session.
/// </summary>
public abstract class ProtocolServer : IAsyncDisposable
{
    private readonly IReadOnlyList<ListenEndpoint> _endpoints;
    private readonly ConnectionLimits _limits;
    private readonly MailTlsOptions? _tls;
    private readonly TimeSpan _gracePeriod;
    private MailListener? _listener;

    /// <summary>Sets up the server; nothing listens until <see cref="StartAsync"/>.</summary>
    /// <param name="protocol">The protocol's name for logs and metrics.</param>
    /// <param name="endpoints">Where to listen.</param>
    /// <param name="limits">Connection limits per listener.</param>
    /// <param name="tls">TLS for implicit-TLS endpoints and STARTTLS-style upgrades, or null.</param>
    /// <param name="gracePeriod">How long <see cref="StopAsync"/> waits for sessions by default.</param>
    /// <param name="tooManyConnectionsReply">The protocol's line for a client refused by a limit.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="loggerFactory">Where logs go.</param>
    /// <param name="meterFactory">
    /// Where this server's instruments are created (a meter of its own per name); the process-wide meters of the
    /// same names (docs/telemetry.md) when null.
    /// </param>
    protected ProtocolServer(string protocol, IEnumerable<ListenEndpoint> endpoints, ConnectionLimits limits, MailTlsOptions? tls,
        TimeSpan gracePeriod, ReadOnlyMemory<byte> tooManyConnectionsReply, TimeProvider? timeProvider, ILoggerFactory? loggerFactory,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(limits);
        _endpoints = [.. endpoints];
        if (tls is null && _endpoints.Any(e => e.ImplicitTls))
        {
            throw new ArgumentException("An implicit-TLS endpoint needs TLS options.", nameof(endpoints));
        }
        Protocol = protocol;
        _limits = limits;
        _tls = tls;
        _gracePeriod = gracePeriod;
        TooManyConnectionsReply = tooManyConnectionsReply;
        TimeProvider = timeProvider ?? TimeProvider.System;
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        MeterFactory = meterFactory;
        CoreMetrics = CoreMetrics.For(meterFactory);
    }

    /// <summary>The protocol's name ("smtp", "pop3", "imap").</summary>
    public string Protocol { get; }

    /// <summary>The line sent to clients refused by a connection limit.</summary>
    protected ReadOnlyMemory<byte> TooManyConnectionsReply { get; }

    /// <summary>The clock.</summary>
    protected TimeProvider TimeProvider { get; }

    /// <summary>Where logs go.</summary>
    protected ILoggerFactory LoggerFactory { get; }

    /// <summary>Where the server's instruments are created, or null for the process-wide meters.</summary>
    protected IMeterFactory? MeterFactory { get; }

    // The connection instruments, shared by the listener and the sessions (which count discarded plaintext).
    internal CoreMetrics CoreMetrics { get; }

    /// <summary>The bound addresses, in the order of the endpoints (after <see cref="StartAsync"/>).</summary>
    public IReadOnlyList<IPEndPoint> BoundEndPoints => _listener?.BoundEndPoints ?? [];

    /// <summary>Binds the endpoints and starts accepting connections.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_listener is not null)
        {
            throw new InvalidOperationException("The server was already started.");
        }
        OnStarting();
        _listener = new MailListener(_endpoints, new Handler(this), _limits, _tls, TimeProvider, LoggerFactory, CoreMetrics);
        await _listener.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Prepares what sessions need before the endpoints are bound (a spool directory, say). Does nothing by default.</summary>
    protected virtual void OnStarting()
    {
    }

    /// <summary>Releases what <see cref="OnStarting"/> prepared, once the server is disposed and its sessions have ended. Does nothing by default.</summary>
    protected virtual void OnDisposed()
    {
    }

    /// <summary>Runs the session of one accepted connection (the listener calls this).</summary>
    protected abstract Task RunSessionAsync(MailConnection connection, ListenEndpoint endpoint);

    /// <summary>
    /// Stops accepting, asks every session to finish at its next command boundary within
    /// <paramref name="gracePeriod"/> (the server's default when null), then aborts what is left.
    /// </summary>
    public Task StopAsync(TimeSpan? gracePeriod = null) => _listener?.StopAsync(gracePeriod ?? _gracePeriod) ?? Task.CompletedTask;

    /// <summary>Stops at once, aborting open sessions.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }
        OnDisposed();
        GC.SuppressFinalize(this);
    }

    private sealed class Handler(ProtocolServer server) : IConnectionHandler
    {
        public string Protocol => server.Protocol;

        public ReadOnlyMemory<byte> TooManyConnectionsReply => server.TooManyConnectionsReply;

        public Task RunSessionAsync(MailConnection connection, ListenEndpoint endpoint) => server.RunSessionAsync(connection, endpoint);
    }
}
