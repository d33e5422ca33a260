using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Mail.Protocols.Hosting;
using Mail.Protocols.Telemetry;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Mail.Protocols.Smtp.Tests.Tls;

/// <summary>STARTTLS over a real loopback socket with a raw client, so the exact bytes on the wire are under test control.</summary>
public class StartTlsTests
{
    private static async Task<MailHost> StartHostAsync(System.Diagnostics.Metrics.IMeterFactory? meterFactory = null)
    {
        var options = new MailHostOptions { SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null, ServerName = "mx.example.test" };
        options.MeterFactory = meterFactory;
        options.Domains.Add("example.test");
        options.Users.Add(("alice@example.test", "alice"));
        var host = new MailHost(options);
        await host.StartAsync();
        return host;
    }

    private static async Task<string> ReadReplyAsync(StreamReader reader)
    {
        while (true)
        {
            var line = await reader.ReadLineAsync() ?? throw new IOException("closed");
            if (line.Length < 4 || line[3] != '-')
            {
                return line;
            }
        }
    }

    [Fact]
    public async Task Pipelined_command_after_starttls_is_discarded()
    {
        using var meters = new TestMeterFactory();
        using var discarded = new MetricCollector<long>(meters, CoreMetrics.MeterName, "mail.tls.pipelined_discarded");
        await using var host = await StartHostAsync(meters);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(host.EndPoints["smtp"]);
        var network = tcp.GetStream();
        var plain = new StreamReader(network, Encoding.ASCII);
        Assert.StartsWith("220 ", await ReadReplyAsync(plain));
        await network.WriteAsync("EHLO client.example.org\r\n"u8.ToArray());
        Assert.Equal("250 HELP", await ReadReplyAsync(plain));

        // The attack: a MAIL command injected in the same packet as STARTTLS.
        await network.WriteAsync("STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n"u8.ToArray());
        Assert.Equal("220 2.0.0 Ready to start TLS", await ReadReplyAsync(plain));

        await using var tls = new SslStream(network, leaveInnerStreamOpen: true, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync("localhost");
        var reader = new StreamReader(tls, Encoding.ASCII);
        async Task<string> Command(string line)
        {
            await tls.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
            return await ReadReplyAsync(reader);
        }

        // After TLS the session starts over: EHLO is needed and the injected MAIL never ran.
        Assert.Equal("503 5.5.1 Error: send HELO/EHLO first", await Command("RCPT TO:<alice@example.test>"));
        Assert.Equal("250 HELP", await Command("EHLO client.example.org"));
        Assert.Equal("503 5.5.1 Error: need MAIL command", await Command("RCPT TO:<alice@example.test>"));
        Assert.Equal("250 2.1.0 Sender ok", await Command("MAIL FROM:<bob@example.org>"));
        Assert.Equal("250 2.1.5 Recipient ok", await Command("RCPT TO:<alice@example.test>"));
        Assert.StartsWith("354 ", await Command("DATA"));
        Assert.StartsWith("250 2.0.0 ", await Command("Subject: over tls\r\n\r\nhi\r\n."));
        var stored = Assert.Single(await host.Store.ListMessagesAsync("alice@example.test", "INBOX"));
        await using var content = await host.Store.OpenContentAsync("alice@example.test", "INBOX", stored.Uid);
        var text = await new StreamReader(content).ReadToEndAsync();
        Assert.Contains("with ESMTPS id", text);
        Assert.DoesNotContain("injected", text);
        // Counted once, on this host's own meter, as the octets dropped.
        var measurement = Assert.Single(discarded.GetMeasurementSnapshot());
        Assert.Equal("MAIL FROM:<injected@example.org>\r\n".Length, measurement.Value);
        Assert.Equal("smtp", measurement.Tags["network.protocol.name"]);
    }

    private static async Task<List<string>> ReadEhloAsync(StreamReader reader)
    {
        var lines = new List<string>();
        string line;
        do
        {
            line = await reader.ReadLineAsync() ?? throw new IOException("closed");
            lines.Add(line);
        }
        while (line[3] == '-');
        return lines;
    }

    [Fact]
    public async Task Auth_is_offered_only_after_starttls()
    {
        await using var host = await StartHostAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(host.EndPoints["smtp"]);
        var network = tcp.GetStream();
        var plain = new StreamReader(network, Encoding.ASCII);
        await ReadReplyAsync(plain);
        await network.WriteAsync("EHLO c\r\n"u8.ToArray());
        var ehlo = await ReadEhloAsync(plain);
        Assert.Contains("250-STARTTLS", ehlo);
        Assert.DoesNotContain(ehlo, l => l.Contains("AUTH", StringComparison.Ordinal));
        // Asked for anyway in plaintext, AUTH is refused and no credentials are read.
        await network.WriteAsync("AUTH PLAIN\r\n"u8.ToArray());
        Assert.Equal("538 5.7.11 Encryption required for requested authentication mechanism", await ReadReplyAsync(plain));

        await network.WriteAsync("STARTTLS\r\n"u8.ToArray());
        Assert.Equal("220 2.0.0 Ready to start TLS", await ReadReplyAsync(plain));
        await using var tls = new SslStream(network, leaveInnerStreamOpen: true, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync("localhost");
        Assert.True(tls.IsAuthenticated && tls.IsEncrypted);
        var reader = new StreamReader(tls, Encoding.ASCII);
        await tls.WriteAsync("EHLO c\r\n"u8.ToArray());
        var secured = await ReadEhloAsync(reader);
        // After the handshake AUTH is on offer (and STARTTLS no longer), and a login succeeds.
        Assert.Contains("250-AUTH SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN", secured);
        Assert.DoesNotContain(secured, l => l.Contains("STARTTLS", StringComparison.Ordinal));
        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0alice@example.test\0alice"));
        await tls.WriteAsync(Encoding.ASCII.GetBytes($"AUTH PLAIN {credentials}\r\n"));
        Assert.Equal("235 2.7.0 Authentication successful", await ReadReplyAsync(reader));
    }
}
