using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mail.Protocols.Hosting;
using Mail.Protocols.Smtp;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Testing;

/// <summary>
/// A mail server for the tests of an application that sends or reads mail, in the test's own process: SMTP (MX role,
/// no login needed), submission (STARTTLS and implicit TLS, login required), POP3 and IMAP (plain with STARTTLS, and
/// implicit TLS), each on a free loopback port, with a generated certificate the test trusts through
/// <see cref="CertificateValidationCallback"/>. Every message accepted is recorded, before the client is told 250, as a
/// <see cref="ReceivedMessage"/>; mail for other domains is recorded too and never relayed. Works with any test
/// framework: start one per test or share one and <see cref="Purge"/> between tests.
/// </summary>
public sealed class MailTestServer : IAsyncDisposable
{
    private readonly MailHost _host;
    private readonly HashSet<string> _localDomains;
    private readonly Lock _gate = new();
    private readonly List<ReceivedMessage> _received = [];
    private readonly List<(int Count, TaskCompletionSource<IReadOnlyList<ReceivedMessage>> Done)> _waiters = [];
    private readonly string _certificateHash;
    private readonly List<string> _notRecorded = [];
    private bool _disposed;

    private MailTestServer(MailTestServerOptions options)
    {
        var domains = options.Domains.Count > 0 ? options.Domains : ["example.test"];
        _localDomains = new HashSet<string>(domains, Addressing.DomainName.Comparer);
        var hostOptions = new MailHostOptions
        {
            SmtpPort = 0, SubmissionPort = 0, SmtpsPort = 0, Pop3Port = 0, Pop3sPort = 0, ImapPort = 0, ImapsPort = 0,
            AllowPlaintextAuth = options.AllowPlaintextAuth,
            // A test sends as fast as it likes, and the same message twice if it means to.
            RateLimits = null,
            ServerName = "mail.test.localhost",
        };
        foreach (var domain in domains)
        {
            hostOptions.Domains.Add(domain);
        }
        foreach (var user in options.Users)
        {
            hostOptions.Users.Add(user);
        }
        var policy = new AcceptingPolicy(_localDomains, options.AcceptAnyRecipient);
        hostOptions.Policy = policy;
        hostOptions.Smtp.Hooks = new CapturingHooks(Faults, Record, NotRecorded);
        hostOptions.Smtp.DuplicateSuppressionWindow = TimeSpan.Zero;
        hostOptions.Smtp.MaxMessageSize = options.MaxMessageSize;
        _host = new MailHost(hostOptions);
        policy.Users = _host.Users;
        _certificateHash = _host.Certificate.GetCertHashString(HashAlgorithmName.SHA256);
    }

    /// <summary>Starts a server on free loopback ports.</summary>
    public static async Task<MailTestServer> StartAsync(MailTestServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var server = new MailTestServer(options ?? new MailTestServerOptions());
        try
        {
            await server._host.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return server;
    }

    /// <summary>The address every listener is on.</summary>
    public string Host => "127.0.0.1";

    /// <summary>SMTP in the MX role: no login needed (AUTH offered), STARTTLS offered.</summary>
    public int SmtpPort => Port("smtp");

    /// <summary>Submission with STARTTLS; AUTH required.</summary>
    public int SubmissionPort => Port("submission");

    /// <summary>Submission over implicit TLS; AUTH required.</summary>
    public int SmtpsPort => Port("smtps");

    /// <summary>POP3 with STLS.</summary>
    public int Pop3Port => Port("pop3");

    /// <summary>POP3 over implicit TLS.</summary>
    public int Pop3sPort => Port("pop3s");

    /// <summary>IMAP with STARTTLS.</summary>
    public int ImapPort => Port("imap");

    /// <summary>IMAP over implicit TLS.</summary>
    public int ImapsPort => Port("imaps");

    /// <summary>The server's generated certificate (for localhost).</summary>
    public X509Certificate2 Certificate => _host.Certificate;

    /// <summary>
    /// A certificate check for the test's client (MailKit's <c>ServerCertificateValidationCallback</c>, SslStream's)
    /// that accepts exactly this server's certificate and nothing else.
    /// </summary>
    public RemoteCertificateValidationCallback CertificateValidationCallback => (_, certificate, _, _) => IsServerCertificate(certificate);

    /// <summary>Whether <paramref name="certificate"/> is this server's.</summary>
    public bool IsServerCertificate(X509Certificate? certificate) =>
        certificate is not null && certificate.GetCertHashString(HashAlgorithmName.SHA256) == _certificateHash;

    /// <summary>The failures a test can switch on.</summary>
    public MailTestFaults Faults { get; } = new();

    /// <summary>The mailboxes (what POP3 and IMAP serve); a test may put messages in them directly.</summary>
    public IMailboxStore Store => _host.Store;

    /// <summary>Every message accepted since the start or the last <see cref="Purge"/>, in order.</summary>
    public IReadOnlyList<ReceivedMessage> Messages
    {
        get
        {
            lock (_gate)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>The messages with <paramref name="address"/> among their envelope recipients.</summary>
    public IReadOnlyList<ReceivedMessage> MessagesFor(string address) => [.. Messages.Where(message => message.IsFor(address))];

    /// <summary>The messages with a recipient in another domain: what a real server would have relayed.</summary>
    public IReadOnlyList<ReceivedMessage> Outbound => [.. Messages.Where(message => message.Recipients.Any(recipient => !IsLocal(recipient)))];

    /// <summary>
    /// Waits until <paramref name="count"/> messages have been accepted (counting since the last <see cref="Purge"/>)
    /// and returns them all; woken by each arrival, not by polling.
    /// </summary>
    /// <exception cref="TimeoutException">Fewer arrived within <paramref name="timeout"/>; the message lists those that did.</exception>
    public async Task<IReadOnlyList<ReceivedMessage>> WaitForMessagesAsync(int count, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var done = new TaskCompletionSource<IReadOnlyList<ReceivedMessage>>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_received.Count >= count)
            {
                return [.. _received];
            }
            _waiters.Add((count, done));
        }
        try
        {
            return await done.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            List<ReceivedMessage> arrived;
            List<string> lost;
            lock (_gate)
            {
                arrived = [.. _received];
                lost = [.. _notRecorded];
            }
            if (arrived.Count >= count)
            {
                return arrived; // it came just as the time ran out
            }
            throw new TimeoutException($"{arrived.Count} of {count} message(s) arrived within {timeout}"
                + (arrived.Count == 0 ? "." : ":" + string.Concat(arrived.Select(message => "\n  " + message)))
                + string.Concat(lost.Select(failure => "\n  accepted but not recorded: " + failure)));
        }
        finally
        {
            lock (_gate)
            {
                _waiters.RemoveAll(waiter => waiter.Done == done);
            }
        }
    }

    /// <summary>Forgets the messages recorded so far (the mailboxes keep theirs) and switches every fault off.</summary>
    public void Purge()
    {
        lock (_gate)
        {
            _received.Clear();
        }
        Faults.Clear();
    }

    /// <summary>Stops the server; a wait still pending fails with <see cref="ObjectDisposedException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        List<TaskCompletionSource<IReadOnlyList<ReceivedMessage>>> waiting;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            waiting = [.. _waiters.Select(waiter => waiter.Done)];
        }
        foreach (var done in waiting)
        {
            done.TrySetException(new ObjectDisposedException(nameof(MailTestServer)));
        }
        await _host.DisposeAsync().ConfigureAwait(false);
    }

    private void Record(ReceivedMessage message)
    {
        lock (_gate)
        {
            _received.Add(message);
            foreach (var (count, done) in _waiters.Where(waiter => waiter.Count <= _received.Count).ToList())
            {
                done.TrySetResult([.. _received]);
            }
        }
    }

    private void NotRecorded(string queueId, Exception failure)
    {
        lock (_gate)
        {
            _notRecorded.Add($"{queueId}: {failure.GetType().Name}: {failure.Message}");
        }
    }

    private bool IsLocal(string address)
    {
        var at = address.LastIndexOf('@');
        return at > 0 && _localDomains.Contains(address[(at + 1)..]);
    }

    private int Port(string name) => _host.EndPoints.TryGetValue(name, out var endPoint) ? endPoint.Port
        : throw new InvalidOperationException("The server is not started.");
}
