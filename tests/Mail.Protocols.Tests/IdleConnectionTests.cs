using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Mail.Protocols.Connections;

namespace Mail.Protocols.Tests;

// What keeps an idle connection small (zero-byte reads, the line buffer, the default limits) must not change
// what a session reads. The memory figures themselves are measured by benchmarks/e2e/idle-memory.sh.
public class IdleConnectionTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    // Sends back every octet it reads, until the client closes.
    private sealed class EchoHandler : IConnectionHandler
    {
        public string Protocol => "test";
        public ReadOnlyMemory<byte> TooManyConnectionsReply => "BUSY\r\n"u8.ToArray();

        public async Task RunSessionAsync(MailConnection connection, ListenEndpoint endpoint)
        {
            var input = connection.Transport.Input;
            var output = connection.Transport.Output;
            while (true)
            {
                var result = await input.ReadAsync();
                foreach (var segment in result.Buffer)
                {
                    await output.WriteAsync(segment);
                }
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
    }

    // Greets and waits for the client to leave.
    private sealed class GreetingHandler : IConnectionHandler
    {
        public string Protocol => "test";
        public ReadOnlyMemory<byte> TooManyConnectionsReply => "BUSY\r\n"u8.ToArray();

        public async Task RunSessionAsync(MailConnection connection, ListenEndpoint endpoint)
        {
            await connection.Transport.Output.WriteAsync("HELLO\r\n"u8.ToArray());
            while (true)
            {
                var result = await connection.Transport.Input.ReadAsync();
                connection.Transport.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_octet_arrives_in_order_across_many_small_and_large_writes(bool implicitTls)
    {
        using var certificate = SelfSignedCertificate.Create("localhost");
        var listener = new MailListener([new ListenEndpoint(new IPEndPoint(IPAddress.Loopback, 0), implicitTls)], new EchoHandler(),
            tls: new MailTlsOptions(certificate));
        await listener.StartAsync();
        try
        {
            using var client = new TcpClient { NoDelay = true };
            await client.ConnectAsync(listener.BoundEndPoints[0]);
            Stream stream = client.GetStream();
            if (implicitTls)
            {
                var ssl = new SslStream(stream);
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = "localhost",
                    RemoteCertificateValidationCallback = static (_, _, _, _) => true,
                });
                stream = ssl;
            }

            // Writes of one octet, around the pipe's buffer and read sizes (2048, 8192) and far beyond them,
            // each flushed on its own so the server sees them as separate arrivals.
            int[] sizes = [1, 1, 2, 3, 2047, 2048, 2049, 1, 8191, 8192, 8193, 1, 65536, 1, 300_000, 5, 16_385, 1, 1, 100];
            var total = sizes.Sum();
            var sent = new byte[total];
            new Random(12345).NextBytes(sent);
            var received = new byte[total];
            using var timeout = new CancellationTokenSource(s_timeout);
            var reading = Task.Run(async () =>
            {
                var at = 0;
                while (at < total)
                {
                    var n = await stream.ReadAsync(received.AsMemory(at), timeout.Token);
                    Assert.NotEqual(0, n);
                    at += n;
                }
            });
            var offset = 0;
            foreach (var size in sizes)
            {
                await stream.WriteAsync(sent.AsMemory(offset, size), timeout.Token);
                await stream.FlushAsync(timeout.Token);
                offset += size;
            }
            await reading;
            Assert.True(sent.AsSpan().SequenceEqual(received), "the echo differs from what was sent");
        }
        finally
        {
            await listener.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_long_line_gets_its_own_buffer_which_is_let_go_at_the_next_read()
    {
        var pipe = new Pipe();
        var replies = new Pipe();
        var connection = new MailConnection(new TestDuplexPipe(pipe.Reader, replies.Writer));
        var io = new SessionIO(connection);
        var longLine = new string('a', 5000);
        await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes(longLine + "\r\n"));

        Assert.Equal(LineReadOutcome.Line, await io.ReadLineAsync(10_000, s_timeout));
        Assert.Equal(longLine, Encoding.ASCII.GetString(io.Line));
        Assert.True(io.LineCapacity >= 5000);

        // Waiting for the next line (none has arrived yet), the connection holds only the short line buffer.
        var next = io.ReadLineAsync(10_000, s_timeout);
        Assert.False(next.IsCompleted);
        Assert.Equal(256, io.LineCapacity);

        await pipe.Writer.WriteAsync("NOOP\r\n"u8.ToArray());
        Assert.Equal(LineReadOutcome.Line, await next);
        Assert.Equal("NOOP", Encoding.ASCII.GetString(io.Line));
        Assert.Equal(256, io.LineCapacity);

        // A long line after a short one is read whole again.
        await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes(longLine + "b\r\nQUIT\r\n"));
        Assert.Equal(LineReadOutcome.Line, await io.ReadLineAsync(10_000, s_timeout));
        Assert.Equal(longLine + "b", Encoding.ASCII.GetString(io.Line));
        Assert.Equal(LineReadOutcome.Line, await io.ReadLineAsync(10_000, s_timeout));
        Assert.Equal("QUIT", Encoding.ASCII.GetString(io.Line));
        Assert.Equal(256, io.LineCapacity);
    }

    [Fact]
    public void Default_limits_allow_ten_thousand_connections_and_fifty_per_address()
    {
        var limits = new ConnectionLimits();
        Assert.Equal(10_000, limits.MaxConnections);
        Assert.Equal(50, limits.MaxConnectionsPerAddress);
    }

    [Fact]
    public async Task A_listener_with_default_limits_holds_more_than_a_thousand_connections()
    {
        // 1,050 connections from 21 loopback source addresses, 50 each (the per-address default).
        const int addresses = 21;
        const int perAddress = 50;
        var listener = new MailListener([new ListenEndpoint(new IPEndPoint(IPAddress.Loopback, 0))], new GreetingHandler());
        await listener.StartAsync();
        var clients = new List<Socket>();
        try
        {
            using var timeout = new CancellationTokenSource(s_timeout);
            for (var a = 0; a < addresses; a++)
            {
                var source = IPAddress.Parse($"127.0.0.{10 + a}");
                var batch = new List<Task<string>>();
                for (var i = 0; i < perAddress; i++)
                {
                    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    clients.Add(socket);
                    socket.Bind(new IPEndPoint(source, 0));
                    batch.Add(ConnectAndReadLineAsync(socket, listener.BoundEndPoints[0], timeout.Token));
                }
                foreach (var line in await Task.WhenAll(batch))
                {
                    Assert.Equal("HELLO", line);
                }
            }
            Assert.Equal(addresses * perAddress, listener.ConnectionCount);
        }
        finally
        {
            foreach (var socket in clients)
            {
                socket.Dispose();
            }
            await listener.DisposeAsync();
        }
    }

    private static async Task<string> ConnectAndReadLineAsync(Socket socket, EndPoint server, CancellationToken cancellationToken)
    {
        await socket.ConnectAsync(server, cancellationToken);
        var buffer = new byte[64];
        var length = 0;
        while (length == 0 || buffer[length - 1] != (byte)'\n')
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
            if (n == 0)
            {
                break;
            }
            length += n;
        }
        return Encoding.ASCII.GetString(buffer, 0, length).TrimEnd();
    }

}
