using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Mail.Protocols.Hosting;

namespace Mail.Protocols.Pop3.Tests.Tls;

/// <summary>STLS over a real loopback socket with a raw client, so the exact bytes on the wire are under test control.</summary>
public class StlsTests
{
    [Fact]
    public async Task Pipelined_login_after_stls_is_discarded()
    {
        var options = new MailHostOptions { SmtpPort = null, SubmissionPort = null, SmtpsPort = null, Pop3Port = 0, Pop3sPort = null, ImapPort = null, ImapsPort = null, ServerName = "pop.example.test" };
        options.Domains.Add("example.test");
        options.Users.Add(("alice@example.test", "alice"));
        await using var host = new MailHost(options);
        await host.StartAsync();
        var expected = host.Certificate.GetCertHashString();

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(host.EndPoints["pop3"]);
        var network = tcp.GetStream();
        var plain = new StreamReader(network, Encoding.ASCII);
        Assert.StartsWith("+OK", await plain.ReadLineAsync());

        // The attack: a login injected in the same packet as STLS.
        await network.WriteAsync("STLS\r\nUSER alice@example.test\r\nPASS alice\r\n"u8.ToArray());
        Assert.Equal("+OK Begin TLS negotiation", await plain.ReadLineAsync());

        await using var tls = new SslStream(network, leaveInnerStreamOpen: true, (_, certificate, _, _) => certificate?.GetCertHashString() == expected);
        await tls.AuthenticateAsClientAsync("localhost");
        var reader = new StreamReader(tls, Encoding.ASCII);
        async Task<string?> Command(string line)
        {
            await tls.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
            return await reader.ReadLineAsync();
        }

        Assert.Equal("-ERR Not logged in", await Command("STAT"));
        Assert.Equal("-ERR USER first", await Command("PASS alice"));
        Assert.Equal("-ERR TLS already active", await Command("STLS"));
        Assert.Equal("+OK", await Command("USER alice@example.test"));
        Assert.StartsWith("+OK alice@example.test has 0", await Command("PASS alice"));
    }
}
