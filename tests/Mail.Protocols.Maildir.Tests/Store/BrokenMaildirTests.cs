using Mail.Protocols.Hosting;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>A Maildir the file system will not read: the store reports it as unavailable, and the engines answer with their temporary errors.</summary>
public sealed class BrokenMaildirTests : IDisposable
{
    private const string User = "alice@example.test";
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    // cur/ replaced by a plain file: listing it fails with ENOTDIR, whatever the process's privileges.
    private static void Break(MaildirMailboxStore store)
    {
        var cur = Path.Combine(store.GetUserDirectory(User), "cur");
        Directory.Delete(cur);
        File.WriteAllText(cur, "not a directory");
    }

    [Fact]
    public async Task A_maildir_that_cannot_be_read_is_unavailable_not_an_unexpected_exception()
    {
        using var store = new MaildirMailboxStore(_directory.Combine("mail"));
        Assert.Empty(await store.ListMessagesAsync(User, "INBOX"));
        Break(store);
        using var fresh = new MaildirMailboxStore(_directory.Combine("mail"));
        store.Dispose();
        var error = await Assert.ThrowsAsync<MailboxStoreException>(async () => await fresh.ListMessagesAsync(User, "INBOX"));
        Assert.Equal(MailboxStoreError.Unavailable, error.Error);
    }

    [Fact]
    public async Task Pop3_answers_sys_temp_and_smtp_451_and_both_sessions_go_on()
    {
        var root = _directory.Combine("mail");
        using (var setup = new MaildirMailboxStore(root))
        {
            Assert.Empty(await setup.ListMessagesAsync(User, "INBOX"));
            Break(setup);
        }
        using var store = new MaildirMailboxStore(root);
        var options = new MailHostOptions { Store = store, SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = 0, Pop3sPort = null, ImapPort = null, ImapsPort = null, AllowPlaintextAuth = true };
        options.Users.Add((User, "alice"));
        await using var host = new MailHost(options);
        await host.StartAsync();

        using (var pop3 = await RawLineClient.ConnectAsync(host.EndPoints["pop3"]))
        {
            Assert.StartsWith("+OK", await pop3.ReadLineAsync());
            Assert.StartsWith("+OK", await pop3.SayAsync($"USER {User}"));
            Assert.Equal("-ERR [SYS/TEMP] Mailbox temporarily unavailable", await pop3.SayAsync("PASS alice"));
            Assert.StartsWith("+OK", await pop3.SayAsync("QUIT"));
        }

        using var smtp = await RawLineClient.ConnectAsync(host.EndPoints["smtp"]);
        Assert.StartsWith("220", await smtp.ReadLineAsync());
        await smtp.SayAsync("HELO client.example.org");
        Assert.StartsWith("250", await smtp.SayAsync("MAIL FROM:<bob@example.org>"));
        Assert.StartsWith("250", await smtp.SayAsync($"RCPT TO:<{User}>"));
        Assert.StartsWith("354", await smtp.SayAsync("DATA"));
        var reply = await smtp.SayAsync("Subject: x\r\n\r\nbody\r\n.");
        Assert.StartsWith("451 4.3.0", reply);
        Assert.StartsWith("250", await smtp.SayAsync("RSET"));
        Assert.StartsWith("221", await smtp.SayAsync("QUIT"));
    }
}
