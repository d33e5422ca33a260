using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Mail.Protocols.Hosting;

namespace Mail.Protocols.Imap.Tests.Tls;

/// <summary>STARTTLS over a real loopback socket with a raw client, so the exact bytes on the wire are under test control.</summary>
public sealed class StartTlsTests
{
    [Fact]
    public async Task A_command_pipelined_after_starttls_is_never_executed_and_the_capabilities_change()
    {
        var options = new MailHostOptions { SmtpPort = null, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = 0, ImapsPort = null, ServerName = "imap.example.test" };
        options.Domains.Add("example.test");
        options.Users.Add(("alice@example.test", "alice"));
        await using var host = new MailHost(options);
        await host.StartAsync();
        var expected = host.Certificate.GetCertHashString();

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(host.EndPoints["imap"]);
        var network = tcp.GetStream();
        var plain = new StreamReader(network, Encoding.ASCII);
        var greeting = await plain.ReadLineAsync();
        Assert.StartsWith("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 ", greeting);
        Assert.Contains(" STARTTLS", greeting);
        Assert.Contains(" LOGINDISABLED", greeting);
        Assert.DoesNotContain("AUTH=", greeting);

        // The attack: a login (and a selection) injected in the same packet as STARTTLS.
        await network.WriteAsync("a1 STARTTLS\r\na2 LOGIN alice@example.test alice\r\na3 SELECT INBOX\r\n"u8.ToArray());
        Assert.Equal("a1 OK Begin TLS negotiation now", await plain.ReadLineAsync());

        await using var tls = new SslStream(network, leaveInnerStreamOpen: true, (_, certificate, _, _) => certificate?.GetCertHashString() == expected);
        await tls.AuthenticateAsClientAsync("localhost");
        var reader = new StreamReader(tls, Encoding.ASCII);
        async Task<List<string>> Command(string tag, string line)
        {
            await tls.WriteAsync(Encoding.ASCII.GetBytes(tag + " " + line + "\r\n"));
            var lines = new List<string>();
            while (await reader.ReadLineAsync() is { } reply)
            {
                lines.Add(reply);
                if (reply.StartsWith(tag + " ", StringComparison.Ordinal))
                {
                    break;
                }
            }
            return lines;
        }

        // Nothing answers a2 or a3: the first reply after the handshake is to the first command sent over TLS.
        var capability = await Command("b1", "CAPABILITY");
        Assert.Equal(2, capability.Count);
        Assert.StartsWith("* CAPABILITY IMAP4rev1 IMAP4rev2 ", capability[0]);
        Assert.DoesNotContain("STARTTLS", capability[0]);
        Assert.DoesNotContain("LOGINDISABLED", capability[0]);
        Assert.Contains(" AUTH=PLAIN", capability[0]);
        Assert.Equal("b1 OK CAPABILITY completed", capability[1]);
        Assert.Equal(["b2 BAD Command not valid before login"], await Command("b2", "SELECT INBOX"));
        Assert.Equal(["b3 BAD TLS already active"], await Command("b3", "STARTTLS"));
        var login = await Command("b4", "LOGIN alice@example.test alice");
        Assert.StartsWith("b4 OK [CAPABILITY IMAP4rev1 IMAP4rev2 ", login.Single());
        Assert.DoesNotContain("STARTTLS", login[0]);
        Assert.Equal(["* BYE Logging out", "b5 OK LOGOUT completed"], await Command("b5", "LOGOUT"));
    }
}
