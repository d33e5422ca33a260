using Mail.Protocols.PostgreSql.Queue;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Npgsql;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>samples/MailHost with <c>--queue postgres:CONNSTRING</c>: outbound mail waits in PostgreSQL, beyond the process.</summary>
public sealed partial class SampleMailHostTests
{
    // The sample with SMTP and POP3 on free ports, alice as its user, and mailboxes and queue in the database.
    private static SampleRun StartOnDatabase(string connectionString) =>
        SampleRun.Start([.. TwoListeners, "--user", "alice@example.test:alice-secret",
            "--store", "postgres:" + connectionString, "--queue", "postgres:" + connectionString], []);

    // A throw-away cluster for one test, with a database made in it, stopped (by its PID) when the test is done.
    private static async Task WithDatabaseAsync(Func<PostgresServer, string, Task> test)
    {
        var postgres = new PostgresServer();
        await postgres.InitializeAsync();
        try
        {
            await test(postgres, await postgres.CreateDatabaseAsync());
        }
        finally
        {
            await postgres.DisposeAsync();
        }
    }

    [Fact]
    public async Task With_the_queue_in_PostgreSQL_forwarded_mail_waits_there_after_the_host_stops()
    {
        var ct = TestHost.Timeout();
        await WithDatabaseAsync(async (_, connectionString) =>
        {
            // An alias that forwards to another domain: the copy for it goes through the queue (no delivery: it stays).
            using (var run = SampleRun.Start([.. TwoListeners, "--alias", "team@example.test:someone@remote.test", "--queue", "postgres:" + connectionString], []))
            {
                var ports = await run.WaitForEndpointsAsync(ct);
                using var client = new SmtpClient();
                await client.ConnectAsync("127.0.0.1", ports["smtp"], SecureSocketOptions.None, ct);
                var message = new MimeMessage { Subject = "to the queue", Body = new TextPart("plain") { Text = "Waiting in PostgreSQL." } };
                message.From.Add(MailboxAddress.Parse("writer@example.org"));
                message.To.Add(MailboxAddress.Parse("team@example.test"));
                await client.SendAsync(message, ct);
                await client.DisconnectAsync(true, ct);
                Assert.Equal(0, await run.TerminateAsync(ct));
            }

            // The host is gone; the entry is in the database, whole, for whichever host leases it next.
            await using var source = NpgsqlDataSource.Create(connectionString);
            var queue = new PostgreSqlMessageQueue(source);
            var lease = Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(5), ct));
            Assert.Equal(["someone@remote.test"], lease.Envelope.Recipients.Select(r => r.Address));
            await using var content = await queue.OpenContentAsync(lease.QueueId, ct);
            Assert.Equal("to the queue", (await MimeMessage.LoadAsync(content, ct)).Subject);
        });
    }

    [Fact]
    public async Task Two_hosts_on_one_database_drain_one_queue_and_deliver_each_message_once()
    {
        var ct = TestHost.Timeout();
        await WithDatabaseAsync(async (_, connectionString) =>
        {
            // The smart host both relay through: a host of its own for remote.test, counting what arrives.
            var sinkOptions = new MailHostOptions { SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null };
            sinkOptions.Domains.Add("remote.test");
            sinkOptions.Users.Add(("someone@remote.test", "x"));
            await using var sink = new MailHost(sinkOptions);
            await sink.StartAsync(ct);
            string[] Host() =>
            [
                "--set", "Mail:Smtp:Listeners:0:Port=0", "--set", "Mail:Pop3:Listeners:0:Port=0",
                "--submission", "0", "--smtps", "0", "--pop3s", "0", "--imap", "0", "--imaps", "0",
                "--alias", "team@example.test:someone@remote.test", "--queue", "postgres:" + connectionString,
                "--smart-host", $"127.0.0.1:{sink.EndPoints["smtp"].Port}", "--poll-seconds", "1",
            ];
            using var a = SampleRun.Start(Host(), []);
            using var b = SampleRun.Start(Host(), []);
            var ports = new[] { (await a.WaitForEndpointsAsync(ct))["smtp"], (await b.WaitForEndpointsAsync(ct))["smtp"] };

            const int Count = 24;
            for (var i = 0; i < Count; i++)
            {
                using var client = new SmtpClient();
                await client.ConnectAsync("127.0.0.1", ports[i % 2], SecureSocketOptions.None, ct);
                var message = new MimeMessage { Subject = $"message {i}", Body = new TextPart("plain") { Text = "Through one queue." } };
                message.From.Add(MailboxAddress.Parse("writer@example.org"));
                message.To.Add(MailboxAddress.Parse("team@example.test"));
                await client.SendAsync(message, ct);
                await client.DisconnectAsync(true, ct);
            }

            IReadOnlyList<Storage.MessageInfo> arrived = [];
            while (arrived.Count < Count && !ct.IsCancellationRequested)
            {
                await Task.Delay(200, ct);
                arrived = await sink.Store.ListMessagesAsync("someone@remote.test", "INBOX", ct);
            }
            await Task.Delay(TimeSpan.FromSeconds(2), ct); // a second delivery of any of them would arrive by now
            arrived = await sink.Store.ListMessagesAsync("someone@remote.test", "INBOX", ct);
            var subjects = new List<string>();
            foreach (var info in arrived)
            {
                await using var content = await sink.Store.OpenContentAsync("someone@remote.test", "INBOX", info.Uid, ct);
                subjects.Add((await MimeMessage.LoadAsync(content, ct)).Subject ?? "");
            }
            Assert.Equal(Enumerable.Range(0, Count).Select(i => $"message {i}").Order(), subjects.Order()); // each once
            await using var source = NpgsqlDataSource.Create(connectionString);
            Assert.Equal(0, await new PostgreSqlMessageQueue(source).CountAsync(ct));
            Assert.Equal(0, await a.TerminateAsync(ct));
            Assert.Equal(0, await b.TerminateAsync(ct));
        });
    }
}
