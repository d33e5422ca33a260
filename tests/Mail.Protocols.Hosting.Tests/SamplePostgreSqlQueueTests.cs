using Mail.Protocols.PostgreSql.Queue;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Npgsql;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>samples/MailHost with <c>--queue postgres:CONNSTRING</c>: outbound mail waits in PostgreSQL, beyond the process.</summary>
public sealed partial class SampleMailHostTests
{
    [Fact]
    public async Task With_the_queue_in_PostgreSQL_forwarded_mail_waits_there_after_the_host_stops()
    {
        var ct = TestHost.Timeout();
        var postgres = new PostgresServer();
        await postgres.InitializeAsync();
        try
        {
            var connectionString = await postgres.CreateDatabaseAsync();
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
        }
        finally
        {
            await postgres.DisposeAsync();
        }
    }
}
