using System.Net;
using System.Net.Sockets;

namespace Mail.Protocols.TestSupport;

/// <summary>Ports for servers a test starts by hand on 127.0.0.1.</summary>
public static class LoopbackPort
{
    /// <summary>A port nothing listens on right now (the system's choice of a free one, let go at once).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
