using Mail.Protocols.Hosting;
using Mail.Protocols.TestSupport;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>The whole path on disk: SMTP delivers into Maildir files, POP3 serves and deletes them, a restart keeps UIDLs.</summary>
public sealed class Pop3OverMaildirTests : IDisposable
{
    private const string User = "alice@example.test";
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private async Task<MailHost> StartAsync(MaildirMailboxStore store)
    {
        var options = new MailHostOptions { Store = store, SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = 0, Pop3sPort = null, ImapPort = null, ImapsPort = null, AllowPlaintextAuth = true };
        options.Users.Add((User, "alice"));
        var host = new MailHost(options);
        await host.StartAsync();
        return host;
    }

    [Fact]
    public async Task Smtp_to_maildir_to_pop3_with_dele_removing_files_and_uidls_stable_across_a_restart()
    {
        var root = _directory.Combine("mail");
        var store = new MaildirMailboxStore(root);
        string keptUidl;
        await using (var host = await StartAsync(store))
        {
            using (var smtp = new SmtpClient())
            {
                await smtp.ConnectAsync("127.0.0.1", host.EndPoints["smtp"].Port, SecureSocketOptions.None);
                for (var i = 0; i < 3; i++)
                {
                    var message = new MimeMessage();
                    message.From.Add(MailboxAddress.Parse("bob@example.org"));
                    message.To.Add(MailboxAddress.Parse(User));
                    message.Subject = $"number {i}";
                    message.Body = new TextPart("plain") { Text = $"body {i}\r\n.leading dot\r\n" };
                    await smtp.SendAsync(message);
                }
                await smtp.DisconnectAsync(true);
            }
            var files = Directory.GetFiles(Path.Combine(store.GetUserDirectory(User), "new"));
            Assert.Equal(3, files.Length);

            using var pop3 = new Pop3Client();
            await pop3.ConnectAsync("127.0.0.1", host.EndPoints["pop3"].Port, SecureSocketOptions.None);
            await pop3.AuthenticateAsync(User, "alice");
            Assert.Equal(3, pop3.Count);
            var uidls = await pop3.GetMessageUidsAsync();
            var onDisk = new List<byte[]>();
            foreach (var file in files)
            {
                onDisk.Add(await File.ReadAllBytesAsync(file));
            }
            for (var i = 0; i < 3; i++)
            {
                await using var raw = await pop3.GetStreamAsync(i);
                var bytes = new MemoryStream();
                await raw.CopyToAsync(bytes);
                // Byte for byte the file the SMTP server wrote (the dot line unstuffed there and stuffed again on the wire).
                Assert.Single(onDisk, d => d.AsSpan().SequenceEqual(bytes.ToArray()));
            }
            await pop3.DeleteMessagesAsync([0, 2]);
            await pop3.DisconnectAsync(true);
            keptUidl = uidls[1];
            // The kept message was downloaded: at QUIT it got \Seen, which in a Maildir is a rename into cur/ with S.
            Assert.Empty(Directory.GetFiles(Path.Combine(store.GetUserDirectory(User), "new")));
            Assert.EndsWith(":2,S", Assert.Single(Directory.GetFiles(Path.Combine(store.GetUserDirectory(User), "cur"))), StringComparison.Ordinal);
        }
        store.Dispose();

        using var restarted = new MaildirMailboxStore(root);
        await using var again = await StartAsync(restarted);
        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", again.EndPoints["pop3"].Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(User, "alice");
        Assert.Equal(1, client.Count);
        Assert.Equal(keptUidl, (await client.GetMessageUidsAsync())[0]);
        Assert.Equal("number 1", (await client.GetMessageAsync(0)).Subject);
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task Two_servers_with_their_own_stores_on_one_maildir_lock_the_maildrop_against_each_other()
    {
        var root = _directory.Combine("mail");
        var firstStore = new MaildirMailboxStore(root);
        using var secondStore = new MaildirMailboxStore(root); // another process's store, on the same directories
        await using var secondHost = await StartAsync(secondStore);
        await using (var firstHost = await StartAsync(firstStore))
        {
            await using var first = await RawLineClient.ConnectAsync(firstHost.EndPoints["pop3"]);
            await first.ReadLineAsync();
            await first.CommandAsync($"USER {User}");
            Assert.StartsWith("+OK", await first.CommandAsync("PASS alice"));

            await using (var second = await RawLineClient.ConnectAsync(secondHost.EndPoints["pop3"]))
            {
                await second.ReadLineAsync();
                await second.CommandAsync($"USER {User}");
                Assert.Equal("-ERR [IN-USE] Mailbox is locked by another POP3 session", await second.CommandAsync("PASS alice"));
            }
            Assert.StartsWith("+OK", await first.CommandAsync("QUIT"));
        }
        firstStore.Dispose(); // the first "process" ends: its index lock goes too

        await using var third = await RawLineClient.ConnectAsync(secondHost.EndPoints["pop3"]);
        await third.ReadLineAsync();
        await third.CommandAsync($"USER {User}");
        Assert.StartsWith("+OK", await third.CommandAsync("PASS alice"));
        Assert.StartsWith("+OK", await third.CommandAsync("QUIT"));
    }
}
