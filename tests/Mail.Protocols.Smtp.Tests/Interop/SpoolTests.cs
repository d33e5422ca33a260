using System.Text;
using Mail.Protocols.Hosting;
using Mail.Protocols.InMemory;
using Mail.Protocols.TestSupport.Faults;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Mail.Protocols.Smtp.Tests.Interop;

/// <summary>
/// A large message in flight is spooled to a file only the server's user can read: 0600, in a 0700 directory of the
/// server's own (created at start, removed at dispose), never in the shared temporary directory itself.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SpoolTests : IDisposable
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly DirectoryInfo _parent = Directory.CreateTempSubdirectory("mp-spool-test-");

    public void Dispose() => _parent.Delete(recursive: true);

    [Fact]
    public async Task A_large_message_in_flight_is_a_0600_file_in_the_servers_0700_spool_directory_and_is_gone_after()
    {
        using var arrived = new SemaphoreSlim(0);
        using var release = new SemaphoreSlim(0);
        var store = new FaultyMailboxStore(new InMemoryMailboxStore())
        {
            // The whole message is in the spool when the store is called: hold it there (without blocking a thread).
            BeforeAppend = async () =>
            {
                arrived.Release();
                await release.WaitAsync(TimeSpan.FromSeconds(60));
            },
        };
        var options = new MailHostOptions { Store = store, SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null, ServerName = "mx.spool.test" };
        options.Domains.Add("example.test");
        options.Users.Add(("alice@example.test", "alice"));
        options.Smtp.SpoolDirectory = _parent.FullName;
        var host = new MailHost(options);
        var disposed = false;
        try
        {
            await host.StartAsync();
            await SendWhileHeldAsync(host, arrived, release);
            await host.DisposeAsync();
            disposed = true;
            Assert.Empty(Directory.GetDirectories(_parent.FullName)); // removed with the server
        }
        finally
        {
            release.Release(10);
            if (!disposed)
            {
                await host.DisposeAsync();
            }
        }
    }

    private async Task SendWhileHeldAsync(MailHost host, SemaphoreSlim arrived, SemaphoreSlim release)
    {
        // Created at start, before any message, and private.
        var spool = Assert.Single(Directory.GetDirectories(_parent.FullName));
        Assert.StartsWith("mailprotocols-spool-", Path.GetFileName(spool), StringComparison.Ordinal);
        Assert.Equal(OwnerReadWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(spool));
        Assert.Empty(Directory.GetFiles(spool));

        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("bob@example.org"));
        message.To.Add(MailboxAddress.Parse("alice@example.test"));
        message.Subject = "large";
        var text = new StringBuilder();
        for (var i = 0; i < 30_000; i++)
        {
            text.Append("line ").Append(i).Append(" of a message larger than the 1 MiB kept in memory\r\n");
        }
        message.Body = new TextPart("plain") { Text = text.ToString() };
        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", host.EndPoints["smtp"].Port, SecureSocketOptions.None);
        var sending = client.SendAsync(message);

        Assert.True(await arrived.WaitAsync(TimeSpan.FromSeconds(60)), "the message never reached the store");
        var file = Assert.Single(Directory.GetFiles(spool));
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(file));
        Assert.True(new FileInfo(file).Length > 1024 * 1024);

        release.Release();
        await sending;
        await FakeTimeExtensions.WaitUntilAsync(() => Directory.GetFiles(spool).Length == 0);
        Assert.Single(await host.Store.ListMessagesAsync("alice@example.test", "INBOX"));
        await client.DisconnectAsync(true);
    }
}
