using System.Net;
using System.Reflection;
using DnsClient;

namespace Mail.Protocols.Fuzz.Targets.Dns;

/// <summary>
/// DnsClient's own reader of DNS messages, the one its UDP and TCP handlers use on what a server sent, reached by reflection
/// (it is internal to DnsClient): the fuzz input becomes the <see cref="IDnsQueryResponse"/> a lookup would have returned.
/// Checked against the DnsClient version the solution pins; a version without these members fails at the first run.
/// </summary>
internal static class DnsWire
{
    private static readonly Type s_handlerType = typeof(LookupClient).Assembly.GetType("DnsClient.DnsUdpMessageHandler", throwOnError: true)!;
    private static readonly object s_handler = Activator.CreateInstance(s_handlerType, nonPublic: true)!;
    private static readonly MethodInfo s_read = s_handlerType.GetMethod("GetResponseMessage", BindingFlags.Public | BindingFlags.Instance)
        ?? throw new MissingMethodException(s_handlerType.FullName, "GetResponseMessage");
    private static readonly NameServer s_server = new(IPAddress.Loopback);
    private static readonly DnsQuerySettings s_settings = new(new DnsQueryAndServerOptions());

    /// <summary>The response DnsClient reads from <paramref name="message"/>, or null when it refuses it (a lookup then fails).</summary>
    public static IDnsQueryResponse? Read(byte[] message)
    {
        object? response;
        try
        {
            response = s_read.Invoke(s_handler, [new ArraySegment<byte>(message)]);
        }
        catch (TargetInvocationException)
        {
            return null;
        }

        var asQueryResponse = response!.GetType().GetMethod("AsQueryResponse", BindingFlags.Public | BindingFlags.Instance)
            ?? throw new MissingMethodException(response.GetType().FullName, "AsQueryResponse");
        return (IDnsQueryResponse)asQueryResponse.Invoke(response, [s_server, s_settings])!;
    }
}
