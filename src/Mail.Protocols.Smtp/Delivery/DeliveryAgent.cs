using System.Diagnostics.Metrics;
using Mail.Protocols.Smtp.Telemetry;
using System.Globalization;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Mail.Protocols.Dns;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;

namespace Mail.Protocols.Smtp.Delivery;

/// <summary>Settings of <see cref="DeliveryAgent"/>; the schedule defaults are the classic sendmail ones.</summary>
public sealed class DeliveryAgentOptions
{
    /// <summary>
    /// This host's name (DSN Reporting-MTA, EHLO): a domain or an address literal, checked when the agent is built. Defaults
    /// to the machine name; when that is not a domain, EHLO gives the address literal of the outbound connection instead.
    /// </summary>
    public string ServerName { get; set; } = SmtpHelloName.MachineName;

    /// <summary>Time between attempts. Defaults to 15 minutes.</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Age after which the sender gets one delay notice. Defaults to 4 hours.</summary>
    public TimeSpan DelayNoticeAfter { get; set; } = TimeSpan.FromHours(4);

    /// <summary>Age after which delivery is given up and the message returned. Defaults to 5 days.</summary>
    public TimeSpan GiveUpAfter { get; set; } = TimeSpan.FromDays(5);

    /// <summary>How long a leased entry stays hidden from other workers. Defaults to 15 minutes.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Entries leased per round. Defaults to 20.</summary>
    public int BatchSize { get; set; } = 20;

    /// <summary>Entries delivered at the same time. Defaults to 10.</summary>
    public int MaxConcurrency { get; set; } = 10;

    /// <summary>Connections at the same time to one destination domain. Defaults to 2, to be gentle with small servers.</summary>
    public int MaxConcurrencyPerDomain { get; set; } = 2;

    /// <summary>The port of remote exchangers. Defaults to 25.</summary>
    public int Port { get; set; } = 25;

    /// <summary>Send everything through this relay instead of looking up MX records (host and port). Null by default.</summary>
    public DnsEndPoint? SmartHost { get; set; }

    /// <summary>
    /// The login for <see cref="SmartHost"/>, if it wants one. Sent only over TLS (unless the client options allow
    /// plaintext) and only after the smart host's certificate was validated, chain and name; a self-signed one is
    /// trusted by adding it to <see cref="SmtpClientOptions.TrustedCertificates"/> of <see cref="Client"/>.
    /// </summary>
    public NetworkCredential? SmartHostCredentials { get; set; }

    /// <summary>SMTP client settings (STARTTLS policy, certificate trust, timeouts). Their <c>LocalName</c> is replaced by <see cref="ServerName"/>.</summary>
    public SmtpClientOptions Client { get; set; } = new();

    /// <summary>
    /// The settings the agent cannot work with (a batch of no entries would lease nothing, round after round, while
    /// looking healthy): each with its name and what is wrong. Empty when the options are usable.
    /// </summary>
    public IReadOnlyList<SettingProblem> FindProblems()
    {
        var problems = new List<SettingProblem>();
        if (!SmtpHelloName.IsValid(ServerName) && !string.Equals(ServerName, SmtpHelloName.MachineName, StringComparison.Ordinal))
        {
            problems.Add(new(nameof(ServerName), $"'{ServerName}' is neither a domain nor an address literal (RFC 5321 §4.1.1.1, §4.1.3)."));
        }
        foreach (var (name, value) in new[] { (nameof(RetryInterval), RetryInterval), (nameof(DelayNoticeAfter), DelayNoticeAfter), (nameof(GiveUpAfter), GiveUpAfter), (nameof(LeaseDuration), LeaseDuration) })
        {
            if (value <= TimeSpan.Zero)
            {
                problems.Add(new(name, "must be positive."));
            }
        }
        foreach (var (name, value) in new[] { (nameof(BatchSize), BatchSize), (nameof(MaxConcurrency), MaxConcurrency), (nameof(MaxConcurrencyPerDomain), MaxConcurrencyPerDomain) })
        {
            if (value <= 0)
            {
                problems.Add(new(name, "must be positive."));
            }
        }
        if (Port is < 1 or > IPEndPoint.MaxPort)
        {
            problems.Add(new(nameof(Port), $"{Port} is not a TCP port (1 to 65535)."));
        }
        return problems;
    }
}

/// <summary>
/// Delivers queued messages to other domains: leases due entries, looks up each domain's exchangers, sends over
/// SMTP, records the result per recipient, and retries, warns the sender and finally returns the message on the
/// configured schedule. Notifications go out through <paramref name="submitNotification"/> with a null reverse
/// path, so they can never loop, and only after the results they report are recorded in the queue: the entry's
/// next lease (due at once) sends them, and one whose submission fails is retried on its own.
/// </summary>
/// <param name="queue">The outbound queue.</param>
/// <param name="dns">The resolver.</param>
/// <param name="submitNotification">Accepts a DSN (envelope and content) into the normal mail path; an exception means "not
/// accepted, try again later".</param>
/// <param name="options">Settings.</param>
/// <param name="timeProvider">The clock the schedule follows.</param>
/// <param name="logger">Where to log.</param>
/// <param name="meterFactory">Where the agent's instruments (meter <c>Mail.Protocols.Delivery</c>) are created; the process-wide meter when null.</param>
public sealed class DeliveryAgent(IMessageQueue queue, IDnsResolver dns, Func<QueueEnvelope, Stream, CancellationToken, ValueTask> submitNotification,
    DeliveryAgentOptions? options = null, TimeProvider? timeProvider = null, ILogger? logger = null, IMeterFactory? meterFactory = null)
{
    private readonly DeliveryMetrics _metrics = DeliveryMetrics.For(meterFactory);
    private readonly DeliveryAgentOptions _options = options ?? new DeliveryAgentOptions();
    // Null: the default machine name is not a domain, so each connection says its own address literal.
    private readonly string? _helloName = SmtpHelloName.Choose((options ?? new DeliveryAgentOptions()).ServerName, nameof(options));
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> _domainGates = new(Addressing.DomainName.Comparer);

    /// <summary>Runs <see cref="RunOnceAsync"/> every <paramref name="pollInterval"/> until cancelled; a failing round is logged and retried.</summary>
    public async Task RunAsync(TimeSpan pollInterval, CancellationToken cancellationToken)
    {
        // Whatever activity started the agent is not the parent of its attempts (each continues its message's trace).
        Activity.Current = null;
        using var timer = new PeriodicTimer(pollInterval, _time);
        try
        {
            do
            {
                try
                {
                    // Work through everything due before waiting again.
                    while (await RunOnceAsync(cancellationToken).ConfigureAwait(false) > 0)
                    {
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    DeliveryLog.RoundFailed(_logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Leases the entries that are due and attempts each once. Returns how many were attempted. Notifications that an
    /// attempt records as owed are sent by the next round, which finds their entries due at once.
    /// </summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queue);
        var leases = await queue.LeaseAsync(_options.BatchSize, _options.LeaseDuration, cancellationToken).ConfigureAwait(false);
        var pool = new ConnectionPool();
        await using (pool.ConfigureAwait(false))
        {
            using var gate = new SemaphoreSlim(Math.Max(1, _options.MaxConcurrency));
            await Task.WhenAll(leases.Select(async lease =>
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await AttemptAsync(lease, pool, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // This entry's lease runs out and it is tried again; the others go on.
                    DeliveryLog.AttemptFailed(_logger, lease.QueueId, ex);
                }
                finally
                {
                    gate.Release();
                }
            })).ConfigureAwait(false);
        }
        // The queue's depth and oldest entry after the round, for the mail.queue.depth and mail.queue.oldest.age gauges
        // (read between rounds). A queue that cannot say now leaves them as they were: the round itself went well.
        try
        {
            _metrics.SetQueueDepth(await queue.CountAsync(cancellationToken).ConfigureAwait(false));
            _metrics.SetOldestEntry(await queue.GetOldestReceivedAtAsync(cancellationToken).ConfigureAwait(false), _time);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            DeliveryLog.QueueGaugesFailed(_logger, ex);
        }
        return leases.Count;
    }

    private async Task AttemptAsync(QueueLease lease, ConnectionPool pool, CancellationToken cancellationToken)
    {
        // The slot of the entry's last destination stays taken until the result is recorded in the queue, so at
        // most MaxConcurrencyPerDomain messages per destination are ever accepted remotely but not yet recorded:
        // the only ones a crash can send twice. Earlier destinations of a multi-domain entry give their slot back
        // at once (holding one while waiting for another could deadlock two entries).
        SemaphoreSlim? heldGate = null;
        try
        {
            await AttemptHoldingLastGateAsync(lease, pool, gate => heldGate = gate, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            heldGate?.Release();
        }
    }

    private async Task AttemptHoldingLastGateAsync(QueueLease lease, ConnectionPool pool, Action<SemaphoreSlim> holdGate, CancellationToken cancellationToken)
    {
        var statuses = lease.Recipients.ToList();
        var now = _time.GetUtcNow();
        var envelope = lease.Envelope;

        // Notifications an earlier attempt recorded as owed. The results they report are in the queue already, so a
        // submission that fails here costs only a later retry of the notification, never a second copy of the message.
        await SendOwedNotificationsAsync(lease, statuses, now, cancellationToken).ConfigureAwait(false);

        var pendingByDomain = statuses
            .Select((status, index) => (status, index))
            .Where(p => IsPending(p.status) && IsDue(p.status, now))
            .GroupBy(p => Domain(p.status.Recipient.Address), Addressing.DomainName.Comparer)
            .ToList();
        var newlyOwed = false;
        foreach (var group in pendingByDomain)
        {
            var recipients = group.Select(p => p.status.Recipient).ToList();
            var domainGate = _domainGates.GetOrAdd(group.Key, _ => new SemaphoreSlim(Math.Max(1, _options.MaxConcurrencyPerDomain)));
            await domainGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            Dictionary<QueueRecipient, (SmtpServerReply Reply, string? Host)> outcome;
            var last = group == pendingByDomain[^1];
            try
            {
                outcome = await DeliverToDomainAsync(lease, group.Key, recipients, pool, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // A resolver that throws, say: temporary like any failed attempt, so the schedule (and the give-up) goes on.
                DeliveryLog.ConnectFailed(_logger, lease.QueueId, group.Key, ex.Message);
                var reply = new SmtpServerReply(451, [$"4.3.0 {group.Key}: local error: {ex.Message}"]);
                outcome = recipients.ToDictionary(r => r, _ => (reply, (string?)null));
            }
            finally
            {
                if (last)
                {
                    holdGate(domainGate);
                }
                else
                {
                    domainGate.Release();
                }
            }
            foreach (var (status, index) in group)
            {
                var (reply, host) = outcome[status.Recipient];
                var state = reply.IsSuccess ? RecipientState.Delivered : reply.IsPermanentFailure ? RecipientState.Failed : status.State;
                var owed = state switch
                {
                    RecipientState.Delivered => Wants(envelope, status.Recipient, DsnNotify.Success),
                    RecipientState.Failed => Wants(envelope, status.Recipient, DsnNotify.Failure),
                    _ => status.DsnPending, // still pending: a delay notice not yet sent stays owed
                };
                newlyOwed |= owed && !status.DsnPending;
                statuses[index] = status with { State = state, LastReply = reply.ToString(), RemoteHost = host, LastAttempt = now, DsnPending = owed };
            }
        }

        var age = now - envelope.ReceivedAt;
        if (age >= _options.GiveUpAfter)
        {
            // RFC 3463 4.4.7: the message is too old; what was temporary becomes final.
            for (var i = 0; i < statuses.Count; i++)
            {
                if (IsPending(statuses[i]))
                {
                    var owed = Wants(envelope, statuses[i].Recipient, DsnNotify.Failure);
                    newlyOwed |= owed;
                    statuses[i] = statuses[i] with { State = RecipientState.Failed, LastReply = $"{statuses[i].LastReply} (5.4.7 delivery time expired)", DsnPending = owed };
                }
            }
        }
        else if (age >= _options.DelayNoticeAfter)
        {
            for (var i = 0; i < statuses.Count; i++)
            {
                if (statuses[i].State == RecipientState.Pending)
                {
                    var owed = Wants(envelope, statuses[i].Recipient, DsnNotify.Delay);
                    newlyOwed |= owed;
                    statuses[i] = statuses[i] with { State = RecipientState.DelayNotified, DsnPending = owed };
                }
            }
        }

        // The results go to the queue before any notification about them is tried. Notifications owed now are sent by
        // the next lease of this entry, due at once (RunAsync takes it in its next round); one that failed waits for
        // the retry interval like a delivery.
        var pending = statuses.Where(IsPending).ToList();
        var notificationsOwed = statuses.Any(s => s.DsnPending);
        if (pending.Count == 0 && !notificationsOwed)
        {
            if (age >= _options.GiveUpAfter)
            {
                await queue.GiveUpAsync(lease, statuses, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await queue.CompleteAsync(lease, cancellationToken).ConfigureAwait(false);
            }
            return;
        }
        var next = pending.Count > 0 ? pending.Min(s => (s.LastAttempt ?? now) + _options.RetryInterval) : DateTimeOffset.MaxValue;
        if (notificationsOwed)
        {
            // What is still owed and was not owed before this attempt has not been tried yet; the rest just failed.
            var notifyAt = newlyOwed ? now : now + _options.RetryInterval;
            next = notifyAt < next ? notifyAt : next;
        }
        await queue.RescheduleAsync(lease, statuses, next, cancellationToken).ConfigureAwait(false);
    }

    private static bool IsPending(RecipientStatus status) => status.State is RecipientState.Pending or RecipientState.DelayNotified;

    // A recipient last tried less than a retry interval ago waits (its entry was leased early, to send a notification).
    private bool IsDue(RecipientStatus status, DateTimeOffset now) => status.LastAttempt is not { } last || last + _options.RetryInterval <= now;

    // Whether the sender can receive a DSN about this recipient and asked for one (RFC 3461 §4.1). A null reverse path
    // gets none (notifications about notifications would loop), nor does one that is not a mailbox.
    private static bool Wants(QueueEnvelope envelope, QueueRecipient recipient, DsnNotify flag) =>
        envelope.ReversePath.Length > 0 && EnvelopeSyntax.IsMailbox(envelope.ReversePath, envelope.SmtpUtf8)
        && (recipient.Notify == DsnNotify.Unspecified
            ? flag != DsnNotify.Success // the default is DELAY and FAILURE
            : recipient.Notify.HasFlag(flag) && !recipient.Notify.HasFlag(DsnNotify.Never));

    // Sends the notifications the queue holds as owed, one per kind, and marks those sent. One that cannot be submitted
    // stays owed, and is retried until the message is twice GiveUpAfter old, then dropped.
    private async Task SendOwedNotificationsAsync(QueueLease lease, List<RecipientStatus> statuses, DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var (state, action) in s_notifications)
        {
            var owed = Enumerable.Range(0, statuses.Count).Where(i => statuses[i].DsnPending && statuses[i].State == state).ToList();
            if (owed.Count == 0)
            {
                continue;
            }
            try
            {
                var retryUntil = action == DsnAction.Delayed ? lease.Envelope.ReceivedAt + _options.GiveUpAfter : (DateTimeOffset?)null;
                await NotifyAsync(lease, [.. owed.Select(i => statuses[i])], action, cancellationToken, retryUntil).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (now - lease.Envelope.ReceivedAt < 2 * _options.GiveUpAfter)
                {
                    DeliveryLog.NotificationFailed(_logger, lease.QueueId, action.ToString(), ex);
                    continue;
                }
                DeliveryLog.NotificationDropped(_logger, lease.QueueId, action.ToString(), ex);
            }
            foreach (var i in owed)
            {
                statuses[i] = statuses[i] with { DsnPending = false };
            }
        }
        // A pending recipient has nothing to report yet.
        for (var i = 0; i < statuses.Count; i++)
        {
            if (statuses[i].DsnPending && statuses[i].State == RecipientState.Pending)
            {
                statuses[i] = statuses[i] with { DsnPending = false };
            }
        }
    }

    private static readonly (RecipientState State, DsnAction Action)[] s_notifications =
        [(RecipientState.Failed, DsnAction.Failed), (RecipientState.DelayNotified, DsnAction.Delayed), (RecipientState.Delivered, DsnAction.Delivered)];

    private static string Domain(string address) => address[(address.LastIndexOf('@') + 1)..];

    // One attempt at a domain, in a span while something listens: a child of the span that accepted the message (its
    // traceparent travels in the envelope), however long after, and on whichever host, the attempt runs.
    private async Task<Dictionary<QueueRecipient, (SmtpServerReply Reply, string? Host)>> DeliverToDomainAsync(
        QueueLease lease, string domain, List<QueueRecipient> recipients, ConnectionPool pool, CancellationToken cancellationToken)
    {
        ActivityContext.TryParse(lease.Envelope.TraceParent, null, isRemote: true, out var parent);
        using var activity = SmtpTracing.Delivery.StartActivity("delivery.attempt", ActivityKind.Client, parent);
        var started = _time.GetTimestamp();
        var results = await TryExchangersAsync(lease, domain, recipients, pool, cancellationToken).ConfigureAwait(false);
        var delivered = 0;
        var bounced = 0;
        foreach (var (reply, _) in results.Values)
        {
            delivered += reply.IsSuccess ? 1 : 0;
            bounced += reply.IsPermanentFailure ? 1 : 0;
        }
        _metrics.Attempted(_options.SmartHost is null ? "mx" : "smart_host", delivered, results.Count - delivered - bounced, bounced, _time.GetElapsedTime(started));
        if (activity is null)
        {
            return results;
        }
        activity.SetTag("mail.queue.id", lease.QueueId);
        activity.SetTag("mail.delivery.domain", domain);
        activity.SetTag("mail.delivery.recipients", recipients.Count);
        var accepted = delivered;
        activity.SetTag("mail.delivery.accepted", accepted);
        if (results.Values.Select(r => r.Host).FirstOrDefault(h => h is not null) is { } host)
        {
            activity.SetTag("server.address", host);
        }
        if (accepted < results.Count)
        {
            var refused = results.Values.First(r => !r.Reply.IsSuccess).Reply;
            activity.SetTag("error.type", refused.Code.ToString(CultureInfo.InvariantCulture));
            activity.SetStatus(ActivityStatusCode.Error); // the reply's text often repeats the recipient's address
        }
        return results;
    }

    // Tries the domain's exchangers in order and returns a reply (real or synthesized) per recipient.
    private async Task<Dictionary<QueueRecipient, (SmtpServerReply Reply, string? Host)>> TryExchangersAsync(
        QueueLease lease, string domain, List<QueueRecipient> recipients, ConnectionPool pool, CancellationToken cancellationToken)
    {
        Dictionary<QueueRecipient, (SmtpServerReply, string?)> All(SmtpServerReply reply, string? host) =>
            recipients.ToDictionary(r => r, _ => (reply, host));

        List<(string Host, int Port)> exchangers;
        if (_options.SmartHost is { } smart)
        {
            exchangers = [(smart.Host, smart.Port)];
        }
        else
        {
            // The DNS knows an internationalised domain by its A-labels.
            var mx = await dns.LookupMxAsync(Addressing.DomainName.ToAscii(domain), cancellationToken).ConfigureAwait(false);
            switch (mx.Status)
            {
                case DnsLookupStatus.NullMx:
                    return All(new SmtpServerReply(556, [$"5.1.10 {domain} does not accept mail (null MX)"]), null);
                case DnsLookupStatus.NoSuchDomain:
                    return All(new SmtpServerReply(550, [$"5.1.2 {domain}: no such domain"]), null);
                case DnsLookupStatus.TemporaryFailure:
                    return All(new SmtpServerReply(451, [$"4.4.3 DNS lookup for {domain} failed: {mx.Error}"]), null);
                case DnsLookupStatus.NoRecords:
                    exchangers = [(Addressing.DomainName.ToAscii(domain), _options.Port)]; // RFC 5321 §5.1: the implicit MX
                    break;
                default:
                    exchangers = [.. mx.Hosts.Select(h => (h.Host, _options.Port))];
                    break;
            }
        }

        var last = new SmtpServerReply(451, [$"4.4.1 no exchanger of {domain} could be reached"]);
        string? lastHost = null;
        foreach (var (host, port) in exchangers)
        {
            var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
                ? new AddressLookupResult(DnsLookupStatus.Found, [literal])
                : await dns.LookupAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            if (addresses.Status != DnsLookupStatus.Found)
            {
                last = new SmtpServerReply(451, [$"4.4.3 {host}: {addresses.Status}"]);
                lastHost = host;
                continue;
            }
            foreach (var address in addresses.Addresses)
            {
                var endPoint = new IPEndPoint(address, port);
                // A connection left open by an earlier message of this round is tried first (one session, several
                // transactions); if it has gone stale, a fresh one follows.
                for (var reuse = pool.TryTake(endPoint); ; reuse = null)
                {
                    SmtpClientConnection? client = reuse;
                    try
                    {
                        client ??= await SmtpClientConnection.ConnectAsync(endPoint, host, ClientOptions(), cancellationToken).ConfigureAwait(false);
                        IReadOnlyList<SmtpRecipientResult> results;
                        var content = await queue.OpenContentAsync(lease.QueueId, cancellationToken).ConfigureAwait(false);
                        await using (content.ConfigureAwait(false))
                        {
                            results = await client.SendAsync(lease.Envelope with { Recipients = recipients }, content, cancellationToken).ConfigureAwait(false);
                        }
                        pool.Return(endPoint, client);
                        DeliveryLog.Attempted(_logger, lease.QueueId, host, results.Count(r => r.Reply.IsSuccess), results.Count);
                        return results.ToDictionary(r => r.Recipient, r => (r.Reply, (string?)host));
                    }
                    catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                    {
                        // Any failure of one attempt is temporary for this address, never an escape from the schedule: an
                        // exception leaving the entry unrecorded would have it retried forever, never given up or returned.
                        if (client is not null)
                        {
                            await client.DisposeAsync().ConfigureAwait(false);
                        }
                        if (reuse is not null)
                        {
                            continue; // the kept connection died; try a new one
                        }
                        // A 4xx greeting, a refused connection, a timeout or a failed TLS handshake (an untrusted certificate
                        // where it must be trusted): the next address, then the next exchanger.
                        last = (ex as SmtpClientException)?.Reply is { } reply && !reply.IsSuccess
                            ? new SmtpServerReply(451, [$"4.4.2 {host} said: {reply}"])
                            : ex switch
                            {
                                System.Security.Authentication.AuthenticationException => new SmtpServerReply(451, [$"4.7.5 {host} [{address}]: {ex.Message}"]),
                                SocketException or IOException or SmtpClientException or OperationCanceledException => new SmtpServerReply(451, [$"4.4.1 {host} [{address}]: {ex.Message}"]),
                                _ => new SmtpServerReply(451, [$"4.3.0 {host} [{address}]: local error: {ex.Message}"]),
                            };
                        lastHost = host;
                        DeliveryLog.ConnectFailed(_logger, lease.QueueId, host, ex.Message);
                        break;
                    }
                }
            }
        }
        return All(last, lastHost);
    }

    // The configured client settings with this host's name, and the smart host's login when relaying through it.
    private SmtpClientOptions ClientOptions()
    {
        var client = _options.Client;
        var options = new SmtpClientOptions
        {
            LocalName = _helloName,
            StartTls = client.StartTls,
            ValidateCertificate = client.ValidateCertificate,
            CertificateValidation = client.CertificateValidation,
            Credentials = _options.SmartHost is not null ? _options.SmartHostCredentials ?? client.Credentials : null,
            AllowPlaintextAuth = client.AllowPlaintextAuth,
            GreetingTimeout = client.GreetingTimeout,
            CommandTimeout = client.CommandTimeout,
            DataInitiationTimeout = client.DataInitiationTimeout,
            DataBlockTimeout = client.DataBlockTimeout,
            DataTerminationTimeout = client.DataTerminationTimeout,
        };
        options.TrustedCertificates.AddRange(client.TrustedCertificates);
        return options;
    }

    // Builds one DSN about these recipients and submits it into the normal mail path.
    private async Task NotifyAsync(QueueLease lease, List<RecipientStatus> recipients, DsnAction action, CancellationToken cancellationToken, DateTimeOffset? retryUntil = null)
    {
        var envelope = lease.Envelope;
        MimeMessage dsn;
        var original = await queue.OpenContentAsync(lease.QueueId, cancellationToken).ConfigureAwait(false);
        await using (original.ConfigureAwait(false))
        {
            dsn = DeliveryStatusNotification.Build(_options.ServerName, envelope, recipients, action, original, retryUntil);
        }
        await DeliveryStatusNotification.SubmitAsync(dsn, envelope.ReversePath, _time.GetUtcNow(), submitNotification, cancellationToken).ConfigureAwait(false);
        DeliveryLog.Notified(_logger, lease.QueueId, action.ToString(), Mail.Protocols.Telemetry.PersonalData.ForLog(envelope.ReversePath));
    }
}

/// <summary>Connections kept open for the rest of a delivery round, by remote address; closed with QUIT at its end.</summary>
internal sealed class ConnectionPool : IAsyncDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<IPEndPoint, System.Collections.Concurrent.ConcurrentBag<SmtpClientConnection>> _idle = new();

    public SmtpClientConnection? TryTake(IPEndPoint endPoint) =>
        _idle.TryGetValue(endPoint, out var bag) && bag.TryTake(out var connection) ? connection : null;

    public void Return(IPEndPoint endPoint, SmtpClientConnection connection) => _idle.GetOrAdd(endPoint, _ => []).Add(connection);

    public async ValueTask DisposeAsync()
    {
        foreach (var bag in _idle.Values)
        {
            while (bag.TryTake(out var connection))
            {
                await connection.QuitAsync().ConfigureAwait(false);
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}

internal static partial class DeliveryLog
{
    [LoggerMessage(4005, LogLevel.Warning, "{QueueId}: delivery attempt failed; the entry is retried when its lease runs out")]
    public static partial void AttemptFailed(ILogger logger, string queueId, Exception exception);

    [LoggerMessage(4001, LogLevel.Information, "{QueueId}: {Host} accepted {Accepted} of {Total} recipient(s)")]
    public static partial void Attempted(ILogger logger, string queueId, string host, int accepted, int total);

    [LoggerMessage(4002, LogLevel.Information, "{QueueId}: {Host} unreachable: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, string queueId, string host, string reason);

    [LoggerMessage(4008, LogLevel.Debug, "The queue's depth and oldest entry could not be read after a round")]
    public static partial void QueueGaugesFailed(ILogger logger, Exception exception);

    [LoggerMessage(4004, LogLevel.Error, "A delivery round failed")]
    public static partial void RoundFailed(ILogger logger, Exception exception);

    [LoggerMessage(4003, LogLevel.Information, "{QueueId}: {Action} notification sent to {Sender}")]
    public static partial void Notified(ILogger logger, string queueId, string action, string sender);

    [LoggerMessage(4006, LogLevel.Warning, "{QueueId}: submitting the {Action} notification failed; the results are recorded and the notification is retried later")]
    public static partial void NotificationFailed(ILogger logger, string queueId, string action, Exception exception);

    [LoggerMessage(4007, LogLevel.Error, "{QueueId}: the {Action} notification could not be submitted until the give-up time ran out twice; dropped")]
    public static partial void NotificationDropped(ILogger logger, string queueId, string action, Exception exception);
}
