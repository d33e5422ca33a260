using System.Globalization;
using System.Net;

namespace Mail.Protocols.Hosting.Configuration;

/// <summary>
/// The settings of the delivery agent that configuration gives beside <c>DeliveryAgentOptions</c> (<c>Mail:Delivery</c>):
/// how often it looks for due messages, the smart host as text, and the name servers.
/// </summary>
public sealed class DeliverySettings
{
    /// <summary>How often the agent looks for due messages. Defaults to 30 seconds.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Relay every message through this host instead of looking up MX records: <c>host:port</c>, or <c>host</c> for port 25.</summary>
    public string? SmartHost { get; set; }

    /// <summary>
    /// The name servers to ask for MX and address records, each <c>address</c> or <c>address:port</c> (<c>[IPv6]:port</c>);
    /// empty (the default): the system's. Used only when the application registers no <c>IDnsResolver</c> of its own.
    /// </summary>
    public IList<string> NameServers { get; } = [];

    /// <summary>What is wrong with the settings, each message naming its setting under <paramref name="path"/>.</summary>
    internal IEnumerable<string> Check(string path)
    {
        if (PollInterval <= TimeSpan.Zero)
        {
            yield return $"{path}:PollInterval: must be positive.";
        }
        if (SmartHost is { } smartHost && ParseSmartHost(smartHost) is null)
        {
            yield return $"{path}:SmartHost: '{smartHost}' is not host:port (a host name or address, then a port from 1 to 65535).";
        }
        for (var i = 0; i < NameServers.Count; i++)
        {
            if (ParseNameServer(NameServers[i]) is null)
            {
                yield return $"{path}:NameServers:{i}: '{NameServers[i]}' is not an IP address with an optional port (192.0.2.53, 127.0.0.1:5353, [2001:db8::53]:53).";
            }
        }
    }

    /// <summary>A name server as an endpoint (port 53 unless given), or null when the text is not an IP address and an optional port.</summary>
    /// <remarks>IPv4 only in its four-part dotted form: "8.8" would otherwise be 8.0.0.8.</remarks>
    internal static IPEndPoint? ParseNameServer(string text) =>
        ListenerValidation.IsAddressText(text) && IPAddress.TryParse(text, out var bare) ? new IPEndPoint(bare, 53)
        : ParseSmartHost(text) is { } endPoint && ListenerValidation.IsAddressText(endPoint.Host) && IPAddress.TryParse(endPoint.Host, out var address)
            ? new IPEndPoint(address, text.EndsWith(":" + endPoint.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal) ? endPoint.Port : 53)
            : null;

    /// <summary>The smart host as an endpoint, or null when the text is not <c>host[:port]</c>.</summary>
    internal static DnsEndPoint? ParseSmartHost(string text)
    {
        // "[2001:db8::1]:587", "relay.example:587", "relay.example".
        string host;
        var port = 25;
        var colon = text.LastIndexOf(':');
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || (close + 1 < text.Length && text[close + 1] != ':'))
            {
                return null;
            }
            host = text[1..close];
            colon = close + 1 < text.Length ? close + 1 : -1;
        }
        else
        {
            if (colon >= 0 && text.IndexOf(':', StringComparison.Ordinal) != colon)
            {
                return null; // an IPv6 address needs its brackets before a port
            }
            host = colon < 0 ? text : text[..colon];
        }
        if (colon >= 0 && (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > IPEndPoint.MaxPort))
        {
            return null;
        }
        return host.Length == 0 || host.Any(char.IsWhiteSpace) ? null : new DnsEndPoint(host, port);
    }
}
