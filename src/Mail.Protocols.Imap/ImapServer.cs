using Mail.Protocols.Sasl;
using System.Diagnostics.Metrics;
using System.Net;
using Mail.Protocols.Connections;
using Mail.Protocols.Imap.Session;
using Mail.Protocols.Imap.Telemetry;
using Mail.Protocols.Storage;
using Mail.Protocols.Telemetry;
using Mail.Protocols.Users;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Imap;

/// <summary>An address the IMAP server listens on.</summary>
/// <param name="EndPoint">Address and port (0 for any free port).</param>
/// <param name="ImplicitTls">TLS from the first byte (port 993 style).</param>
public sealed record ImapEndpoint(IPEndPoint EndPoint, bool ImplicitTls = false);

/// <summary>The backends an IMAP server serves.</summary>
/// <param name="Store">The users' folders.</param>
/// <param name="Users">Users and credentials.</param>
public sealed record ImapServices(IMailboxStore Store, IUserDirectory Users);

/// <summary>
/// The IMAP server: serves every folder of each user of an <see cref="IMailboxStore"/> to any number of sessions at
/// once; each session learns what the others, SMTP delivery and POP3 changed through the store's change queues.
/// </summary>
public sealed class ImapServer : ProtocolServer
{
    private readonly ImapServerContext _context;

    /// <summary>Creates a server; call <see cref="ProtocolServer.StartAsync"/> to listen.</summary>
    /// <param name="options">The server's settings.</param>
    /// <param name="services">The backends it serves.</param>
    /// <param name="endpoints">Where to listen (empty when sessions are run with <see cref="RunSessionAsync(MailConnection)"/>).</param>
    /// <param name="timeProvider">The clock; the system's when null.</param>
    /// <param name="loggerFactory">Where logs go; nowhere when null.</param>
    /// <param name="meterFactory">
    /// Where the server's instruments are created (meters <see cref="MailMeters.Imap"/> and
    /// <see cref="MailMeters.Connections"/> of its own); the process-wide meters of those names when null.
    /// </param>
    public ImapServer(ImapServerOptions options, ImapServices services, IEnumerable<ImapEndpoint> endpoints, TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
        : base("imap", Endpoints(endpoints), Validated(options).Limits, options.Tls, options.ShutdownGracePeriod,
            "* BYE [UNAVAILABLE] Too many connections, try again later\r\n"u8.ToArray(), timeProvider, loggerFactory, meterFactory)
    {
        ArgumentNullException.ThrowIfNull(services);
        _context = new ImapServerContext(options, services, LoggerFactory.CreateLogger("Mail.Protocols.Imap"), ImapMetrics.For(meterFactory), this);
    }

    private static ImapServerOptions Validated(ImapServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options;
    }

    private static List<ListenEndpoint> Endpoints(IEnumerable<ImapEndpoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.Select(e => new ListenEndpoint(e.EndPoint, e.ImplicitTls, "imap")).ToList();
    }

    /// <summary>Runs one session over a connection the caller accepted (in-process hosting, tests).</summary>
    public Task RunSessionAsync(MailConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return new ImapSession(_context, connection).RunAsync();
    }

    /// <inheritdoc />
    protected override Task RunSessionAsync(MailConnection connection, ListenEndpoint endpoint) => new ImapSession(_context, connection).RunAsync();
}

/// <summary>What every session of one server shares.</summary>
internal sealed class ImapServerContext(ImapServerOptions options, ImapServices services, ILogger logger, ImapMetrics metrics, ProtocolServer server)
{
    public ImapMetrics Metrics { get; } = metrics;
    // The server the sessions belong to (their protocol name and connection instruments).
    public ProtocolServer Server { get; } = server;
    public ImapServerOptions Options { get; } = options;
    public IMailboxStore Store { get; } = services.Store;
    public IUserDirectory Users { get; } = services.Users;
    public SaslMechanismRegistry Sasl { get; } = options.SaslRegistry;

    // The mechanisms offered: those of the options the registry can run with this directory (CRAM-MD5 needs clear-text secrets).
    public IReadOnlyList<string> AuthMechanisms { get; } = options.SaslRegistry.SelectAvailable(options.AuthMechanisms, services.Users);
    public ILogger Logger { get; } = logger;
}
