using System.Collections.Concurrent;
using System.Text;
using Mail.Protocols.Maildir.Queue;
using Mail.Protocols.Queue;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Time.Testing;
using MimeKit;

namespace Mail.Protocols.Maildir.Tests.Crash;

/// <summary>kill -9 of a real host process, then a restart on the same directories: nothing accepted is lost, nothing half-written shows.</summary>
public sealed class CrashSafetyTests : IDisposable
{
    private const string User = "alice@example.test";
    private const string Trailer = "END-OF-MESSAGE";
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string MailRoot => _directory.Combine("mail");
    private string QueueDirectory => _directory.Combine("queue");

    private static MimeMessage Message(string id, int size)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("bob@example.org"));
        message.To.Add(MailboxAddress.Parse(User));
        message.Subject = id;
        message.MessageId = id;
        var body = new StringBuilder();
        while (body.Length < size)
        {
            body.Append("0123456789 the quick brown fox jumps over the lazy dog 0123456789\r\n");
        }
        message.Body = new TextPart("plain") { Text = body + Trailer + "\r\n" };
        return message;
    }

    [Fact]
    public async Task Kill_9_during_a_burst_of_smtp_deliveries_keeps_every_accepted_message_exactly_once_and_no_half_message()
    {
        // A burst of a fixed size, killed once 120 messages are in: the kill must land inside it (asserted below).
        const int workers = 6, perWorker = 100, burst = workers * perWorker;
        var accepted = new ConcurrentBag<string>();
        var attempted = 0;
        var interrupted = 0;
        using (var host = await ChildHost.StartAsync(MailRoot, QueueDirectory, "--no-delivery"))
        {
            var senders = Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
            {
                using var client = new SmtpClient();
                try
                {
                    await client.ConnectAsync("127.0.0.1", host.SmtpPort, SecureSocketOptions.None);
                    for (var n = 0; n < perWorker; n++)
                    {
                        var id = $"{worker}.{n}@crash.test";
                        Interlocked.Increment(ref attempted);
                        // Sizes from 1 KiB to 200 KiB, so the kill lands in the middle of some writes.
                        await client.SendAsync(Message(id, 1024 + (n * 7919 % 200_000)));
                        accepted.Add(id);
                    }
                }
                catch (Exception ex) when (ex is IOException or SmtpProtocolException or SmtpCommandException or System.Net.Sockets.SocketException or MailKit.ServiceNotConnectedException)
                {
                    // The server died under us: this message was not acknowledged.
                    Interlocked.Increment(ref interrupted);
                }
            })).ToArray();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (accepted.Count < 120)
            {
                Assert.True(DateTime.UtcNow < deadline && senders.Any(t => !t.IsCompleted), "the burst did not get going:\n" + host.Output);
                await Task.Delay(10);
            }
            host.KillHard();
            await Task.WhenAll(senders);
        }
        // The kill landed mid-burst: some of it was accepted, not all of it, and sessions were cut off by it.
        Assert.InRange(accepted.Count, 120, burst - 1);
        Assert.InRange(interrupted, 1, workers);
        Assert.InRange(attempted - accepted.Count, 1, workers); // in flight when it died: at most one per session

        using var store = new MaildirMailboxStore(MailRoot);
        var list = await store.ListMessagesAsync(User, "INBOX");
        var stored = new List<string>();
        foreach (var info in list)
        {
            await using var content = await store.OpenContentAsync(User, "INBOX", info.Uid);
            var bytes = new MemoryStream();
            await content.CopyToAsync(bytes);
            var text = Encoding.ASCII.GetString(bytes.ToArray());
            // Whole: the last line of the body is there, and the size the index records is the file's.
            Assert.EndsWith(Trailer + "\r\n", text, StringComparison.Ordinal);
            Assert.Equal(info.Size, bytes.Length);
            var parsed = await MimeMessage.LoadAsync(new MemoryStream(bytes.ToArray()));
            stored.Add(parsed.MessageId ?? "");
        }
        Assert.All(accepted, id => Assert.Single(stored, s => s == id));
        Assert.Equal(stored.Count, stored.Distinct().Count());
        Assert.True(stored.Count <= attempted);

        // The store is healthy after the crash: it takes new mail with UIDs above every old one.
        var next = await store.AppendAsync(User, "INBOX", new MemoryStream(Encoding.ASCII.GetBytes("Subject: after\r\n\r\nok\r\n")));
        Assert.True(list.Count == 0 || next.Uid > list[^1].Uid);
    }

    [Fact]
    public async Task Kill_9_with_queued_and_leased_messages_offers_each_again_once_its_lease_expires_with_its_recipient_state()
    {
        // Ten queued messages; four of them already had an attempt that delivered to one recipient of two.
        var ids = new List<string>();
        var queue = new FileMessageQueue(QueueDirectory);
        using (queue)
        {
            for (var i = 0; i < 10; i++)
            {
                var envelope = new QueueEnvelope($"alice@example.test", [new QueueRecipient($"bob{i}@remote.test", DsnNotify.Failure), new QueueRecipient($"carol{i}@remote.test")],
                    DateTimeOffset.UtcNow, EnvelopeId: $"env-{i}");
                ids.Add(await queue.EnqueueAsync(envelope, new MemoryStream(Encoding.ASCII.GetBytes($"Subject: queued {i}\r\n\r\nbody {i}\r\n"))));
            }
            foreach (var lease in await queue.LeaseAsync(4, TimeSpan.FromMinutes(1)))
            {
                await queue.RescheduleAsync(lease, [lease.Recipients[0] with { State = RecipientState.Delivered, LastReply = "250 2.0.0 ok", RemoteHost = "mx.remote.test" },
                    lease.Recipients[1] with { LastReply = "451 4.7.1 greylisted" }], DateTimeOffset.UtcNow);
            }
        }

        // The host leases everything and tries to deliver through a relay that accepts the connection and then says nothing.
        using var silentRelay = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silentRelay.Start();
        var relayPort = ((System.Net.IPEndPoint)silentRelay.LocalEndpoint).Port;
        const int leaseSeconds = 120;
        DateTimeOffset killedAt;
        using (var host = await ChildHost.StartAsync(MailRoot, QueueDirectory, "--smart-host", $"127.0.0.1:{relayPort}", "--lease-seconds", $"{leaseSeconds}", "--poll-seconds", "1"))
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!ids.All(id => File.ReadAllText(Path.Combine(QueueDirectory, "env", id + ".json")).Contains("\"LeaseToken\"", StringComparison.Ordinal)))
            {
                Assert.True(DateTime.UtcNow < deadline, "the host did not lease every entry:\n" + host.Output);
                await Task.Delay(100);
            }
            host.KillHard();
            killedAt = DateTimeOffset.UtcNow;
        }

        var time = new FakeTimeProvider(killedAt);
        using var restarted = new FileMessageQueue(QueueDirectory, time);
        Assert.Equal(10, await restarted.CountAsync());
        Assert.Empty(await restarted.LeaseAsync(100, TimeSpan.FromMinutes(5)));
        time.Advance(TimeSpan.FromSeconds(leaseSeconds + 1));
        var offered = await restarted.LeaseAsync(100, TimeSpan.FromMinutes(5));
        Assert.Equal(ids.Order(StringComparer.Ordinal), offered.Select(l => l.QueueId).Order(StringComparer.Ordinal));
        Assert.Empty(await restarted.LeaseAsync(100, TimeSpan.FromMinutes(5)));
        var rescheduled = offered.Where(l => l.Attempts == 1).ToList();
        Assert.Equal(4, rescheduled.Count);
        Assert.All(rescheduled, l =>
        {
            Assert.Equal(RecipientState.Delivered, l.Recipients[0].State);
            Assert.Equal("mx.remote.test", l.Recipients[0].RemoteHost);
            Assert.Equal(RecipientState.Pending, l.Recipients[1].State);
            Assert.Equal("451 4.7.1 greylisted", l.Recipients[1].LastReply);
        });
        Assert.All(offered.Where(l => l.Attempts == 0), l => Assert.All(l.Recipients, r => Assert.Equal(RecipientState.Pending, r.State)));
        foreach (var lease in offered)
        {
            var i = ids.IndexOf(lease.QueueId);
            Assert.Equal($"env-{i}", lease.Envelope.EnvelopeId);
            Assert.Equal(DsnNotify.Failure, lease.Envelope.Recipients[0].Notify);
            await using var content = await restarted.OpenContentAsync(lease.QueueId);
            Assert.Equal($"Subject: queued {i}\r\n\r\nbody {i}\r\n", await new StreamReader(content).ReadToEndAsync());
        }
    }
}
