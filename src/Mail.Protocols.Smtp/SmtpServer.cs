using System.Net;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Policy;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Delivery;
using Mail.Protocols.Smtp.Protocol;
using Mail.Protocols.Smtp.Session;
using Mail.Protocols.Storage;
using Mail.Protocols.Telemetry;
using Mail.Protocols.Users;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mail.Protocols.Smtp;

/// <summary>An address the SMTP server listens on, with its role.</summary>
/// <param name="EndPoint">Address and port (0 for any free port).</param>
/// <param name="Role">MX (port 25 style) or submission (587/465 style).</param>
/// <param name="ImplicitTls">TLS from the first byte (port 465 style, RFC 8314).</param>
public sealed record SmtpEndpoint(IPEndPoint EndPoint, SmtpRole Role = SmtpRole.Mx, bool ImplicitTls = false);

/// <summary>The backends an SMTP server delivers into.</summary>
/// <param name="Store">Local mailboxes: each local recipient's INBOX receives the message.</param>
/// <param name="Queue">The outbound queue for recipients in other domains.</param>
/// <param name="Users">Users and credentials for AUTH.</param>
/// <param name="Policy">Routes recipients and checks senders; see <see cref="DefaultRecipientPolicy"/>.</param>
public sealed record SmtpServices(IMailboxStore Store, IMessageQueue Queue, IUserDirectory Users, IRecipientPolicy Policy);

/// <summary>
/// The SMTP server: listens on its endpoints and runs one session per connection, delivering accepted
/// messages into the <see cref="IMailboxStore"/> (local recipients) or the <see cref="IMessageQueue"/>.
/// </summary>
public sealed class SmtpServer : IAsyncDisposable
{
    private readonly SmtpServerContext _context;
    private readonly IReadOnlyList<SmtpEndpoint> _endpoints;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;
    private MailListener? _listener;

    /// <summary>Creates a server; call <see cref="StartAsync"/> to listen.</summary>
    public SmtpServer(SmtpServerOptions options, SmtpServices services, IEnumerable<SmtpEndpoint> endpoints, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(endpoints);
        options.Validate();
        _endpoints = [.. endpoints];
        if (options.Tls is null && _endpoints.Any(e => e.ImplicitTls))
        {
            throw new ArgumentException("An implicit-TLS endpoint needs SmtpServerOptions.Tls.", nameof(endpoints));
        }
        _timeProvider = timeProvider ?? TimeProvider.System;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _context = new SmtpServerContext(options, services, _loggerFactory.CreateLogger("Mail.Protocols.Smtp"));
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
        var listenEndpoints = _endpoints.Select(e => new ListenEndpoint(e.EndPoint, e.ImplicitTls, e.Role.ToString())).ToList();
        var handler = new Handler(_context, _endpoints);
        _listener = new MailListener(listenEndpoints, handler, _context.Options.Limits, _context.Options.Tls, _timeProvider, _loggerFactory);
        await _listener.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs one session over a connection the caller accepted (for hosting in another server, or in-process
    /// tests over pipes). Completes when the session ends; the caller disposes the connection.
    /// </summary>
    public Task RunSessionAsync(MailConnection connection, SmtpRole role = SmtpRole.Mx)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return new SmtpSession(_context, connection, role).RunAsync();
    }

    /// <summary>Stops accepting, lets sessions finish their transaction (they get 421 at the next command) within the grace period, then aborts.</summary>
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

    private sealed class Handler(SmtpServerContext context, IReadOnlyList<SmtpEndpoint> endpoints) : IConnectionHandler
    {
        private readonly byte[] _tooMany = Encoding.ASCII.GetBytes($"421 4.7.0 {context.Options.ServerName} Too many connections, try again later\r\n");

        public string Protocol => "smtp";

        public ReadOnlyMemory<byte> TooManyConnectionsReply => _tooMany;

        public Task RunSessionAsync(MailConnection connection, ListenEndpoint endpoint)
        {
            var role = Enum.Parse<SmtpRole>(endpoint.Name!);
            _ = endpoints;
            return new SmtpSession(context, connection, role).RunAsync();
        }
    }
}

/// <summary>What every session of one server shares.</summary>
internal sealed class SmtpServerContext(SmtpServerOptions options, SmtpServices services, ILogger logger)
{
    public SmtpServerOptions Options { get; } = options;
    public ServerReplies Replies { get; } = new(options);
    public IRecipientPolicy Policy { get; } = services.Policy;
    public IUserDirectory Users { get; } = services.Users;
    public MessageDelivery Delivery { get; } = new(services.Store, services.Queue, logger);
    public ILogger Logger { get; } = logger;

    public void LogDiscarded(string connectionId, long count) => SmtpLogExtra.PipelinedPlaintextDiscarded(Logger, connectionId, count);
}

internal static partial class SmtpLogExtra
{
    [LoggerMessage(1013, LogLevel.Warning, "{ConnectionId}: discarded {Count} octets pipelined after STARTTLS")]
    public static partial void PipelinedPlaintextDiscarded(ILogger logger, string connectionId, long count);
}
