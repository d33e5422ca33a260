using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Mail.Protocols.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mail.Protocols.Connections;

/// <summary>
/// Accepts connections on any number of endpoints and runs one engine session per connection, within
/// connection limits, with graceful shutdown.
/// </summary>
internal sealed class MailListener : IAsyncDisposable
{
    private readonly IReadOnlyList<ListenEndpoint> _endpoints;
    private readonly IConnectionHandler _handler;
    private readonly ConnectionLimits _limits;
    private readonly MailTlsOptions? _tls;
    private readonly ILogger _logger;
    private readonly Heartbeat _heartbeat;
    private readonly CoreMetrics _metrics;
    private readonly List<Socket> _sockets = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly ConcurrentDictionary<MailConnection, Task> _connections = new();
    private readonly ConcurrentDictionary<IPAddress, int> _perAddress = new();
    private readonly List<IPEndPoint> _bound = [];
    private int _count;
    private int _state; // 0 new, 1 started, 2 stopping

    // For a listener of its own (tests): instruments on a meter from the factory, or the process-wide ones.
    public MailListener(IEnumerable<ListenEndpoint> endpoints, IConnectionHandler handler, ConnectionLimits? limits = null, MailTlsOptions? tls = null,
        TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
        : this(endpoints, handler, limits, tls, timeProvider, loggerFactory, CoreMetrics.For(meterFactory))
    {
    }

    /// <summary>Creates a listener; call <see cref="StartAsync"/> to bind.</summary>
    /// <param name="endpoints">Where to listen.</param>
    /// <param name="handler">Runs the session of each accepted connection.</param>
    /// <param name="limits">Connection limits; defaults when null.</param>
    /// <param name="tls">TLS for implicit-TLS endpoints and upgrades, or null.</param>
    /// <param name="timeProvider">The clock; the system's when null.</param>
    /// <param name="loggerFactory">Where logs go; nowhere when null.</param>
    /// <param name="metrics">The connection instruments, which the server shares with its sessions.</param>
    public MailListener(IEnumerable<ListenEndpoint> endpoints, IConnectionHandler handler, ConnectionLimits? limits, MailTlsOptions? tls,
        TimeProvider? timeProvider, ILoggerFactory? loggerFactory, CoreMetrics metrics)
    {
        _metrics = metrics;
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(handler);
        _endpoints = [.. endpoints];
        _handler = handler;
        _limits = limits ?? new ConnectionLimits();
        _tls = tls;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Mail.Protocols.Connections");
        _heartbeat = new Heartbeat(timeProvider ?? TimeProvider.System);
        if (_tls is null && _endpoints.Any(e => e.ImplicitTls))
        {
            throw new ArgumentException("An implicit-TLS endpoint needs TLS options with a certificate.", nameof(tls));
        }
    }

    /// <summary>The addresses actually bound, in the order of the endpoints (useful with port 0).</summary>
    public IReadOnlyList<IPEndPoint> BoundEndPoints => _bound;

    /// <summary>The number of open connections.</summary>
    public int ConnectionCount => Volatile.Read(ref _count);

    /// <summary>Binds every endpoint and starts accepting.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The listener was already started.");
        }
        try
        {
            foreach (var endpoint in _endpoints)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var socket = new Socket(endpoint.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                if (endpoint.EndPoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.EndPoint.Address.Equals(IPAddress.IPv6Any))
                {
                    socket.DualMode = true;
                }
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                socket.Bind(endpoint.EndPoint);
                socket.Listen(512);
                _sockets.Add(socket);
                var bound = (IPEndPoint)socket.LocalEndPoint!;
                _bound.Add(bound);
                CoreLog.Listening(_logger, _handler.Protocol, bound, endpoint.ImplicitTls);
            }
        }
        catch
        {
            foreach (var s in _sockets)
            {
                s.Dispose();
            }
            throw;
        }
        for (var i = 0; i < _sockets.Count; i++)
        {
            var socket = _sockets[i];
            var endpoint = _endpoints[i];
            _acceptLoops.Add(Task.Run(() => AcceptLoopAsync(socket, endpoint), CancellationToken.None));
        }
        return Task.CompletedTask;
    }

    private async Task AcceptLoopAsync(Socket listenSocket, ListenEndpoint endpoint)
    {
        // Whatever activity was current when the server started is not the parent of every session's spans.
        System.Diagnostics.Activity.Current = null;
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listenSocket.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
            {
                if (Volatile.Read(ref _state) == 2)
                {
                    return;
                }
                CoreLog.AcceptFailed(_logger, ex);
                continue;
            }
            socket.NoDelay = true;
            var remote = socket.RemoteEndPoint as IPEndPoint;
            var address = remote?.Address ?? IPAddress.None;
            if (!TryReserve(address))
            {
                _metrics.ConnectionRejected(_handler.Protocol);
                if (_logger.IsEnabled(LogLevel.Warning))
                {
                    CoreLog.ConnectionRefused(_logger, ClientForLog(remote));
                }
                _ = RefuseAsync(socket);
                continue;
            }
            var connection = new MailConnection(new NetworkStream(socket, ownsSocket: true), remote, socket.LocalEndPoint, _tls, _heartbeat, socket);
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var task = RunConnectionAsync(connection, endpoint, address, started.Task);
            _connections[connection] = task;
            started.SetResult();
        }
    }

    private bool TryReserve(IPAddress address)
    {
        if (Interlocked.Increment(ref _count) > _limits.MaxConnections)
        {
            Interlocked.Decrement(ref _count);
            return false;
        }
        var perAddress = _perAddress.AddOrUpdate(address, 1, static (_, n) => n + 1);
        if (perAddress > _limits.MaxConnectionsPerAddress)
        {
            Release(address);
            return false;
        }
        return true;
    }

    private void Release(IPAddress address)
    {
        Interlocked.Decrement(ref _count);
        var left = _perAddress.AddOrUpdate(address, 0, static (_, n) => n - 1);
        if (left <= 0)
        {
            _perAddress.TryRemove(new KeyValuePair<IPAddress, int>(address, left));
        }
    }

    private async Task RefuseAsync(Socket socket)
    {
        try
        {
            await socket.SendAsync(_handler.TooManyConnectionsReply, SocketFlags.None).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            socket.Dispose();
        }
    }

    private async Task RunConnectionAsync(MailConnection connection, ListenEndpoint endpoint, IPAddress address, Task started)
    {
        await started.ConfigureAwait(false);
        using var scope = _logger.BeginScope(new ConnectionScope(connection.Id, _handler.Protocol));
        _metrics.ConnectionOpened(_handler.Protocol);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            CoreLog.ConnectionAccepted(_logger, connection.Id, ClientForLog(connection.RemoteEndPoint as IPEndPoint), endpoint.Name ?? _handler.Protocol);
        }
        try
        {
            if (endpoint.ImplicitTls && !await connection.StartTlsAsync().ConfigureAwait(false))
            {
                CoreLog.TlsHandshakeFailed(_logger, connection.Id);
                return;
            }
            await _handler.RunSessionAsync(connection, endpoint).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            CoreLog.SessionFailed(_logger, connection.Id, ex);
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            _connections.TryRemove(connection, out _);
            Release(address);
            _metrics.ConnectionClosed(_handler.Protocol);
            CoreLog.ConnectionClosed(_logger, connection.Id);
        }
    }

    /// <summary>
    /// Stops accepting, asks every session to finish at its next command boundary, waits up to
    /// <paramref name="gracePeriod"/>, then aborts what is left. Safe to call more than once.
    /// </summary>
    public async Task StopAsync(TimeSpan gracePeriod)
    {
        if (Interlocked.Exchange(ref _state, 2) == 2)
        {
            // A stop is under way: this call's grace period bounds the wait as well, so that disposing during a graceful
            // stop (a host whose shutdown deadline came first) aborts the sessions left instead of waiting out the first grace.
            var pending = Task.WhenAll(_connections.Values);
            if (await Task.WhenAny(pending, Task.Delay(gracePeriod, _heartbeat.TimeProvider)).ConfigureAwait(false) != pending)
            {
                foreach (var connection in _connections.Keys)
                {
                    connection.Abort();
                }
            }
            await pending.ConfigureAwait(false);
            return;
        }
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);

        foreach (var connection in _connections.Keys)
        {
            connection.RequestShutdown();
        }
        var all = Task.WhenAll(_connections.Values);
        if (await Task.WhenAny(all, Task.Delay(gracePeriod, _heartbeat.TimeProvider)).ConfigureAwait(false) != all)
        {
            foreach (var connection in _connections.Keys)
            {
                connection.Abort();
            }
            await all.ConfigureAwait(false);
        }
        _heartbeat.Dispose();
    }

    /// <summary>Stops without a grace period.</summary>
    public async ValueTask DisposeAsync() => await StopAsync(TimeSpan.Zero).ConfigureAwait(false);

    private sealed record ConnectionScope(string ConnectionId, string Protocol)
    {
        public override string ToString() => $"{Protocol} {ConnectionId}";
    }

    // A client's address and port as a log event carries them, or its address redacted (PersonalData).
    private static string ClientForLog(IPEndPoint? remote) =>
        remote is null ? "" : PersonalData.IsRedacted ? PersonalData.ForLog(remote.Address.ToString()) : remote.ToString();
}
