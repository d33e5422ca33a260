using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>samples/MailHost with <c>--store postgres:CONNSTRING</c>: two hosts on one database serve the same mailboxes.</summary>
public sealed partial class SampleMailHostTests
{
    [Fact]
    public async Task Two_hosts_on_one_database_serve_one_mailbox_mail_taken_on_one_is_read_and_flagged_on_the_other()
    {
        var ct = TestHost.Timeout();
        await WithDatabaseAsync(async (_, connectionString) =>
        {
            string[] Host() =>
            [
                "--set", "Mail:Smtp:Listeners:0:Port=0", "--set", "Mail:Pop3:Listeners:0:Port=0", "--set", "Mail:Imap:Listeners:0:Port=0",
                "--submission", "0", "--smtps", "0", "--pop3s", "0", "--imaps", "0", "--no-delivery", "--allow-plaintext-auth",
                "--user", "alice@example.test:alice-secret", "--store", "postgres:" + connectionString, "--queue", "postgres:" + connectionString,
            ];
            using var a = SampleRun.Start(Host(), []);
            using var b = SampleRun.Start(Host(), []);
            var (onA, onB) = (await a.WaitForEndpointsAsync(ct), await b.WaitForEndpointsAsync(ct));

            await SendToAliceAsync(onA["smtp"], "taken on A", ct);
            using (var pop3 = new Pop3Client())
            {
                await pop3.ConnectAsync("127.0.0.1", onB["pop3"], SecureSocketOptions.None, ct);
                await pop3.AuthenticateAsync("alice@example.test", "alice-secret", ct);
                Assert.Equal(1, pop3.Count);
                Assert.Equal("taken on A", (await pop3.GetMessageAsync(0, ct)).Subject);
                await pop3.DisconnectAsync(true, ct);
            }

            // An IMAP client idling on B hears of mail A takes; one idling on A hears of the flags B sets.
            using var imapOnB = await ImapAsync(onB["imap"], ct);
            using var imapOnA = await ImapAsync(onA["imap"], ct);
            var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            imapOnB.Inbox.CountChanged += (_, _) => arrived.TrySetResult();
            using (var stop = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                var idle = imapOnB.IdleAsync(stop.Token, ct);
                await SendToAliceAsync(onA["smtp"], "second on A", ct);
                await arrived.Task.WaitAsync(ct);
                await stop.CancelAsync();
                await idle;
            }
            Assert.Equal(2, imapOnB.Inbox.Count);

            var flagged = new TaskCompletionSource<MessageFlags>(TaskCreationOptions.RunContinuationsAsynchronously);
            imapOnA.Inbox.MessageFlagsChanged += (_, e) => flagged.TrySetResult(e.Flags);
            using (var stop = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                var idle = imapOnA.IdleAsync(stop.Token, ct);
                await imapOnB.Inbox.AddFlagsAsync(0, MessageFlags.Flagged, silent: true, ct);
                Assert.True((await flagged.Task.WaitAsync(ct)).HasFlag(MessageFlags.Flagged));
                await stop.CancelAsync();
                await idle;
            }
            await imapOnA.DisconnectAsync(true, ct);
            await imapOnB.DisconnectAsync(true, ct);
            Assert.Equal(0, await a.TerminateAsync(ct));
            Assert.Equal(0, await b.TerminateAsync(ct));
            Assert.Contains("store postgres:127.0.0.1/", a.Output, StringComparison.Ordinal);
        });
    }

    private static async Task<ImapClient> ImapAsync(int port, CancellationToken ct)
    {
        var client = new ImapClient();
        await client.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None, ct);
        await client.AuthenticateAsync("alice@example.test", "alice-secret", ct);
        await client.Inbox.OpenAsync(FolderAccess.ReadWrite, ct);
        return client;
    }

    private static async Task SendToAliceAsync(int port, string subject, CancellationToken ct)
    {
        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None, ct);
        var message = new MimeMessage { Subject = subject, Body = new TextPart("plain") { Text = "One mailbox, two hosts." } };
        message.From.Add(MailboxAddress.Parse("writer@example.org"));
        message.To.Add(MailboxAddress.Parse("alice@example.test"));
        await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);
    }
}
