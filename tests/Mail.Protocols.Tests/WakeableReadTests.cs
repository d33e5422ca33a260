using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Mail.Protocols.Connections;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Tests;

/// <summary>A wait for client input that the session's own news can end, without losing or reordering client octets.</summary>
public sealed class WakeableReadTests
{

    private static async Task<string> ReadLineAsync(SessionIO io)
    {
        Assert.Equal(LineReadOutcome.Line, await io.ReadLineAsync(1000, TimeSpan.FromMinutes(1)));
        return Encoding.ASCII.GetString(io.Line);
    }

    [Fact]
    public async Task A_signal_wakes_the_wait_and_the_octets_the_client_sends_next_are_read_in_order()
    {
        var fromClient = new Pipe();
        var toClient = new Pipe();
        await using var connection = new MailConnection(new TestDuplexPipe(fromClient.Reader, toClient.Writer));
        var io = new SessionIO(connection);
        var signal = new SessionSignal();

        var waiting = io.WaitForInputAsync(signal, TimeSpan.FromMinutes(30), TimeoutReason.ImapIdle).AsTask();
        Assert.False(waiting.IsCompleted);
        signal.Set();
        Assert.Equal(InputWaitOutcome.Signalled, await waiting);
        Assert.False(signal.IsSet);

        // The session writes its news while the read stays pending; the client answers at once.
        io.Write("* 1 EXISTS\r\n"u8);
        await fromClient.Writer.WriteAsync("DO"u8.ToArray());
        Assert.Throws<InvalidOperationException>(() => io.BeginLiteral(1));
        Assert.Equal(InputWaitOutcome.InputAvailable, await io.WaitForInputAsync(signal, TimeSpan.FromMinutes(30), TimeoutReason.ImapIdle));
        var reading = io.ReadLineAsync(1000, TimeSpan.FromMinutes(1)).AsTask();
        await fromClient.Writer.WriteAsync("NE\r\nA2 NOOP\r\n"u8.ToArray());
        Assert.Equal(LineReadOutcome.Line, await reading);
        Assert.Equal("DONE", Encoding.ASCII.GetString(io.Line));
        Assert.Equal("A2 NOOP", await ReadLineAsync(io));

        var written = await toClient.Reader.ReadAsync();
        Assert.Equal("* 1 EXISTS\r\n", Encoding.ASCII.GetString(written.Buffer.ToArray()));
    }

    [Fact]
    public async Task Input_already_buffered_is_reported_before_a_signal_and_a_set_signal_is_reported_without_waiting()
    {
        var fromClient = new Pipe();
        await using var connection = new MailConnection(new TestDuplexPipe(fromClient.Reader, new Pipe().Writer));
        var io = new SessionIO(connection);
        var signal = new SessionSignal();

        signal.Set();
        Assert.Equal(InputWaitOutcome.Signalled, await io.WaitForInputAsync(signal, TimeSpan.FromMinutes(1), TimeoutReason.ImapIdle));

        await fromClient.Writer.WriteAsync("A1 NOOP\r\n"u8.ToArray());
        signal.Set();
        Assert.Equal(InputWaitOutcome.InputAvailable, await io.WaitForInputAsync(signal, TimeSpan.FromMinutes(1), TimeoutReason.ImapIdle));
        Assert.Equal("A1 NOOP", await ReadLineAsync(io));
        Assert.Equal(InputWaitOutcome.Signalled, await io.WaitForInputAsync(signal, TimeSpan.FromMinutes(1), TimeoutReason.ImapIdle));

        fromClient.Writer.Complete();
        Assert.Equal(InputWaitOutcome.Closed, await io.WaitForInputAsync(signal, TimeSpan.FromMinutes(1), TimeoutReason.ImapIdle));
    }

    [Fact]
    public async Task A_wait_times_out_with_its_reason_and_a_shutdown_request_ends_it()
    {
        var time = new FakeTimeProvider();
        using var heartbeat = new Heartbeat(time);
        var signal = new SessionSignal();

        await using (var connection = new MailConnection(new TestDuplexPipe(new Pipe().Reader, new Pipe().Writer), null, null, heartbeat, isSecure: false))
        {
            var io = new SessionIO(connection);
            var waiting = io.WaitForInputAsync(signal, TimeSpan.FromMinutes(29), TimeoutReason.ImapIdle).AsTask();
            await FakeTimeExtensions.WaitUntilAsync(() => connection.HasDeadline);
            time.Advance(TimeSpan.FromMinutes(28));
            Assert.False(waiting.IsCompleted);
            time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
            Assert.Equal(InputWaitOutcome.TimedOut, await waiting);
            Assert.Equal(TimeoutReason.ImapIdle, connection.TimedOut);
        }

        await using (var connection = new MailConnection(new TestDuplexPipe(new Pipe().Reader, new Pipe().Writer), null, null, heartbeat, isSecure: false))
        {
            var io = new SessionIO(connection);
            var waiting = io.WaitForInputAsync(signal, TimeSpan.FromMinutes(29), TimeoutReason.ImapIdle).AsTask();
            connection.RequestShutdown();
            Assert.Equal(InputWaitOutcome.ShutdownRequested, await waiting);
        }
    }

    [Fact]
    public async Task Over_tls_many_wake_ups_racing_client_lines_lose_and_reorder_nothing()
    {
        using var certificate = SelfSignedCertificate.Create("localhost");
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
            using var accepted = await listener.AcceptSocketAsync();
            var serverStream = new NetworkStream(accepted, ownsSocket: false);
            await using var connection = new MailConnection(serverStream, accepted.RemoteEndPoint, accepted.LocalEndPoint, new MailTlsOptions(certificate), timeProvider: null, socket: null);
            await using var clientTls = new SslStream(client.GetStream(), false, (_, _, _, _) => true);
            var handshake = connection.StartTlsAsync().AsTask();
            await clientTls.AuthenticateAsClientAsync("localhost");
            Assert.True(await handshake);

            const int rounds = 200;
            var io = new SessionIO(connection);
            var signal = new SessionSignal();

            // The client sends a numbered line each time it sees a notification, so client octets and
            // wake-ups race; the server must read every line once, in order.
            var clientSide = Task.Run(async () =>
            {
                var reader = new StreamReader(clientTls, Encoding.ASCII);
                for (var i = 0; i < rounds; i++)
                {
                    var line = await reader.ReadLineAsync();
                    Assert.Equal($"* {i} EXISTS", line);
                    await clientTls.WriteAsync(Encoding.ASCII.GetBytes($"L{i}\r\n"));
                }
            });

            var serverSide = Task.Run(async () =>
            {
                var notified = 0;
                var expected = 0;
                signal.Set();
                while (expected < rounds)
                {
                    var outcome = await io.WaitForInputAsync(signal, TimeSpan.FromMinutes(5), TimeoutReason.ImapIdle);
                    if (outcome == InputWaitOutcome.Signalled)
                    {
                        io.Write(Encoding.ASCII.GetBytes($"* {notified++} EXISTS\r\n"));
                        continue;
                    }
                    Assert.Equal(InputWaitOutcome.InputAvailable, outcome);
                    Assert.Equal($"L{expected++}", await ReadLineAsync(io));
                    if (notified < rounds)
                    {
                        // News arrives from another thread while the client's next octets may be in flight.
                        _ = Task.Run(signal.Set);
                    }
                }
                return notified;
            });

            // Whichever side fails first fails the test (a failed client would leave the server waiting).
            await await Task.WhenAny(serverSide, clientSide).WaitAsync(TimeSpan.FromMinutes(2));
            await clientSide.WaitAsync(TimeSpan.FromMinutes(2));
            var notified = await serverSide.WaitAsync(TimeSpan.FromMinutes(2));
            Assert.Equal(rounds, notified);
        }
        finally
        {
            listener.Stop();
        }
    }
}
