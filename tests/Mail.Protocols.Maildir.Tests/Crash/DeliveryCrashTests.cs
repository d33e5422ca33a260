using System.Net;
using Mail.Protocols.Hosting;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using MimeKit;

namespace Mail.Protocols.Maildir.Tests.Crash;

/// <summary>
/// kill -9 of a host in the middle of relaying its queue to a remote server, then a restart: every queued
/// message reaches the remote server's mailbox exactly once. The transport is at least once: a message the
/// remote accepted just before the kill, whose queue entry was not yet completed, is sent again after the
/// restart (at most MaxConcurrencyPerDomain of them, since a destination's slot is held until the result is
/// recorded). SMTP has no "this is a retry" marker, so the receiver (our server) suppresses the re-sent copy: the
/// same octets (with the sending host's Received header and the Message-ID) and envelope from the same address.
/// </summary>
public sealed class DeliveryCrashTests : IDisposable
{
    private const int Messages = 30;
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private sealed class SlowHooks : SmtpHooks
    {
        // Slow enough that the kill lands while deliveries are under way.
        public override async ValueTask<SmtpReply?> OnMessageAsync(SmtpSessionInfo session, QueueEnvelope envelope, Stream content, CancellationToken cancellationToken)
        {
            await Task.Delay(100, cancellationToken);
            return null;
        }
    }

    [Fact]
    public async Task Kill_9_while_relaying_then_restart_delivers_every_queued_message_exactly_once()
    {
        var remoteOptions = new MailHostOptions { SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null, ServerName = "mx.remote.test" };
        remoteOptions.Domains.Add("remote.test");
        remoteOptions.Users.Add(("bob@remote.test", "bob"));
        remoteOptions.Smtp.Hooks = new SlowHooks();
        var remoteLog = new FakeLogger();
        remoteOptions.LoggerFactory = new OneLoggerFactory(remoteLog);
        await using var remote = new MailHost(remoteOptions);
        await remote.StartAsync();
        var relay = $"127.0.0.1:{remote.EndPoints["smtp"].Port}";
        // A lease far longer than a delivery round (20 messages, two at a time, 100 ms each), so only the kill
        // causes re-sends; the restarted host waits that long before it takes the dead host's entries over.
        string[] arguments = ["--smart-host", relay, "--lease-seconds", "20", "--poll-seconds", "1"];
        var mail = _directory.Combine("mail");
        var queue = _directory.Combine("queue");

        var ids = Enumerable.Range(0, Messages).Select(i => $"{i}@crash.example.test").ToList();
        using (var host = await ChildHost.StartAsync(mail, queue, arguments))
        {
            using (var client = new SmtpClient())
            {
                await client.ConnectAsync("127.0.0.1", host.SubmissionPort, SecureSocketOptions.None);
                await client.AuthenticateAsync("alice@example.test", "alice");
                foreach (var id in ids)
                {
                    var message = new MimeMessage();
                    message.From.Add(MailboxAddress.Parse("alice@example.test"));
                    message.To.Add(MailboxAddress.Parse("bob@remote.test"));
                    message.MessageId = id;
                    message.Subject = id;
                    message.Body = new TextPart("plain") { Text = $"message {id}\r\n" };
                    await client.SendAsync(message);
                }
                await client.DisconnectAsync(true);
            }
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((await remote.Store.ListMessagesAsync("bob@remote.test", "INBOX")).Count < 8)
            {
                Assert.True(DateTime.UtcNow < deadline, "nothing was relayed:\n" + host.Output);
                await Task.Delay(20);
            }
            host.KillHard();
        }
        var beforeRestart = (await ReceivedAsync(remote)).Count;
        Assert.True(beforeRestart < Messages, "the kill came too late to test anything");

        using (var restarted = await ChildHost.StartAsync(mail, queue, arguments))
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (Directory.EnumerateFiles(Path.Combine(queue, "env")).Any() || !ids.All((await ReceivedAsync(remote)).Contains))
            {
                Assert.True(DateTime.UtcNow < deadline, "the restarted host did not deliver everything:\n" + restarted.Output);
                await Task.Delay(100);
            }
        }

        var received = await ReceivedAsync(remote);
        Assert.Equal(ids.Order(), received.Order());
        // What the restarted host sent again and the remote did not store twice (event 1015): at most the two
        // deliveries that can be in flight to one destination.
        var suppressed = remoteLog.Collector.GetSnapshot().Count(r => r.Id.Id == 1015);
        Assert.InRange(suppressed, 0, 2);
    }

    private sealed class OneLoggerFactory(ILogger logger) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => logger;
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() { }
    }

    private static async Task<List<string>> ReceivedAsync(MailHost remote)
    {
        var ids = new List<string>();
        foreach (var info in await remote.Store.ListMessagesAsync("bob@remote.test", "INBOX"))
        {
            await using var content = await remote.Store.OpenContentAsync("bob@remote.test", "INBOX", info.Uid);
            ids.Add((await MimeMessage.LoadAsync(content)).MessageId ?? "");
        }
        return ids;
    }
}
