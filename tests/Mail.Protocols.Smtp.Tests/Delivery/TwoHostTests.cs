using System.Net;
using System.Text;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mail.Protocols.InMemory;
using Mail.Protocols.Smtp.Delivery;
using Mail.Protocols.Smtp.Dns;
using Mail.Protocols.Smtp.Tests.Dns;
using MimeKit;

namespace Mail.Protocols.Smtp.Tests.Delivery;

/// <summary>
/// Two hosts on loopback exchange mail through real DNS, as two organisations do: host A (example.test, on
/// 127.0.0.1) takes a submission from MailKit for bob@mx.test, looks up mx.test's MX in dnsmasq (127.0.0.2),
/// relays it to host B there, and bob downloads it from B over POP3.
/// </summary>
public sealed class TwoHostTests(DnsmasqFixture dns) : IClassFixture<DnsmasqFixture>
{
    [Fact]
    public async Task Submission_on_one_host_is_relayed_by_mx_and_downloaded_over_pop3_from_the_other()
    {
        var bOptions = new MailHostOptions
        {
            BindAddress = IPAddress.Parse("127.0.0.2"), SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = 0, Pop3sPort = null, ImapPort = null, ImapsPort = null,
            ServerName = "mail.mx.test", AllowPlaintextAuth = true,
        };
        bOptions.Domains.Add("mx.test");
        bOptions.Users.Add(("bob@mx.test", "bob"));
        await using var b = new MailHost(bOptions);
        await b.StartAsync();

        var resolver = new DnsResolverOptions { Timeout = TimeSpan.FromSeconds(2), Retries = 0 };
        resolver.NameServers.Add(dns.Server.EndPoint);
        var aOptions = new MailHostOptions
        {
            SmtpPort = null, SubmissionPort = 0, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null, ServerName = "mx.example.test",
            AllowPlaintextAuth = true,
            Delivery = new DeliveryAgentOptions { Port = b.EndPoints["smtp"].Port },
            DnsResolver = new DnsClientResolver(resolver),
            DeliveryPollInterval = TimeSpan.FromMilliseconds(100),
        };
        aOptions.Domains.Add("example.test");
        aOptions.Users.Add(("alice@example.test", "alice"));
        await using var a = new MailHost(aOptions);
        await a.StartAsync();

        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("alice@example.test"));
        message.To.Add(MailboxAddress.Parse("bob@mx.test"));
        message.Subject = "Across organisations";
        message.Body = new TextPart("plain") { Text = "Hello Bob,\r\n.a line with a dot\r\nfrom Alice\r\n" };
        using (var smtp = new SmtpClient())
        {
            await smtp.ConnectAsync(a.EndPoints["submission"].Address.ToString(), a.EndPoints["submission"].Port, SecureSocketOptions.None);
            await smtp.AuthenticateAsync("alice@example.test", "alice");
            await smtp.SendAsync(message);
            await smtp.DisconnectAsync(true);
        }

        // The agent polls every 100 ms; give it up to 20 s on a busy machine. B stores the message before A hears
        // the 250 and completes its queue entry, so wait for both.
        for (var i = 0; i < 200 && ((await b.Store.ListMessagesAsync("bob@mx.test", "INBOX")).Count == 0 || await a.Queue.CountAsync() != 0); i++)
        {
            await Task.Delay(100);
        }
        Assert.Equal(0, await a.Queue.CountAsync());

        using var pop3 = new Pop3Client();
        await pop3.ConnectAsync(b.EndPoints["pop3"].Address.ToString(), b.EndPoints["pop3"].Port, SecureSocketOptions.None);
        await pop3.AuthenticateAsync("bob@mx.test", "bob");
        Assert.Equal(1, pop3.Count);
        await using var raw = new MemoryStream();
        await (await pop3.GetStreamAsync(0)).CopyToAsync(raw);
        await pop3.DisconnectAsync(true);

        var received = Encoding.ASCII.GetString(raw.ToArray());
        // One Received header from each host: A's (from MailKit) and, on top, B's (from A).
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(received, "^Received: ", System.Text.RegularExpressions.RegexOptions.Multiline));
        Assert.StartsWith("Received: from mx.example.test", received);
        // The body octets are exactly what MailKit sent.
        using var sent = new MemoryStream();
        await message.WriteToAsync(FormatOptions.Default.Clone(), sent);
        var sentText = Encoding.ASCII.GetString(sent.ToArray()).ReplaceLineEndings("\r\n");
        var sentBody = sentText[(sentText.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Assert.EndsWith(sentBody, received);
        Assert.Equal("Across organisations", MimeMessage.Load(new MemoryStream(raw.ToArray())).Subject);
    }
}
