using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace Mail.Protocols.Telemetry;

/// <summary>
/// The instruments of the core (meter <c>Mail.Protocols</c>); see docs/telemetry.md. Each server or listener
/// given an <see cref="IMeterFactory"/> records on a meter of its own from that factory; without one, on the
/// process-wide meter of the same name.
/// </summary>
internal sealed class CoreMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = MailMeters.Connections;

    // The instrumentation's version: the assembly's (without SourceLink's "+commit").
    private static readonly string? s_version = InstrumentationVersion.Of(typeof(CoreMetrics));
    private static readonly CoreMetrics s_shared = new(new Meter(MeterName, s_version));
    private readonly UpDownCounter<long> _active;
    private readonly Counter<long> _opened;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _discarded;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _lockouts;
    private readonly Counter<long> _logins;

    private CoreMetrics(Meter meter)
    {
        _active = meter.CreateUpDownCounter<long>("mail.connections.active", "{connection}", "Open connections.");
        _opened = meter.CreateCounter<long>("mail.connections.opened", "{connection}", "Accepted connections.");
        _rejected = meter.CreateCounter<long>("mail.connections.rejected", "{connection}", "Connections refused by a connection limit.");
        _discarded = meter.CreateCounter<long>("mail.tls.pipelined_discarded", "By", "Plaintext octets pipelined after STARTTLS/STLS and discarded.");
        _rateLimited = meter.CreateCounter<long>("mail.rate_limit.refused", "{request}", "Connections, logins and messages refused by a rate limit, by mail.rate_limit.");
        _logins = meter.CreateCounter<long>("mail.auth.attempts", "{attempt}", "Logins attempted, by protocol, mechanism and outcome.");
        _lockouts = meter.CreateCounter<long>("mail.rate_limit.lockouts", "{lockout}", "Lock-outs started by failed logins, by mail.rate_limit.");
    }

    /// <summary>The instruments on a meter from <paramref name="meterFactory"/>, or the process-wide ones when it is null.</summary>
    internal static CoreMetrics For(IMeterFactory? meterFactory) =>
        meterFactory is null ? s_shared : new CoreMetrics(meterFactory.Create(new MeterOptions(MeterName) { Version = s_version }));

    internal void ConnectionOpened(string protocol)
    {
        var tags = new TagList { { "network.protocol.name", protocol } };
        _active.Add(1, tags);
        _opened.Add(1, tags);
    }

    internal void ConnectionClosed(string protocol) => _active.Add(-1, new TagList { { "network.protocol.name", protocol } });

    internal void ConnectionRejected(string protocol) => _rejected.Add(1, new TagList { { "network.protocol.name", protocol } });

    /// <summary>Counts plaintext discarded at a TLS upgrade (engines call it).</summary>
    internal void PipelinedPlaintextDiscarded(string protocol, long octets) => _discarded.Add(octets, new TagList { { "network.protocol.name", protocol } });

    /// <summary>Counts a connection, login or message refused by one of the <see cref="RateLimits.SessionRateLimits"/>.</summary>
    internal void RateLimited(string protocol, RateLimits.SessionRateLimit limit) =>
        _rateLimited.Add(1, new TagList { { "network.protocol.name", protocol }, { "mail.rate_limit", TagOf(limit) } });

    /// <summary>Counts a lock-out that a failed login started.</summary>
    internal void RateLimitLockout(string protocol, RateLimits.SessionRateLimit limit) =>
        _lockouts.Add(1, new TagList { { "network.protocol.name", protocol }, { "mail.rate_limit", TagOf(limit) } });

    /// <summary>Counts a login attempt: its method (a SASL mechanism, or USER, APOP, LOGIN) and how it ended.</summary>
    internal void LoginAttempted(string protocol, string method, string outcome)
    {
        if (_logins.Enabled)
        {
            _logins.Add(1, new TagList { { "network.protocol.name", protocol }, { "mail.auth.mechanism", method }, { "mail.auth.outcome", outcome } });
        }
    }

    private static string TagOf(RateLimits.SessionRateLimit limit) => limit switch
    {
        RateLimits.SessionRateLimit.ConnectionsPerAddress => "connections_per_address",
        RateLimits.SessionRateLimit.AuthFailuresPerAddress => "auth_failures_per_address",
        RateLimits.SessionRateLimit.AuthFailuresPerLogin => "auth_failures_per_login",
        _ => "messages_per_user",
    };
}
