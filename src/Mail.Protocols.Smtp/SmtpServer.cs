using Mail.Protocols.Sasl;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Policy;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Data;
using Mail.Protocols.Smtp.Delivery;
using Mail.Protocols.Smtp.Protocol;
using Mail.Protocols.Smtp.Session;
using Mail.Protocols.Smtp.Telemetry;
using Mail.Protocols.Storage;
using Mail.Protocols.Telemetry;
using Mail.Protocols.Users;
using Microsoft.Extensions.Logging;

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
/// <param name="SenderRewriter">
/// When set, the copies an alias forwards to other domains are sent from an SRS address of its domain, so that SPF at
/// the destination passes; give the same rewriter to the policy so the bounces that come back are routed (null: off).
/// </param>
public sealed record SmtpServices(IMailboxStore Store, IMessageQueue Queue, IUserDirectory Users, IRecipientPolicy Policy,
    Addressing.SenderRewriter? SenderRewriter = null);

/// <summary>
/// The SMTP server: listens on its endpoints and runs one session per connection, delivering accepted
/// messages into the <see cref="IMailboxStore"/> (local recipients) or the <see cref="IMessageQueue"/>.
/// </summary>
public sealed class SmtpServer : ProtocolServer
{
    private readonly SmtpServerContext _context;

    /// <summary>Creates a server; call <see cref="ProtocolServer.StartAsync"/> to listen.</summary>
    /// <param name="options">The server's settings.</param>
    /// <param name="services">The backends it delivers into.</param>
    /// <param name="endpoints">Where to listen (empty when sessions are run with <see cref="RunSessionAsync(MailConnection, SmtpRole)"/>).</param>
    /// <param name="timeProvider">The clock; the system's when null.</param>
    /// <param name="loggerFactory">Where logs go; nowhere when null.</param>
    /// <param name="meterFactory">
    /// Where the server's instruments are created (meters <see cref="MailMeters.Smtp"/> and
    /// <see cref="MailMeters.Connections"/> of its own); the process-wide meters of those names when null.
    /// </param>
    public SmtpServer(SmtpServerOptions options, SmtpServices services, IEnumerable<SmtpEndpoint> endpoints, TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
        : base("smtp", Endpoints(endpoints), Validated(options).Limits, options.Tls, options.ShutdownGracePeriod,
            Encoding.ASCII.GetBytes($"421 4.7.0 {options.ServerName} Too many connections, try again later\r\n"), timeProvider, loggerFactory, meterFactory)
    {
        ArgumentNullException.ThrowIfNull(services);
        _context = new SmtpServerContext(options, services, LoggerFactory.CreateLogger("Mail.Protocols.Smtp"), DuplicateFilter.Create(options, TimeProvider),
            SmtpMetrics.For(meterFactory), this);
    }

    /// <summary>
    /// The server's private spool directory (mode 0700, see <see cref="SmtpServerOptions.SpoolDirectory"/>): created
    /// by <see cref="ProtocolServer.StartAsync"/> (or by the first session run through <see cref="RunSessionAsync(MailConnection, SmtpRole)"/>
    /// that needs it) and removed when the server is disposed.
    /// </summary>
    public string SpoolDirectory => _context.Spool.Path;

    /// <inheritdoc />
    protected override void OnStarting() => _ = _context.Spool.Path;

    /// <inheritdoc />
    protected override void OnDisposed() => _context.Spool.Dispose();

    private static SmtpServerOptions Validated(SmtpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options;
    }

    // The role travels in the listen endpoint's name.
    private static List<ListenEndpoint> Endpoints(IEnumerable<SmtpEndpoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.Select(e => new ListenEndpoint(e.EndPoint, e.ImplicitTls, e.Role.ToString())).ToList();
    }

    /// <summary>
    /// Runs one port-25 (<see cref="SmtpRole.Mx"/>) session over a connection the caller accepted (for hosting in another
    /// server, or in-process tests over pipes). Completes when the session ends; the caller disposes the connection.
    /// </summary>
    public Task RunSessionAsync(MailConnection connection) => RunSessionAsync(connection, SmtpRole.Mx);

    /// <summary>
    /// Runs one session in <paramref name="role"/> over a connection the caller accepted. Completes when the session
    /// ends; the caller disposes the connection.
    /// </summary>
    public Task RunSessionAsync(MailConnection connection, SmtpRole role)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return new SmtpSession(_context, connection, role).RunAsync();
    }

    /// <inheritdoc />
    protected override Task RunSessionAsync(MailConnection connection, ListenEndpoint endpoint) =>
        new SmtpSession(_context, connection, Enum.Parse<SmtpRole>(endpoint.Name!)).RunAsync();
}

/// <summary>What every session of one server shares.</summary>
internal sealed class SmtpServerContext(SmtpServerOptions options, SmtpServices services, ILogger logger, DuplicateFilter? duplicates,
    SmtpMetrics metrics, ProtocolServer server)
{
    public SmtpMetrics Metrics { get; } = metrics;
    // The server the sessions belong to (their protocol name and connection instruments).
    public ProtocolServer Server { get; } = server;
    public SmtpServerOptions Options { get; } = options;
    // The mechanisms offered: those of the options the registry can run with this directory (CRAM-MD5 needs clear-text secrets).
    public ServerReplies Replies { get; } = new(options, options.SaslRegistry.SelectAvailable(options.AuthMechanisms, services.Users));
    public IReadOnlyList<string> AuthMechanisms => Replies.AuthMechanisms;
    public IRecipientPolicy Policy { get; } = services.Policy;
    public IUserDirectory Users { get; } = services.Users;
    public SaslMechanismRegistry Sasl { get; } = options.SaslRegistry;
    // A list owner's notices take the path the delivery agent's DSNs take.
    public MessageDelivery Delivery { get; } = new(services.Store, services.Queue, logger, duplicates,
        new ListDelivery(services.Policy, options.ServerName, new MailSubmitter(services.Store, services.Queue, services.Policy, logger).SubmitAsync),
        services.SenderRewriter);
    public ILogger Logger { get; } = logger;
    public SpoolDirectory Spool { get; } = new(options.SpoolDirectory);

    /// <summary>The spool directory, for <see cref="MessageSpool"/> when a message spills to disk (one delegate for all messages).</summary>
    public Func<string> SpoolPath => field ??= () => Spool.Path;
}
