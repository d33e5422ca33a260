using System.Net;
using System.Net.Sockets;
using Mail.Protocols.PostgreSql.Mailboxes;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Npgsql;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>samples/MailHost on PostgreSQL killed with SIGKILL: what it accepted is there once, what it leased another host delivers.</summary>
public sealed partial class SampleMailHostTests
{
    [Fact]
    public async Task A_host_killed_during_an_smtp_burst_leaves_every_accepted_message_stored_once_and_nothing_half_received()
    {
        var ct = TestHost.Timeout();
        await WithDatabaseAsync(async (_, connectionString) =>
        {
            using var host = StartOnDatabase(connectionString);
            var port = (await host.WaitForEndpointsAsync(ct))["smtp"];

            // Four clients send one message after another, each 40 KiB (a DATA in flight takes a while), until the host dies.
            var accepted = new List<string>();
            var attempted = new List<string>();
            var body = new string('x', 78) + "\r\n";
            async Task SendUntilRefusedAsync(int client)
            {
                using var smtp = new SmtpClient();
                await smtp.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None, ct);
                for (var i = 0; ; i++)
                {
                    var subject = $"burst {client}-{i}";
                    lock (attempted)
                    {
                        attempted.Add(subject);
                    }
                    var message = new MimeMessage { Subject = subject, Body = new TextPart("plain") { Text = string.Concat(Enumerable.Repeat(body, 512)) } };
                    message.From.Add(MailboxAddress.Parse("writer@example.org"));
                    message.To.Add(MailboxAddress.Parse("alice@example.test"));
                    try
                    {
                        await smtp.SendAsync(message, ct);
                    }
                    catch (Exception ex) when (ex is IOException or SocketException or SmtpProtocolException or SmtpCommandException or MailKit.ServiceNotConnectedException)
                    {
                        return; // the host is gone
                    }
                    lock (accepted)
                    {
                        accepted.Add(subject);
                    }
                }
            }
            var clients = Enumerable.Range(0, 4).Select(c => Task.Run(() => SendUntilRefusedAsync(c), ct)).ToList();
            while (true)
            {
                await Task.Delay(20, ct);
                lock (accepted)
                {
                    if (accepted.Count >= 40)
                    {
                        break;
                    }
                }
            }
            await host.KillAsync(ct);
            await Task.WhenAll(clients);

            // Read by another instance of the store, as the host that takes over would.
            await using var source = NpgsqlDataSource.Create(connectionString);
            await using var store = new PostgreSqlMailboxStore(source);
            var stored = new List<string>();
            foreach (var info in await store.ListMessagesAsync("alice@example.test", "INBOX", ct))
            {
                stored.Add((await store.GetSummaryAsync("alice@example.test", "INBOX", info.Uid, ct)).Envelope.Subject ?? "");
                await using var content = await store.OpenContentAsync("alice@example.test", "INBOX", info.Uid, ct);
                var message = await MimeMessage.LoadAsync(content, ct);
                Assert.Equal(512 * 78, ((TextPart)message.Body!).Text!.Count(c => c == 'x')); // whole, not cut off
            }
            Assert.All(accepted, subject => Assert.Single(stored, subject)); // every 250 is there, once
            Assert.Equal(stored.Count, stored.Distinct().Count());
            Assert.All(stored, subject => Assert.Contains(subject, attempted)); // the rest were in flight when it died
            Assert.InRange(stored.Count, accepted.Count, accepted.Count + 4);
        });
    }

    [Fact]
    public async Task Entries_a_killed_host_had_leased_are_delivered_once_by_the_other_host_when_the_leases_run_out()
    {
        var ct = TestHost.Timeout();
        // A relay that takes the connection and never greets: the first host's deliveries hang there, holding their leases.
        using var stuck = new TcpListener(IPAddress.Loopback, 0);
        stuck.Start();
        var held = new List<TcpClient>();
        var heldOne = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(async () =>
        {
            while (!ct.IsCancellationRequested)
            {
                var client = await stuck.AcceptTcpClientAsync(ct);
                lock (held)
                {
                    held.Add(client);
                }
                heldOne.TrySetResult();
            }
        }, ct);
        try
        {
            await WithDatabaseAsync(async (_, connectionString) =>
            {
                var sinkOptions = new MailHostOptions { SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null };
                sinkOptions.Domains.Add("remote.test");
                sinkOptions.Users.Add(("someone@remote.test", "x"));
                await using var sink = new MailHost(sinkOptions);
                await sink.StartAsync(ct);
                string[] Host(int relayPort) =>
                [
                    "--set", "Mail:Smtp:Listeners:0:Port=0", "--set", "Mail:Pop3:Listeners:0:Port=0",
                    "--submission", "0", "--smtps", "0", "--pop3s", "0", "--imap", "0", "--imaps", "0",
                    "--alias", "team@example.test:someone@remote.test", "--queue", "postgres:" + connectionString, "--store", "postgres:" + connectionString,
                    "--smart-host", $"127.0.0.1:{relayPort}", "--poll-seconds", "1", "--lease-seconds", "4",
                ];

                using var first = SampleRun.Start(Host(((IPEndPoint)stuck.LocalEndpoint).Port), []);
                var port = (await first.WaitForEndpointsAsync(ct))["smtp"];
                const int Count = 6;
                for (var i = 0; i < Count; i++)
                {
                    using var client = new SmtpClient();
                    await client.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None, ct);
                    var message = new MimeMessage { Subject = $"leased {i}", Body = new TextPart("plain") { Text = "Held by a host that dies." } };
                    message.From.Add(MailboxAddress.Parse("writer@example.org"));
                    message.To.Add(MailboxAddress.Parse("team@example.test"));
                    await client.SendAsync(message, ct);
                    await client.DisconnectAsync(true, ct);
                }
                await heldOne.Task.WaitAsync(ct);
                await using var source = NpgsqlDataSource.Create(connectionString);
                await using (var leased = source.CreateCommand("SELECT count(*) FROM mail_queue WHERE lease_token IS NOT NULL AND lease_expires > now()"))
                {
                    Assert.True((long)(await leased.ExecuteScalarAsync(ct))! > 0, "the first host holds no lease");
                }
                await first.KillAsync(ct);

                using var second = SampleRun.Start(Host(sink.EndPoints["smtp"].Port), []);
                await second.WaitForEndpointsAsync(ct);
                IReadOnlyList<Storage.MessageInfo> arrived = [];
                while (arrived.Count < Count && !ct.IsCancellationRequested)
                {
                    await Task.Delay(200, ct);
                    arrived = await sink.Store.ListMessagesAsync("someone@remote.test", "INBOX", ct);
                }
                await Task.Delay(TimeSpan.FromSeconds(2), ct); // a second delivery of any would arrive by now
                var subjects = new List<string>();
                foreach (var info in await sink.Store.ListMessagesAsync("someone@remote.test", "INBOX", ct))
                {
                    subjects.Add((await sink.Store.GetSummaryAsync("someone@remote.test", "INBOX", info.Uid, ct)).Envelope.Subject ?? "");
                }
                Assert.Equal(Enumerable.Range(0, Count).Select(i => $"leased {i}").Order(), subjects.Order());
                await using (var left = source.CreateCommand("SELECT count(*) FROM mail_queue"))
                {
                    Assert.Equal(0L, await left.ExecuteScalarAsync(ct));
                }
                Assert.Equal(0, await second.TerminateAsync(ct));
            });
        }
        finally
        {
            lock (held)
            {
                held.ForEach(c => c.Dispose());
            }
        }
    }
}
