using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Mail.Protocols.Telemetry;

/// <summary>The instruments of the core (meter <c>Mail.Protocols</c>); see docs/telemetry.md.</summary>
public static class CoreMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Mail.Protocols";

    private static readonly Meter s_meter = new(MeterName, "0.1.0");
    private static readonly UpDownCounter<long> s_active = s_meter.CreateUpDownCounter<long>("mail.connections.active", "{connection}", "Open connections.");
    private static readonly Counter<long> s_opened = s_meter.CreateCounter<long>("mail.connections.opened", "{connection}", "Accepted connections.");
    private static readonly Counter<long> s_rejected = s_meter.CreateCounter<long>("mail.connections.rejected", "{connection}", "Connections refused by a connection limit.");
    private static readonly Counter<long> s_discarded = s_meter.CreateCounter<long>("mail.tls.pipelined_discarded", "By", "Plaintext octets pipelined after STARTTLS/STLS and discarded.");

    internal static void ConnectionOpened(string protocol)
    {
        var tags = new TagList { { "network.protocol.name", protocol } };
        s_active.Add(1, tags);
        s_opened.Add(1, tags);
    }

    internal static void ConnectionClosed(string protocol) => s_active.Add(-1, new TagList { { "network.protocol.name", protocol } });

    internal static void ConnectionRejected(string protocol) => s_rejected.Add(1, new TagList { { "network.protocol.name", protocol } });

    /// <summary>Counts plaintext discarded at a TLS upgrade (engines call it).</summary>
    public static void PipelinedPlaintextDiscarded(string protocol, long octets) => s_discarded.Add(octets, new TagList { { "network.protocol.name", protocol } });
}
