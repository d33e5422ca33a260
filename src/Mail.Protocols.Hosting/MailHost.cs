using System.Diagnostics.Metrics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Mail.Protocols.Connections;
using Mail.Protocols.Addressing;
using Mail.Protocols.Policy;
using Mail.Protocols.Imap;
using Mail.Protocols.Pop3;
using Mail.Protocols.Queue;
using Mail.Protocols.Storage;
using Mail.Protocols.Dns;
using Mail.Protocols.Smtp;
using Mail.Protocols.Smtp.Client;
using Mail.Protocols.Smtp.Delivery;
using Mail.Protocols.Smtp.Dns;
using Mail.Protocols.InMemory;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Hosting;

/// <summary>Settings of <see cref="MailHost"/>. A port of null disables that endpoint; 0 picks a free port.</summary>
public sealed class MailHostOptions
{
    /// <summary>The address every endpoint binds to. Defaults to 127.0.0.1.</summary>
    public IPAddress BindAddress { get; set; } = IPAddress.Loopback;

    /// <summary>SMTP with the MX role (port 25 style). Defaults to 2525.</summary>
    public int? SmtpPort { get; set; } = 2525;

    /// <summary>Submission with STARTTLS and AUTH required (port 587 style). Defaults to 2587.</summary>
    public int? SubmissionPort { get; set; } = 2587;

    /// <summary>Submission over implicit TLS (port 465 style, RFC 8314). Defaults to 2465.</summary>
    public int? SmtpsPort { get; set; } = 2465;

    /// <summary>POP3 (port 110 style, STLS offered). Defaults to 1110.</summary>
    public int? Pop3Port { get; set; } = 1110;

    /// <summary>POP3 over implicit TLS (port 995 style). Defaults to 1995.</summary>
    public int? Pop3sPort { get; set; } = 1995;

    /// <summary>IMAP (port 143 style, STARTTLS offered). Defaults to 1143.</summary>
    public int? ImapPort { get; set; } = 1143;

    /// <summary>IMAP over implicit TLS (port 993 style). Defaults to 1993.</summary>
    public int? ImapsPort { get; set; } = 1993;

    /// <summary>The local domains. When empty, <c>example.test</c> is used.</summary>
    public IList<string> Domains { get; } = [];

    /// <summary>Users as (address, password); the address is the login.</summary>
    public IList<(string Address, string Password)> Users { get; } = [];

    /// <summary>The login receiving postmaster@ of every local domain. Defaults to the first user.</summary>
    public string? PostmasterLogin { get; set; }

    /// <summary>
    /// The aliases and catch-alls of the local domains (an <see cref="InMemoryAddressBook"/>, one read by
    /// <see cref="VirtualAliasFile"/>, or an application's own); null (the default): none.
    /// </summary>
    public IAddressBook? AddressBook { get; set; }

    /// <summary>
    /// The recipient and relay policy. Null (the default): a <see cref="DefaultRecipientPolicy"/> over <see cref="Domains"/>,
    /// <see cref="Users"/>, <see cref="AddressBook"/> and <see cref="Addressing"/>; set, it decides instead of them (a test
    /// server that takes every recipient, say). <b>The relay check is then the policy's job</b>: the SMTP server queues
    /// every recipient the policy routes to another domain, so a policy that does so for clients that did not log in,
    /// with <see cref="Delivery"/> set, makes an open relay. Cannot be combined with <see cref="AddressBook"/>,
    /// <see cref="PostmasterLogin"/> or <see cref="SenderRewriting"/>, which only the default policy reads.
    /// </summary>
    public IRecipientPolicy? Policy { get; set; }

    /// <summary>Subaddresses (<c>+</c> by default) and the bounds on alias expansion (docs/addressing.md).</summary>
    public AddressingOptions Addressing
    {
        get;
        set => field = value ?? throw new ArgumentNullException(nameof(value));
    } = new();

    /// <summary>
    /// Sender Rewriting (SRS): when set, copies that aliases forward to other domains are sent from an SRS address of
    /// <see cref="SenderRewritingOptions.Domain"/> (which should be one of <see cref="Domains"/>), and bounces sent
    /// back to such an address reach the original sender (docs/addressing.md). Null (the default): forwards keep the
    /// writer's address as their sender.
    /// </summary>
    public SenderRewritingOptions? SenderRewriting { get; set; }

    /// <summary>Offer AUTH without TLS. Defaults to false.</summary>
    public bool AllowPlaintextAuth { get; set; }

    /// <summary>
    /// The server certificate; when null (and no <see cref="CertificateSelector"/> is set) a self-signed one for localhost
    /// and the machine name is generated.
    /// </summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>
    /// Chooses the certificate at each TLS handshake, by the name the client asked for (SNI), and can hand out a renewed
    /// one without a restart; used instead of <see cref="Certificate"/>, which must then be null. Null (the default): the
    /// one certificate.
    /// </summary>
    public IServerCertificateSelector? CertificateSelector { get; set; }

    /// <summary>
    /// Networks whose clients may relay to other domains without logging in (a web server or an application host that
    /// submits on port 25). Empty (the default): only clients that authenticated relay. Read by the default policy, so it
    /// cannot be combined with <see cref="Policy"/>.
    /// </summary>
    public IList<IPNetwork> TrustedNetworks { get; } = [];

    /// <summary>
    /// Host name for greetings, Received headers and the delivery agent's EHLO: a domain or an address literal, checked
    /// when the host is built. Defaults to the machine name (used as it is even when it is not a domain; EHLO then gives an
    /// address literal).
    /// </summary>
    public string ServerName { get; set; } = Environment.MachineName;

    /// <summary>
    /// Further SMTP settings (limits, timeouts, hooks, who VRFY and EXPN answer); the host fills in TLS and plaintext AUTH
    /// in a copy (this object and the ones below are not changed, so one options object can set up several hosts).
    /// </summary>
    public SmtpServerOptions Smtp { get; set; } = new();

    /// <summary>Further POP3 settings; the host fills in TLS and plaintext AUTH in a copy. Enables APOP.</summary>
    public Pop3ServerOptions Pop3 { get; set; } = new() { EnableApop = true };

    /// <summary>
    /// Further IMAP settings; the host fills in TLS and plaintext AUTH, and gives every user Sent, Drafts, Trash, Junk
    /// and Archive with their special-use roles at first login unless <see cref="ImapServerOptions.FoldersAtLogin"/> was
    /// filled already.
    /// </summary>
    public ImapServerOptions Imap { get; set; } = new();

    /// <summary>
    /// Outbound delivery settings. Null (the default): messages for other domains stay in <see cref="MailHost.Queue"/>;
    /// set, a <see cref="DeliveryAgent"/> delivers them and returns DSNs.
    /// </summary>
    public DeliveryAgentOptions? Delivery { get; set; }

    /// <summary>The resolver for outbound delivery; null uses the system's DNS servers.</summary>
    public IDnsResolver? DnsResolver { get; set; }

    /// <summary>How often the delivery agent looks for due messages. Defaults to 30 seconds.</summary>
    public TimeSpan DeliveryPollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The mailbox store; null (the default) uses a new <see cref="InMemoryMailboxStore"/>.
    /// Set it to run the host on a durable or custom backend (for example a Maildir store).</summary>
    public IMailboxStore? Store { get; set; }

    /// <summary>The outbound queue; null (the default) uses a new <see cref="InMemoryMessageQueue"/>.</summary>
    public IMessageQueue? Queue { get; set; }

    /// <summary>The clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// The rate limits every server of the host shares (connections and failed logins per address, failed logins per
    /// login, messages per user), so that failures against POP3 and IMAP count together; they replace the servers' own.
    /// Defaults to the defaults of <see cref="RateLimits.SessionRateLimitOptions"/>; null switches them off.
    /// </summary>
    public RateLimits.SessionRateLimits? RateLimits { get; set; } = new();

    /// <summary>Where logs go; none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Where the servers' instruments are created; null (the default) records on the process-wide meters.</summary>
    public IMeterFactory? MeterFactory { get; set; }
}

/// <summary>
/// Runs the mail servers together, over the in-memory backends unless <see cref="MailHostOptions.Store"/> and
/// <see cref="MailHostOptions.Queue"/> name others: SMTP (MX, submission, implicit-TLS
/// submission) delivering into <see cref="Store"/> and <see cref="Queue"/>, and POP3 and IMAP (each plain with
/// STARTTLS, and implicit TLS) serving the same store. The reference host for samples and tests.
/// </summary>
public sealed class MailHost : IAsyncDisposable
{
    private readonly MailHostOptions _options;
    private readonly SmtpServer _smtp;
    private readonly Pop3Server _pop3;
    private readonly ImapServer _imap;
    private readonly List<(string Name, SmtpEndpoint Endpoint)> _smtpEndpoints = [];
    private readonly List<(string Name, Pop3Endpoint Endpoint)> _pop3Endpoints = [];
    private readonly List<(string Name, ImapEndpoint Endpoint)> _imapEndpoints = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly DeliveryAgentOptions? _delivery;
    private readonly IMailboxStore _measuredStore;
    private Task _deliveryRun = Task.CompletedTask;

    /// <summary>Creates the host and its backends; call <see cref="StartAsync"/> to listen.</summary>
    public MailHost(MailHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // A configured name that is not a domain fails here, not at every delivery; the machine's own name is used as it
        // is for greetings and falls back to an address literal in EHLO (see docs/delivery.md).
        SmtpHelloName.Choose(options.ServerName, nameof(options));
        _options = options;
        Store = options.Store ?? new InMemoryMailboxStore(options.TimeProvider);
        Queue = options.Queue ?? new InMemoryMessageQueue(options.TimeProvider);
        Users = new InMemoryUserDirectory();
        foreach (var (address, password) in options.Users)
        {
            Users.AddUser(address, password);
        }

        if (options.Policy is not null && (options.AddressBook is not null || options.PostmasterLogin is not null || options.SenderRewriting is not null || options.TrustedNetworks.Count > 0))
        {
            // Those settings are read only by the default policy: silently dropping them would surprise.
            throw new ArgumentException("Policy replaces the default recipient policy; AddressBook, PostmasterLogin, SenderRewriting and TrustedNetworks cannot be set with it.", nameof(options));
        }
        if (options.Certificate is not null && options.CertificateSelector is not null)
        {
            throw new ArgumentException("Certificate and CertificateSelector cannot both be set: the selector chooses the certificate.", nameof(options));
        }
        var policyOptions = new RecipientPolicyOptions
        {
            PostmasterLogin = options.PostmasterLogin ?? (options.Users.Count > 0 ? options.Users[0].Address : null),
            Addressing = options.Addressing,
        };
        foreach (var domain in options.Domains.Count > 0 ? options.Domains : ["example.test"])
        {
            policyOptions.LocalDomains.Add(domain);
        }
        foreach (var network in options.TrustedNetworks)
        {
            policyOptions.TrustedNetworks.Add(network);
        }
        var senderRewriter = options.SenderRewriting is { } srs ? new SenderRewriter(srs, options.TimeProvider) : null;
        if (senderRewriter is not null && !policyOptions.LocalDomains.Contains(senderRewriter.Domain))
        {
            // Bounces to the SRS addresses would be refused as relaying instead of routed to the original senders.
            throw new InvalidOperationException($"SenderRewriting.Domain '{senderRewriter.Domain}' must be one of the local domains.");
        }
        Policy = options.Policy ?? new DefaultRecipientPolicy(policyOptions, Users, options.AddressBook, senderRewriter);

        var tls = options.CertificateSelector is { } selector ? new MailTlsOptions(selector) : null;
        Certificate = tls?.Certificate ?? options.Certificate ?? SelfSignedCertificate.Create("localhost", System.Net.Dns.GetHostName());
        // Copies: the host completes them (name, certificate, folders) without changing what the caller passed in.
        var smtpOptions = OptionsCopy.Of(options.Smtp);
        var pop3Options = OptionsCopy.Of(options.Pop3);
        var imapOptions = OptionsCopy.Of(options.Imap);
        _delivery = options.Delivery is { } delivery ? OptionsCopy.Of(delivery) : null;
        if (_delivery is not null)
        {
            // A group of settings with a setter: copied too, or a change for another host would reach this one.
            _delivery.Client = OptionsCopy.Of(options.Delivery!.Client);
        }
        smtpOptions.RateLimits = pop3Options.RateLimits = imapOptions.RateLimits = options.RateLimits;
        smtpOptions.ServerName = options.ServerName;
        smtpOptions.AllowPlaintextAuth = options.AllowPlaintextAuth;
        smtpOptions.Tls ??= tls ?? new MailTlsOptions(Certificate);

        Add("smtp", options.SmtpPort, SmtpRole.Mx, implicitTls: false);
        Add("submission", options.SubmissionPort, SmtpRole.Submission, implicitTls: false);
        Add("smtps", options.SmtpsPort, SmtpRole.Submission, implicitTls: true);
        // The servers and the delivery agent use the store through its latency metrics; Store stays the store itself.
        _measuredStore = Store.WithMetrics(options.MeterFactory);
        _smtp = new SmtpServer(smtpOptions, new SmtpServices(_measuredStore, Queue, Users, Policy, senderRewriter), _smtpEndpoints.Select(e => e.Endpoint), options.TimeProvider, options.LoggerFactory, options.MeterFactory);

        pop3Options.ServerName = options.ServerName;
        pop3Options.AllowPlaintextAuth = options.AllowPlaintextAuth;
        pop3Options.Tls ??= smtpOptions.Tls;
        if (options.Pop3Port is { } pop3)
        {
            _pop3Endpoints.Add(("pop3", new Pop3Endpoint(new IPEndPoint(options.BindAddress, pop3))));
        }
        if (options.Pop3sPort is { } pop3s)
        {
            _pop3Endpoints.Add(("pop3s", new Pop3Endpoint(new IPEndPoint(options.BindAddress, pop3s), ImplicitTls: true)));
        }
        _pop3 = new Pop3Server(pop3Options, new Pop3Services(_measuredStore, Users), _pop3Endpoints.Select(e => e.Endpoint), options.TimeProvider, options.LoggerFactory, options.MeterFactory);

        imapOptions.ServerName = options.ServerName;
        imapOptions.AllowPlaintextAuth = options.AllowPlaintextAuth;
        imapOptions.Tls ??= smtpOptions.Tls;
        if (imapOptions.FoldersAtLogin.Count == 0)
        {
            foreach (var folder in StandardFolders.AtLogin)
            {
                imapOptions.FoldersAtLogin.Add(folder);
            }
        }
        if (options.ImapPort is { } imap)
        {
            _imapEndpoints.Add(("imap", new ImapEndpoint(new IPEndPoint(options.BindAddress, imap))));
        }
        if (options.ImapsPort is { } imaps)
        {
            _imapEndpoints.Add(("imaps", new ImapEndpoint(new IPEndPoint(options.BindAddress, imaps), ImplicitTls: true)));
        }
        ServerOptions = (smtpOptions, pop3Options, imapOptions, _delivery);
        _imap = new ImapServer(imapOptions, new ImapServices(_measuredStore, Users), _imapEndpoints.Select(e => e.Endpoint), options.TimeProvider, options.LoggerFactory, options.MeterFactory);
    }

    private void Add(string name, int? port, SmtpRole role, bool implicitTls)
    {
        if (port is { } p)
        {
            _smtpEndpoints.Add((name, new SmtpEndpoint(new IPEndPoint(_options.BindAddress, p), role, implicitTls)));
        }
    }

    /// <summary>The settings the servers and the agent run with: copies of the caller's, completed by the host.</summary>
    internal (SmtpServerOptions Smtp, Pop3ServerOptions Pop3, ImapServerOptions Imap, DeliveryAgentOptions? Delivery) ServerOptions { get; }

    /// <summary>The mailboxes.</summary>
    public IMailboxStore Store { get; }

    /// <summary>The outbound queue (messages for other domains wait here).</summary>
    public IMessageQueue Queue { get; }

    /// <summary>The users.</summary>
    public InMemoryUserDirectory Users { get; }

    /// <summary>The recipient and relay policy: <see cref="MailHostOptions.Policy"/>, or the default one over the domains, users and address book.</summary>
    public IRecipientPolicy Policy { get; }

    /// <summary>
    /// The TLS certificate: <see cref="MailHostOptions.Certificate"/>, the self-signed one the host made, or, with a
    /// <see cref="MailHostOptions.CertificateSelector"/>, the selector's choice for a client that names no host, taken
    /// when the host was built (later handshakes ask the selector again, and may get a renewed one).
    /// <see cref="MailHostOptions.Smtp"/>'s <c>Tls</c>, when the caller set it, is used instead of any of them.
    /// </summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The SMTP server.</summary>
    public SmtpServer Smtp => _smtp;

    /// <summary>The POP3 server.</summary>
    public Pop3Server Pop3 => _pop3;

    /// <summary>The IMAP server.</summary>
    public ImapServer Imap => _imap;

    /// <summary>Bound endpoints by name ("smtp", "submission", "smtps", "pop3", "pop3s", "imap", "imaps"), after <see cref="StartAsync"/>.</summary>
    public IReadOnlyDictionary<string, IPEndPoint> EndPoints { get; private set; } = new Dictionary<string, IPEndPoint>();

    /// <summary>Starts every server.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _smtp.StartAsync(cancellationToken).ConfigureAwait(false);
        await _pop3.StartAsync(cancellationToken).ConfigureAwait(false);
        await _imap.StartAsync(cancellationToken).ConfigureAwait(false);
        if (_delivery is { } delivery)
        {
            delivery.ServerName = _options.ServerName;
            var submitter = new MailSubmitter(_measuredStore, Queue, Policy);
            var agent = new DeliveryAgent(Queue, _options.DnsResolver ?? new DnsClientResolver(), submitter.SubmitAsync, delivery, _options.TimeProvider,
                _options.LoggerFactory?.CreateLogger("Mail.Protocols.Delivery"), _options.MeterFactory);
            _deliveryRun = Task.Run(() => agent.RunAsync(_options.DeliveryPollInterval, _stopping.Token), CancellationToken.None);
        }
        var bound = new Dictionary<string, IPEndPoint>(StringComparer.Ordinal);
        for (var i = 0; i < _smtpEndpoints.Count; i++)
        {
            bound[_smtpEndpoints[i].Name] = _smtp.BoundEndPoints[i];
        }
        for (var i = 0; i < _pop3Endpoints.Count; i++)
        {
            bound[_pop3Endpoints[i].Name] = _pop3.BoundEndPoints[i];
        }
        for (var i = 0; i < _imapEndpoints.Count; i++)
        {
            bound[_imapEndpoints[i].Name] = _imap.BoundEndPoints[i];
        }
        EndPoints = bound;
    }

    /// <summary>Stops every server gracefully within <paramref name="gracePeriod"/>.</summary>
    public async Task StopAsync(TimeSpan? gracePeriod = null)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_smtp.StopAsync(gracePeriod), _pop3.StopAsync(gracePeriod), _imap.StopAsync(gracePeriod), _deliveryRun).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _deliveryRun.ConfigureAwait(false);
        await _smtp.DisposeAsync().ConfigureAwait(false);
        await _pop3.DisposeAsync().ConfigureAwait(false);
        await _imap.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
        if (_options.Certificate is null && _options.CertificateSelector is null)
        {
            Certificate.Dispose(); // the self-signed one the host made; the caller's and the selector's are theirs
        }
    }
}
