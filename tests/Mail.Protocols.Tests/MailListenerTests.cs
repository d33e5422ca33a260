using System.Net;
using System.Net.Sockets;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Telemetry;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Mail.Protocols.Tests;

public class MailListenerTests
{
    // Greets, then holds the connection open until the server shuts down or the client leaves.
    private sealed class HoldingHandler : IConnectionHandler
    {
        public string Protocol => "test";
        public ReadOnlyMemory<byte> TooManyConnectionsReply => "BUSY\r\n"u8.ToArray();
        public int Started;

        public async Task RunSessionAsync(MailConnection connection, ListenEndpoint endpoint)
        {
            Interlocked.Increment(ref Started);
            await connection.Transport.Output.WriteAsync("HELLO\r\n"u8.ToArray());
            while (true)
            {
                var result = await connection.Transport.Input.ReadAsync();
                if (result.IsCanceled && connection.IsShutdownRequested)
                {
                    await connection.Transport.Output.WriteAsync("BYE\r\n"u8.ToArray());
                    return;
                }
                connection.Transport.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
    }

    private static async Task<string?> FirstLineAsync(TcpClient client)
    {
        var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        return await reader.ReadLineAsync(timeout.Token);
    }

    [Fact]
    public async Task Each_listener_counts_its_own_connections_exactly_on_the_meter_of_its_factory()
    {
        using var meters = new TestMeterFactory();
        using var otherMeters = new TestMeterFactory();
        using var opened = new MetricCollector<long>(meters, CoreMetrics.MeterName, "mail.connections.opened");
        using var active = new MetricCollector<long>(meters, CoreMetrics.MeterName, "mail.connections.active");
        using var rejected = new MetricCollector<long>(meters, CoreMetrics.MeterName, "mail.connections.rejected");
        using var otherOpened = new MetricCollector<long>(otherMeters, CoreMetrics.MeterName, "mail.connections.opened");
        var limits = new ConnectionLimits { MaxConnectionsPerAddress = 1 };
        var listener = new MailListener([new ListenEndpoint(new IPEndPoint(IPAddress.Loopback, 0))], new HoldingHandler(), limits, meterFactory: meters);
        var other = new MailListener([new ListenEndpoint(new IPEndPoint(IPAddress.Loopback, 0))], new HoldingHandler(), meterFactory: otherMeters);
        await listener.StartAsync();
        await other.StartAsync();
        using (var a = new TcpClient())
        using (var b = new TcpClient())
        using (var c = new TcpClient())
        using (var d = new TcpClient())
        {
            await a.ConnectAsync(listener.BoundEndPoints[0]);
            Assert.Equal("HELLO", await FirstLineAsync(a));
            await b.ConnectAsync(listener.BoundEndPoints[0]);
            Assert.Equal("BUSY", await FirstLineAsync(b));
            await c.ConnectAsync(other.BoundEndPoints[0]);
            Assert.Equal("HELLO", await FirstLineAsync(c));
            await d.ConnectAsync(other.BoundEndPoints[0]);
            Assert.Equal("HELLO", await FirstLineAsync(d));
            await listener.DisposeAsync(); // ends the open session: its connection closes
            await other.DisposeAsync();
        }

        Assert.Equal([1L], opened.GetMeasurementSnapshot().Select(m => m.Value));
        Assert.Equal("test", opened.GetMeasurementSnapshot()[0].Tags["network.protocol.name"]);
        Assert.Equal([1L], rejected.GetMeasurementSnapshot().Select(m => m.Value));
        Assert.Equal([1L, -1L], active.GetMeasurementSnapshot().Select(m => m.Value));
        Assert.Equal([1L, 1L], otherOpened.GetMeasurementSnapshot().Select(m => m.Value));
    }

    [Fact]
    public async Task Connections_over_the_per_address_limit_get_the_refusal_line_and_are_closed()
    {
        var limits = new ConnectionLimits { MaxConnectionsPerAddress = 2 };
        var handler = new HoldingHandler();
        await using var listener = new MailListener([new ListenEndpoint(new IPEndPoint(IPAddress.Loopback, 0))], handler, limits);
        await listener.StartAsync();
        var endpoint = listener.BoundEndPoints[0];
        using var a = new TcpClient();
        using var b = new TcpClient();
        using var c = new TcpClient();
        await a.ConnectAsync(endpoint);
        Assert.Equal("HELLO", await FirstLineAsync(a));
        await b.ConnectAsync(endpoint);
        Assert.Equal("HELLO", await FirstLineAsync(b));
        await c.ConnectAsync(endpoint);
        var reader = new StreamReader(c.GetStream(), Encoding.ASCII);
        Assert.Equal("BUSY", await reader.ReadLineAsync());
        Assert.Null(await reader.ReadLineAsync());
        Assert.Equal(2, handler.Started);

        // A slot frees up when a client leaves.
        a.Close();
        for (var i = 0; i < 100 && listener.ConnectionCount > 1; i++)
        {
            await Task.Delay(50);
        }
        using var d = new TcpClient();
        await d.ConnectAsync(endpoint);
        Assert.Equal("HELLO", await FirstLineAsync(d));
    }

    [Fact]
    public async Task Listens_on_ipv4_and_ipv6_endpoints_at_once()
    {
        var handler = new HoldingHandler();
        await using var listener = new MailListener(
            [new ListenEndpoint(new IPEndPoint(IPAddress.Loopback, 0)), new ListenEndpoint(new IPEndPoint(IPAddress.IPv6Loopback, 0))], handler);
        await listener.StartAsync();
        Assert.Equal(2, listener.BoundEndPoints.Count);
        foreach (var endpoint in listener.BoundEndPoints)
        {
            using var client = new TcpClient(endpoint.AddressFamily);
            await client.ConnectAsync(endpoint);
            Assert.Equal("HELLO", await FirstLineAsync(client));
        }
    }

    [Fact]
    public async Task Stop_asks_sessions_to_finish_then_closes_them()
    {
        var handler = new HoldingHandler();
        var listener = new MailListener([new ListenEndpoint(new IPEndPoint(IPAddress.Loopback, 0))], handler);
        await listener.StartAsync();
        using var client = new TcpClient();
        await client.ConnectAsync(listener.BoundEndPoints[0]);
        var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
        Assert.Equal("HELLO", await reader.ReadLineAsync());
        await listener.StopAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("BYE", await reader.ReadLineAsync());
        Assert.Null(await reader.ReadLineAsync());
        Assert.Equal(0, listener.ConnectionCount);
        using var late = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => late.ConnectAsync(listener.BoundEndPoints[0]));
    }
}
