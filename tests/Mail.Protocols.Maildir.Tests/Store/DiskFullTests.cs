using System.Diagnostics;
using System.Text;
using Mail.Protocols.Hosting;
using Mail.Protocols.Maildir.Queue;
using Mail.Protocols.Queue;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>A full disk, made real with a small tmpfs: SMTP says 452 4.3.1 and nothing half-written stays behind.</summary>
public sealed class DiskFullTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public DiskFullTests() => Run("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", _directory.Path);

    public void Dispose()
    {
        Run("umount", _directory.Path);
        _directory.Dispose();
    }

    private static void Run(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardError = true, UseShellExecute = false };
        arguments.ToList().ForEach(start.ArgumentList.Add);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error} (the test needs root to mount a tmpfs)");
        }
    }

    private static MimeMessage Message(string subject, int size)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("bob@example.org"));
        message.To.Add(MailboxAddress.Parse("alice@example.test"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = new string('x', size / 2).Replace("xx", "x\r\n", StringComparison.Ordinal) };
        return message;
    }

    [Fact]
    public async Task Smtp_answers_452_when_the_maildir_disk_is_full_leaves_no_partial_file_and_takes_mail_again_once_there_is_room()
    {
        using var store = new MaildirMailboxStore(new MaildirStoreOptions { RootPath = _directory.Combine("mail") });
        var options = new MailHostOptions { Store = store, SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null };
        options.Users.Add(("alice@example.test", "alice"));
        await using var host = new MailHost(options);
        await host.StartAsync();

        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", host.EndPoints["smtp"].Port, SecureSocketOptions.None);
        var error = await Assert.ThrowsAsync<SmtpCommandException>(async () => await client.SendAsync(Message("too big for the disk", 400_000)));
        Assert.Equal(SmtpStatusCode.InsufficientStorage, error.StatusCode);
        Assert.Contains("4.3.1", error.Message, StringComparison.Ordinal);

        var inbox = store.GetUserDirectory("alice@example.test");
        foreach (var sub in new[] { "tmp", "new", "cur" })
        {
            Assert.Empty(Directory.GetFiles(Path.Combine(inbox, sub)));
        }
        Assert.Empty(await store.ListMessagesAsync("alice@example.test", "INBOX"));

        // Same connection, a message that fits: accepted and stored whole.
        await client.SendAsync(Message("fits", 20_000));
        var stored = Assert.Single(await store.ListMessagesAsync("alice@example.test", "INBOX"));
        await using var content = await store.OpenContentAsync("alice@example.test", "INBOX", stored.Uid);
        Assert.Equal("fits", (await MimeMessage.LoadAsync(content)).Subject);
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task Enqueue_on_a_full_disk_fails_with_enospc_and_leaves_nothing_in_the_queue()
    {
        using var queue = new FileMessageQueue(_directory.Combine("queue"));
        var envelope = new QueueEnvelope("alice@example.test", [new QueueRecipient("bob@remote.test")], DateTimeOffset.UtcNow);
        var error = await Assert.ThrowsAnyAsync<IOException>(async () => await queue.EnqueueAsync(envelope, new MemoryStream(new byte[400_000])));
        Assert.Equal(28, error.HResult & 0xFFFF);
        Assert.Equal(0, await queue.CountAsync());
        foreach (var sub in new[] { "tmp", "msg", "env" })
        {
            Assert.Empty(Directory.GetFiles(_directory.Combine("queue", sub)));
        }
        await queue.EnqueueAsync(envelope, new MemoryStream(Encoding.ASCII.GetBytes("Subject: fits\r\n\r\nok\r\n")));
        Assert.Equal(1, await queue.CountAsync());
    }
}
