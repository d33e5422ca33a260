using Mail.Protocols.Sasl;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using Mail.Protocols.Connections;
using Mail.Protocols.Pop3.Session;
using Mail.Protocols.Pop3.Telemetry;
using Mail.Protocols.Storage;
using Mail.Protocols.Telemetry;
using Mail.Protocols.Users;
using Microsoft.Extensions.Logging;

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
/// user at a time (the maildrop lease, taken through the store so that it holds across servers and processes); deletions are committed at QUIT through the
/// store, whose notifications tell every other session (IMAP included).
/// </summary>
public sealed class Pop3Server : ProtocolServer
{
    private readonly Pop3ServerContext _context;

    /// <summary>Creates a server; call <see cref="ProtocolServer.StartAsync"/> to listen.</summary>
    /// <param name="options">The server's settings.</param>
    /// <param name="services">The backends it serves.</param>
    /// <param name="endpoints">Where to listen (empty when sessions are run with <see cref="RunSessionAsync(MailConnection)"/>).</param>
    /// <param name="timeProvider">The clock; the system's when null.</param>
    /// <param name="loggerFactory">Where logs go; nowhere when null.</param>
    /// <param name="meterFactory">
    /// Where the server's instruments are created (meters <see cref="MailMeters.Pop3"/> and
    /// <see cref="MailMeters.Connections"/> of its own); the process-wide meters of those names when null.
    /// </param>
    public Pop3Server(Pop3ServerOptions options, Pop3Services services, IEnumerable<Pop3Endpoint> endpoints, TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
        : base("pop3", Endpoints(endpoints), Validated(options).Limits, options.Tls, options.ShutdownGracePeriod,
            "-ERR [SYS/TEMP] Too many connections, try again later\r\n"u8.ToArray(), timeProvider, loggerFactory, meterFactory)
    {
        ArgumentNullException.ThrowIfNull(services);
        _context = new Pop3ServerContext(options, services, LoggerFactory.CreateLogger("Mail.Protocols.Pop3"), Pop3Metrics.For(meterFactory), this);
    }

    private static Pop3ServerOptions Validated(Pop3ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options;
    }

    private static List<ListenEndpoint> Endpoints(IEnumerable<Pop3Endpoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.Select(e => new ListenEndpoint(e.EndPoint, e.ImplicitTls, "pop3")).ToList();
    }

    /// <summary>Runs one session over a connection the caller accepted (in-process hosting, tests).</summary>
    public Task RunSessionAsync(MailConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return new Pop3Session(_context, connection).RunAsync();
    }

    /// <inheritdoc />
    protected override Task RunSessionAsync(MailConnection connection, ListenEndpoint endpoint) => new Pop3Session(_context, connection).RunAsync();
}

/// <summary>What every session of one server shares.</summary>
internal sealed class Pop3ServerContext(Pop3ServerOptions options, Pop3Services services, ILogger logger, Pop3Metrics metrics, ProtocolServer server)
{
    public Pop3Metrics Metrics { get; } = metrics;
    // The server the sessions belong to (their protocol name and connection instruments).
    public ProtocolServer Server { get; } = server;
    public Pop3ServerOptions Options { get; } = options;
    public IMailboxStore Store { get; } = services.Store;
    public IUserDirectory Users { get; } = services.Users;
    public SaslMechanismRegistry Sasl { get; } = options.SaslRegistry;

    // The mechanisms offered: those of the options the registry can run with this directory (CRAM-MD5 needs clear-text secrets).
    public IReadOnlyList<string> AuthMechanisms { get; } = options.SaslRegistry.SelectAvailable(options.AuthMechanisms, services.Users);
    public ILogger Logger { get; } = logger;

    // When each user last logged in, for LOGIN-DELAY (RFC 2449 §6.5).
    public ConcurrentDictionary<string, long> LastLogins { get; } = new(UserName.Comparer);
}
