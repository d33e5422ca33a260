using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Mail.Protocols.Smtp.Tests.Dns;

/// <summary>
/// A real DNS server for the tests: Debian's dnsmasq (installed by .ci/run) on 127.0.0.1 and a free port, with
/// a zone of its own and no upstream. Stopped by its PID when disposed.
/// </summary>
public sealed class DnsmasqServer : IDisposable
{
    private const string Binary = "/usr/sbin/dnsmasq";
    private readonly Process _process;

    // The upstream of slow.test: a UDP socket this server holds open and never reads, so queries to it time out.
    private readonly Socket _silentUpstream = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

    public DnsmasqServer()
    {
        Assert.True(File.Exists(Binary), "dnsmasq is required for the DNS tests (Debian package dnsmasq-base; .ci/run installs it)");
        _silentUpstream.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        // The port is free when picked but may be taken before dnsmasq binds it (a race with anything else on the
        // machine): then dnsmasq exits, and it is started again on another one.
        for (var attempt = 1; ; attempt++)
        {
            Port = FreeUdpPort();
            _process = Start(Port, ((IPEndPoint)_silentUpstream.LocalEndPoint!).Port);
            if (WaitUntilAnswering())
            {
                return;
            }
            var error = _process.StandardError.ReadToEnd();
            _process.Dispose();
            Assert.True(attempt < 5 && error.Contains("in use", StringComparison.OrdinalIgnoreCase), "dnsmasq exited: " + error);
        }
    }

    private static Process Start(int port, int silentUpstreamPort)
    {
        var start = new ProcessStartInfo(Binary) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[]
        {
            "--keep-in-foreground", $"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces",
            "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=", "--local=/test/",
            // Two exchangers with different preferences, and their addresses.
            "--mx-host=mx.test,mail.mx.test,10", "--mx-host=mx.test,backup.mx.test,20",
            "--host-record=mail.mx.test,127.0.0.2", "--host-record=backup.mx.test,127.0.0.3",
            // Equal preferences, to see both orders.
            "--mx-host=equal.test,a.equal.test,5", "--mx-host=equal.test,b.equal.test,5",
            // RFC 7505 null MX: preference 0, exchange "." (raw RDATA 0000 00).
            "--dns-rr=nullmx.test,15,000000",
            // A domain with an address but no MX: the implicit MX case.
            "--host-record=nomx.test,127.0.0.4,::1",
            // The forwarding host of the SRS bounce test (an implicit MX on its own loopback address).
            "--host-record=srs.test,127.0.0.5",
            // An upstream that never answers: the query times out.
            $"--server=/slow.test/127.0.0.1#{silentUpstreamPort}",
        })
        {
            start.ArgumentList.Add(argument);
        }
        return Process.Start(start)!;
    }

    public int Port { get; private set; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    private static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    // True once dnsmasq answers; false when it exited (its port was taken).
    private bool WaitUntilAnswering()
    {
        // Ask for a known name until dnsmasq answers (it starts in milliseconds; bounded at 10 s).
        var query = new byte[] { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 2, (byte)'m', (byte)'x', 4, (byte)'t', (byte)'e', (byte)'s', (byte)'t', 0, 0, 15, 0, 1 };
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 200 };
        var buffer = new byte[512];
        for (var i = 0; i < 50; i++)
        {
            if (_process.HasExited)
            {
                return false;
            }
            socket.SendTo(query, EndPoint);
            try
            {
                if (socket.Receive(buffer) > 0)
                {
                    return true;
                }
            }
            catch (SocketException)
            {
            }
        }
        Assert.Fail("dnsmasq did not answer");
        return false;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }
        _process.Dispose();
        _silentUpstream.Dispose();
    }
}
