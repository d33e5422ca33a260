using System.Collections.Concurrent;
using System.Net;
using Mail.Protocols.Connections;
using Mail.Protocols.Pop3.Session;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mail.Protocols.Pop3;

/// <summary>An address the POP3 server listens on.</summary>
/// <param name="EndPoint">Address and port (0 for any free port).</param>
/// <param name="ImplicitTls">TLS from the first byte (port 995 style).</param>
public sealed record Pop3Endpoint(IPEndPoint EndPoint, bool ImplicitTls = false);

/// <summary>The backends a POP3 server reads.</summary>
/// <param name="Store">The mailboxes; POP3 serves each user's INBOX.</param>
/// <param name="Users">Users and credentials.</param>
public sealed record Pop3Services(IMailboxStore Store, IUserDirectory Users);

/// <summary>
/// The POP3 server: serves the INBOX of each user of an <see cref="IMailboxStore"/>. One POP3 session per
/// user at a time (the maildrop lock, per server instance); deletions are committed at QUIT through the
/// store, whose notifications tell every other session (IMAP included).
/// </summary>
public sealed class Pop3Server : IAsyncDisposable
{
    private readonly Pop3ServerContext _context;
    private readonly IReadOnlyList<Pop3Endpoint> _endpoints;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;
    private MailListener? _listener;

    /// <summary>Creates a server; call <see cref="StartAsync"/> to listen.</summary>
    public Pop3Server(Pop3ServerOptions options, Pop3Services services, IEnumerable<Pop3Endpoint> endpoints, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(endpoints);
        options.Validate();
        _endpoints = [.. endpoints];
        if (options.Tls is null && _endpoints.Any(e => e.ImplicitTls))
        {
            throw new ArgumentException("An implicit-TLS endpoint needs Pop3ServerOptions.Tls.", nameof(endpoints));
        }
        _timeProvider = timeProvider ?? TimeProvider.System;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _context = new Pop3ServerContext(options, services, _loggerFactory.CreateLogger("Mail.Protocols.Pop3"));
    }

    /// <summary>The bound addresses, in the order of the endpoints (after <see cref="StartAsync"/>).</summary>
    public IReadOnlyList<IPEndPoint> BoundEndPoints => _listener?.BoundEndPoints ?? [];

    /// <summary>Binds the endpoints and starts accepting connections.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_listener is not null)
        {
            throw new InvalidOperationException("The server was already started.");
        }
        _listener = new MailListener(_endpoints.Select(e => new ListenEndpoint(e.EndPoint, e.ImplicitTls, "pop3")), new Handler(_context),
            _context.Options.Limits, _context.Options.Tls, _timeProvider, _loggerFactory);
        await _listener.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs one session over a connection the caller accepted (in-process hosting, tests).</summary>
    public Task RunSessionAsync(MailConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return new Pop3Session(_context, connection).RunAsync();
    }

    /// <summary>Stops accepting; sessions get <c>-ERR [SYS/TEMP]</c> at their next command (nothing is deleted) within the grace period, then are aborted.</summary>
    public Task StopAsync(TimeSpan? gracePeriod = null) =>
        _listener?.StopAsync(gracePeriod ?? _context.Options.ShutdownGracePeriod) ?? Task.CompletedTask;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class Handler(Pop3ServerContext context) : IConnectionHandler
    {
        public string Protocol => "pop3";

        public ReadOnlyMemory<byte> TooManyConnectionsReply { get; } = "-ERR [SYS/TEMP] Too many connections, try again later\r\n"u8.ToArray();

        public Task RunSessionAsync(MailConnection connection, ListenEndpoint endpoint) => new Pop3Session(context, connection).RunAsync();
    }
}

/// <summary>What every session of one server shares.</summary>
internal sealed class Pop3ServerContext(Pop3ServerOptions options, Pop3Services services, ILogger logger)
{
    public Pop3ServerOptions Options { get; } = options;
    public IMailboxStore Store { get; } = services.Store;
    public IUserDirectory Users { get; } = services.Users;
    public ILogger Logger { get; } = logger;
    public MaildropLocks Locks { get; } = new();
}

/// <summary>One POP3 session per user at a time (RFC 1939 §8: the maildrop is locked while in TRANSACTION).</summary>
internal sealed class MaildropLocks
{
    private readonly ConcurrentDictionary<string, byte> _held = new(StringComparer.OrdinalIgnoreCase);

    public IDisposable? TryAcquire(string login) => _held.TryAdd(login, 0) ? new Release(_held, login) : null;

    private sealed class Release(ConcurrentDictionary<string, byte> held, string login) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                held.TryRemove(login, out _);
            }
        }
    }
}
