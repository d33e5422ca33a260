using System.Net;
using System.Net.Sockets;
using Mail.Protocols.Connections;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Tests;

public class TlsHandshakeTimeoutTests
{
    [Fact]
    public async Task A_client_that_never_starts_the_handshake_times_out_as_tls_handshake()
    {
        using var certificate = SelfSignedCertificate.Create("localhost");
        var time = new FakeTimeProvider();
        using var heartbeat = new Heartbeat(time);
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
            using var accepted = await listener.AcceptSocketAsync();
            await using var connection = new MailConnection(new NetworkStream(accepted, ownsSocket: false), accepted.RemoteEndPoint, accepted.LocalEndPoint,
                new MailTlsOptions(certificate) { HandshakeTimeout = TimeSpan.FromSeconds(30) }, heartbeat, socket: null);

            var handshake = connection.StartTlsAsync().AsTask();
            var succeeded = await time.AdvanceUntilDoneAsync(handshake, TimeSpan.FromSeconds(5));

            Assert.False(succeeded);
            Assert.Equal(TimeoutReason.TlsHandshake, connection.TimedOut);
        }
        finally
        {
            listener.Stop();
        }
    }
}
