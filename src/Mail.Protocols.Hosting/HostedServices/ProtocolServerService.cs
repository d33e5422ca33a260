using System.Diagnostics.Metrics;
using System.Net;
using Mail.Protocols.Connections;
using Mail.Protocols.Hosting.Configuration;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Hosting.HostedServices;

/// <summary>
/// Runs one protocol server as a hosted service: the server is built at start (after the options were validated) from
/// the options and the services in the container, and stopped gracefully within the host's shutdown token.
/// </summary>
/// <typeparam name="TServer">The engine's server type.</typeparam>
/// <param name="services">The container the server's backends and options come from.</param>
public abstract class ProtocolServerService<TServer>(IServiceProvider services) : IHostedService, IAsyncDisposable, IDisposable where TServer : ProtocolServer
{
    private readonly Lock _gate = new();
    private bool _disposed;
    private IMailboxStore? _store;

    /// <summary>The running server, or null before <see cref="StartAsync"/>.</summary>
    public TServer? Server { get; private set; }

    /// <summary>Whether the server is accepting connections: started, and not yet stopping.</summary>
    public bool IsRunning => Volatile.Read(ref _running);

    private bool _running;

    /// <summary>The bound endpoints by listener name, after <see cref="StartAsync"/> (a port configured as 0 shows the one chosen).</summary>
    public IReadOnlyDictionary<string, IPEndPoint> EndPoints { get; private set; } = new Dictionary<string, IPEndPoint>();

    /// <summary>Whether every listener of the server is configured off (<see cref="ListenerSettings.Enabled"/>): then it does not start.</summary>
    public bool IsSwitchedOff { get; private set; }

    /// <summary>Builds the server and the names of its endpoints, in the order of the endpoints; null when every listener is off.</summary>
    protected abstract (TServer Server, IReadOnlyList<string> EndpointNames)? CreateServer();

    /// <summary>The container.</summary>
    protected IServiceProvider Services => services;

    /// <summary>
    /// The mailboxes (required), measured on the container's meter factory: the container's store wrapped once by
    /// <see cref="MailboxStoreMetrics.WithMetrics"/> (so not of the store's own type; ask the container for that).
    /// </summary>
    protected IMailboxStore Store => _store ??= services.GetRequiredService<IMailboxStore>().WithMetrics(MeterFactory);

    /// <summary>The users (required).</summary>
    protected IUserDirectory Users => services.GetRequiredService<IUserDirectory>();

    /// <summary>The clock, when the container has one.</summary>
    protected TimeProvider? TimeProvider => services.GetService<TimeProvider>();

    /// <summary>Where logs go, when the container says.</summary>
    protected ILoggerFactory? LoggerFactory => services.GetService<ILoggerFactory>();

    /// <summary>Where instruments are made, when the container has a factory.</summary>
    protected IMeterFactory? MeterFactory => services.GetService<IMeterFactory>();

    /// <summary>The engine's endpoints from the configured listeners, and their names (see <see cref="NamesOf"/>).</summary>
    /// <remarks>Listeners that are off are left out; a name is the usual one with the listener's index among those on.</remarks>
    protected static (List<TEndpoint> Endpoints, IReadOnlyList<string> Names) EndpointsOf<TListener, TEndpoint>(IList<TListener> listeners,
        Func<TListener, IPEndPoint, TEndpoint> endpoint, Func<TListener, string> usualName) where TListener : ListenerSettings
    {
        var on = listeners.Where(listener => listener.Enabled).ToList();
        return ([.. on.Select(listener => endpoint(listener, listener.ToEndPoint()))], NamesOf(on.Select(listener => (listener.Name, usualName(listener)))));
    }

    /// <summary>Binds every endpoint and starts accepting connections.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (CreateServer() is not var (server, names))
        {
            IsSwitchedOff = true;
            return;
        }
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (Server is not null)
            {
                throw new InvalidOperationException("The server was already started.");
            }
            Server = server;
        }
        await server.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = new Dictionary<string, IPEndPoint>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            bound[names[i]] = server.BoundEndPoints[i];
        }
        EndPoints = bound;
        Volatile.Write(ref _running, true);
    }

    /// <summary>
    /// Stops accepting and lets sessions finish at their next command boundary within the server's
    /// <c>ShutdownGracePeriod</c>; when the host's token fires first, the sessions left are aborted.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Server is not { } server)
        {
            return;
        }
        Volatile.Write(ref _running, false);
        try
        {
            await server.StopAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Aborts whatever is still open (for a container disposed synchronously).</summary>
    public void Dispose()
    {
        DisposeAsync().AsTask().GetAwaiter().GetResult();
        GC.SuppressFinalize(this);
    }

    /// <summary>Aborts whatever is still open.</summary>
    public async ValueTask DisposeAsync()
    {
        TServer? server;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _running = false;
            server = Server;
        }
        if (server is not null)
        {
            await server.DisposeAsync().ConfigureAwait(false);
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// The names of the endpoints: each its configured name, else its usual one ("smtp", "submission", "pop3s" and so
    /// on), with its index added when another endpoint has that name already.
    /// </summary>
    protected static IReadOnlyList<string> NamesOf(IEnumerable<(string? Configured, string Usual)> endpoints)
    {
        var list = endpoints.ToList();
        var taken = new HashSet<string>(list.Where(e => e.Configured is not null).Select(e => e.Configured!), StringComparer.Ordinal);
        var names = new List<string>(list.Count);
        for (var i = 0; i < list.Count; i++)
        {
            var (configured, usual) = list[i];
            var name = configured ?? usual;
            // A usual name another endpoint has: the index after it, and further suffixes while even that is taken.
            for (var suffix = 0; configured is null && !taken.Add(name); suffix++)
            {
                name = usual + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + (suffix == 0 ? "" : "-" + suffix.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            names.Add(name);
        }
        return names;
    }
}
