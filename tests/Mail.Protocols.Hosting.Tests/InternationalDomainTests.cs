using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>
/// An internationalised domain is one domain in its Unicode and its ASCII form (RFC 5890, RFC 6531 §3.2): MailKit
/// sends to both spellings over a real socket, with SMTPUTF8 for the Unicode one, and every message reaches the one user.
/// </summary>
public sealed class InternationalDomainTests
{
    private static MimeMessage To(string recipient, string subject)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@example.org"));
        message.To.Add(new MailboxAddress("", recipient));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = subject };
        return message;
    }

    [Fact]
    public async Task Mail_to_the_a_label_and_to_the_u_label_of_a_local_domain_reaches_the_same_user()
    {
        var options = new MailHostOptions
        {
            SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null,
            ServerName = "mx.example.test",
        };
        options.Domains.Add("bücher.example");                       // configured in Unicode
        options.Users.Add(("anna@xn--bcher-kva.example", "anna"));   // a user added in ASCII form
        options.Users.Add(("bert@bücher.example", "bert"));          // and one in Unicode form
        await using var host = new MailHost(options);
        await host.StartAsync();
        var log = new MemoryStream();
        using (var client = new SmtpClient(new ProtocolLogger(log, leaveOpen: true)))
        {
            var smtp = host.EndPoints["smtp"];
            await client.ConnectAsync(smtp.Address.ToString(), smtp.Port, SecureSocketOptions.None);
            Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.UTF8));
            await client.SendAsync(To("anna@bücher.example", "u-label"));
            await client.SendAsync(To("anna@XN--BCHER-KVA.example", "a-label"));
            await client.SendAsync(To("Bert@BÜCHER.example", "u-label, other case"));
            await client.SendAsync(To("bert@xn--bcher-kva.example", "a-label for a unicode user"));
            await client.DisconnectAsync(quit: true);
        }

        var wire = Encoding.UTF8.GetString(log.ToArray());
        Assert.Contains("RCPT TO:<anna@bücher.example>", wire, StringComparison.Ordinal); // the Unicode form went over the wire
        Assert.Contains("SMTPUTF8", wire, StringComparison.Ordinal);
        Assert.Contains("RCPT TO:<anna@XN--BCHER-KVA.example>", wire, StringComparison.Ordinal);

        var anna = await host.Store.ListMessagesAsync("anna@xn--bcher-kva.example", "INBOX");
        Assert.Equal(2, anna.Count);
        var bert = await host.Store.ListMessagesAsync("bert@bücher.example", "INBOX");
        Assert.Equal(2, bert.Count);
        Assert.Equal(0, await host.Queue.CountAsync()); // nothing was taken for a remote domain
        await host.StopAsync();
    }
}
