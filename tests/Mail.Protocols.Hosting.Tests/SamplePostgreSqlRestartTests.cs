using System.Net.Sockets;
using Mail.Protocols.PostgreSql.Mailboxes;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Npgsql;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>samples/MailHost on PostgreSQL while the database restarts: temporary refusals, then on as before, nothing lost.</summary>
public sealed partial class SampleMailHostTests
{
    [Fact]
    public async Task While_the_database_restarts_under_load_clients_get_only_temporary_errors_and_every_accepted_message_is_kept()
    {
        var ct = TestHost.Timeout();
        await WithDatabaseAsync(async (postgres, connectionString) =>
        {
            using var host = StartOnDatabase(connectionString);
            var port = (await host.WaitForEndpointsAsync(ct))["smtp"];

            // Clients send one message after another, as a sending MTA would: a 4xx is tried again later, a lost connection is
            // made again; a 5xx (a permanent refusal, which would bounce the mail) must never come.
            var accepted = new List<string>();
            var (temporary, permanent) = (0, new List<string>());
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            async Task SendAsync(int client)
            {
                for (var i = 0; !stop.IsCancellationRequested;)
                {
                    try
                    {
                        using var smtp = new SmtpClient();
                        await smtp.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None, stop.Token);
                        while (!stop.IsCancellationRequested)
                        {
                            var subject = $"load {client}-{i}";
                            var message = new MimeMessage { Subject = subject, Body = new TextPart("plain") { Text = "Through a restart." } };
                            message.From.Add(MailboxAddress.Parse("writer@example.org"));
                            message.To.Add(MailboxAddress.Parse("alice@example.test"));
                            try
                            {
                                await smtp.SendAsync(message, stop.Token);
                                lock (accepted)
                                {
                                    accepted.Add(subject);
                                }
                                i++;
                            }
                            catch (SmtpCommandException refused) when ((int)refused.StatusCode is >= 400 and < 500)
                            {
                                Interlocked.Increment(ref temporary);
                                await Task.Delay(50, stop.Token); // the same message again
                            }
                        }
                    }
                    catch (SmtpCommandException refused)
                    {
                        lock (permanent)
                        {
                            permanent.Add($"{(int)refused.StatusCode} {refused.Message}");
                        }
                        return;
                    }
                    catch (Exception ex) when (ex is IOException or SocketException or SmtpProtocolException)
                    {
                        Interlocked.Increment(ref temporary);
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                    }
                }
            }
            async Task WaitForAcceptedAsync(int count)
            {
                while (true)
                {
                    await Task.Delay(20, ct);
                    lock (accepted)
                    {
                        if (accepted.Count >= count)
                        {
                            return;
                        }
                    }
                }
            }

            var clients = Enumerable.Range(0, 4).Select(c => Task.Run(() => SendAsync(c), ct)).ToList();
            await WaitForAcceptedAsync(20);
            await postgres.RestartAsync(TimeSpan.FromSeconds(2));
            int before;
            lock (accepted)
            {
                before = accepted.Count;
            }
            await WaitForAcceptedAsync(before + 20); // recovered: mail is taken again
            await stop.CancelAsync();
            await Task.WhenAll(clients);
            Assert.Empty(permanent);
            Assert.True(temporary > 0, "the restart refused nothing: it did not happen under load");

            await using var source = NpgsqlDataSource.Create(connectionString);
            await using var store = new PostgreSqlMailboxStore(source);
            var stored = new List<string>();
            foreach (var entry in await store.GetSummariesAsync("alice@example.test", "INBOX",
                [.. (await store.ListMessagesAsync("alice@example.test", "INBOX", ct)).Select(m => m.Uid)], ct))
            {
                stored.Add(entry.Summary.Envelope.Subject ?? "");
            }
            // Every 250 is kept; a message whose reply the restart cut off may be there as well, and was sent again (as SMTP allows).
            Assert.All(accepted, subject => Assert.Contains(subject, stored));
            Assert.Equal(0, await host.TerminateAsync(ct));
        });
    }
}
