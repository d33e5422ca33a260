using System.Net;
using System.Net.Sockets;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Hosting.HostedServices;
using Mail.Protocols.Storage;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MimeKit;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>
/// The servers and the delivery agent registered on a Generic Host from configuration, driven by MailKit over real
/// sockets: a message in over SMTP, out over IMAP and POP3, another relayed by the agent to a second host.
/// </summary>
public sealed class GenericHostTests
{
    [Fact]
    public async Task Host_built_from_configuration_serves_a_message_over_smtp_imap_and_pop3()
    {
        var ct = TestHost.Timeout();
        using var host = TestHost.Build(TestHost.Settings());
        await host.StartAsync(ct);
        var smtp = host.Services.GetRequiredService<SmtpServerService>();
        var imap = host.Services.GetRequiredService<ImapServerService>();
        var pop3 = host.Services.GetRequiredService<Pop3ServerService>();
        Assert.Equal(["smtp", "smtps", "submission"], smtp.EndPoints.Keys.Order());
        Assert.Equal(["imap", "imaps"], imap.EndPoints.Keys.Order());
        Assert.Equal(["pop3", "pop3s"], pop3.EndPoints.Keys.Order());
        Assert.All(smtp.EndPoints.Values, endPoint => Assert.Equal(IPAddress.Loopback, endPoint.Address));
        var certificate = host.Services.GetRequiredService<MailTlsOptions>().Certificate;

        var sent = new MimeMessage();
        sent.From.Add(MailboxAddress.Parse("writer@example.org"));
        sent.To.Add(MailboxAddress.Parse(TestHost.Alice));
        sent.Subject = "Through the Generic Host";
        sent.Body = new TextPart("plain") { Text = "Configured, not coded." };
        using (var client = new SmtpClient())
        {
            client.ServerCertificateValidationCallback = PinnedCertificate.Callback(certificate);
            await client.ConnectAsync("127.0.0.1", smtp.EndPoints["smtp"].Port, SecureSocketOptions.StartTls, ct);
            await client.SendAsync(sent, ct);
            await client.DisconnectAsync(true, ct);
        }

        using (var client = new ImapClient())
        {
            client.ServerCertificateValidationCallback = PinnedCertificate.Callback(certificate);
            await client.ConnectAsync("127.0.0.1", imap.EndPoints["imaps"].Port, SecureSocketOptions.SslOnConnect, ct);
            await client.AuthenticateAsync(TestHost.Alice, TestHost.AlicePassword, ct);
            await client.Inbox.OpenAsync(FolderAccess.ReadOnly, ct);
            Assert.Equal(1, client.Inbox.Count);
            var message = await client.Inbox.GetMessageAsync(0, ct);
            Assert.Equal(sent.MessageId, message.MessageId);
            // The standard folders every user gets at first login, as MailHost gives them.
            var sentFolder = client.GetFolder(SpecialFolder.Sent);
            Assert.Equal("Sent", sentFolder?.Name);
            await client.DisconnectAsync(true, ct);
        }

        using (var client = new Pop3Client())
        {
            client.ServerCertificateValidationCallback = PinnedCertificate.Callback(certificate);
            await client.ConnectAsync("127.0.0.1", pop3.EndPoints["pop3"].Port, SecureSocketOptions.StartTls, ct);
            await client.AuthenticateAsync(TestHost.Alice, TestHost.AlicePassword, ct);
            Assert.Equal(1, client.Count);
            Assert.Equal("Through the Generic Host", (await client.GetMessageAsync(0, ct)).Subject);
            await client.DisconnectAsync(true, ct);
        }
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task Delivery_agent_relays_a_submitted_message_through_the_configured_smart_host()
    {
        var ct = TestHost.Timeout();
        // The other side: a MailHost for remote.test with its MX port on a free port.
        var remoteOptions = new MailHostOptions { SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null };
        remoteOptions.Domains.Add("remote.test");
        remoteOptions.Users.Add(("bob@remote.test", "bob"));
        await using var remote = new MailHost(remoteOptions);
        await remote.StartAsync(ct);

        var settings = TestHost.Settings();
        settings["Mail:Delivery:SmartHost"] = $"127.0.0.1:{remote.EndPoints["smtp"].Port}";
        using var host = TestHost.Build(settings);
        await host.StartAsync(ct);
        var smtp = host.Services.GetRequiredService<SmtpServerService>();
        var certificate = host.Services.GetRequiredService<MailTlsOptions>().Certificate;

        var sent = new MimeMessage();
        sent.From.Add(MailboxAddress.Parse(TestHost.Alice));
        sent.To.Add(MailboxAddress.Parse("bob@remote.test"));
        sent.Subject = "Relayed by the hosted agent";
        sent.Body = new TextPart("plain") { Text = "Out through the smart host." };
        using (var client = new SmtpClient())
        {
            client.ServerCertificateValidationCallback = PinnedCertificate.Callback(certificate);
            await client.ConnectAsync("127.0.0.1", smtp.EndPoints["smtps"].Port, SecureSocketOptions.SslOnConnect, ct);
            await client.AuthenticateAsync(TestHost.Alice, TestHost.AlicePassword, ct);
            await client.SendAsync(sent, ct);
            await client.DisconnectAsync(true, ct);
        }

        IReadOnlyList<MessageInfo> inbox;
        while ((inbox = await remote.Store.ListMessagesAsync("bob@remote.test", "INBOX", ct)).Count == 0)
        {
            await Task.Delay(50, ct);
        }
        await using var delivered = await remote.Store.OpenContentAsync("bob@remote.test", "INBOX", inbox[0].Uid, ct);
        var message = await MimeMessage.LoadAsync(delivered, ct);
        Assert.Equal(sent.MessageId, message.MessageId);
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task Stopping_the_host_ends_an_open_session_cleanly_within_the_grace_period()
    {
        var ct = TestHost.Timeout();
        var settings = TestHost.Settings();
        settings["Mail:Smtp:ShutdownGracePeriod"] = "00:00:30";
        using var host = TestHost.Build(settings, delivery: false);
        await host.StartAsync(ct);
        var smtp = host.Services.GetRequiredService<SmtpServerService>();

        using var socket = new TcpClient();
        await socket.ConnectAsync(smtp.EndPoints["smtp"], ct);
        var reader = new StreamReader(socket.GetStream(), Encoding.ASCII);
        Assert.StartsWith("220 ", await reader.ReadLineAsync(ct));
        await socket.GetStream().WriteAsync("EHLO client.example\r\n"u8.ToArray(), ct);
        string? line;
        while ((line = await reader.ReadLineAsync(ct)) is not null && line.StartsWith("250-", StringComparison.Ordinal))
        {
        }

        // A session idle between commands is told the service is closing (421, RFC 5321 §3.8) and the connection ends,
        // well inside the 30 seconds of grace: the host's stop does not wait the grace period out.
        await host.StopAsync(ct);
        Assert.StartsWith("421 ", await reader.ReadLineAsync(ct));
        Assert.Null(await reader.ReadLineAsync(ct));
    }

    [Fact]
    public async Task Stop_token_that_fires_first_aborts_the_sessions_left()
    {
        var ct = TestHost.Timeout();
        var settings = TestHost.Settings();
        // A grace period far longer than the test's safety timeout: only the abort can end the session in time.
        // And no other deadline of the session's own comes first (the minimum data rate would cut it after 30 s).
        settings["Mail:Smtp:ShutdownGracePeriod"] = "00:10:00";
        settings["Mail:Smtp:MinimumDataRate"] = "0";
        settings["Mail:Smtp:DataTimeout"] = "00:10:00";
        using var host = TestHost.Build(settings, delivery: false);
        await host.StartAsync(ct);
        var smtp = host.Services.GetRequiredService<SmtpServerService>();
        using var socket = new TcpClient();
        await socket.ConnectAsync(smtp.EndPoints["smtp"], ct);
        var stream = socket.GetStream();
        var reader = new StreamReader(stream, Encoding.ASCII);
        Assert.StartsWith("220 ", await reader.ReadLineAsync(ct));
        // In the middle of DATA there is no command boundary to stop at: only the host's token ends the session.
        await stream.WriteAsync("EHLO client.example\r\nMAIL FROM:<w@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"u8.ToArray(), ct);
        string? line;
        while ((line = await reader.ReadLineAsync(ct)) is not null && !line.StartsWith("354 ", StringComparison.Ordinal))
        {
        }
        await stream.WriteAsync("Subject: half\r\n\r\nnever finished"u8.ToArray(), ct);

        using var stopToken = new CancellationTokenSource();
        await stopToken.CancelAsync();
        await host.StopAsync(stopToken.Token).WaitAsync(ct);
        var rest = await reader.ReadToEndAsync(ct); // the connection is closed, not left hanging
        Assert.DoesNotContain("250 ", rest);
        var store = host.Services.GetRequiredService<IMailboxStore>();
        Assert.Empty(await store.ListMessagesAsync(TestHost.Alice, "INBOX", ct)); // nothing half-received is stored
    }
}
