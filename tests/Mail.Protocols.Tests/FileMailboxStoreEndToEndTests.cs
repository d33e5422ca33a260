using System.Net;
using CustomMailboxStore;
using Mail.Protocols.Hosting;
using Mail.Protocols.Storage;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Mail.Protocols.Tests;

/// <summary>
/// The reference host on the store of samples/CustomMailboxStore, over real sockets: MailKit sends over SMTP
/// and reads back over POP3, then the store is re-opened on the same directory as after a restart.
/// </summary>
public sealed class FileMailboxStoreEndToEndTests : IDisposable
{
    private const string Alice = "alice@example.test";
    private const string Password = "alice";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "file-store-e2e", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task Message_sent_over_smtp_is_read_back_over_pop3_byte_for_byte_and_survives_a_restart()
    {
        var ct = new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;
        var sent = new MimeMessage();
        sent.From.Add(MailboxAddress.Parse("bob@example.org"));
        sent.To.Add(MailboxAddress.Parse(Alice));
        sent.Subject = "Stored in a file";
        sent.Body = new TextPart("plain") { Text = "Hello Alice,\r\n.\r\n..two dots\r\nBye.\r\n", ContentTransferEncoding = ContentEncoding.SevenBit };

        byte[] stored;
        string popUid;
        MessageInfo info;
        await using (var host = await StartAsync(new FileMailboxStore(_directory)))
        {
            using (var smtp = new SmtpClient())
            {
                var endpoint = host.EndPoints["smtp"];
                await smtp.ConnectAsync(endpoint.Address.ToString(), endpoint.Port, SecureSocketOptions.None, ct);
                await smtp.SendAsync(sent, ct);
                await smtp.DisconnectAsync(true, ct);
            }
            var uid = Assert.Single(await host.Store.ListMessagesAsync(Alice, "INBOX", ct)).Uid;
            stored = await ReadAsync(host.Store, uid, ct);
            // The server puts its Received: header in front; everything after it is what MailKit sent.
            Assert.True(stored.AsSpan().EndsWith(MailKitWire.Bytes(sent)), "The store does not hold what was sent.");

            var (downloaded, uidl) = await DownloadAsync(host.EndPoints["pop3"], ct);
            ByteAssert.AssertSameBytes(stored, downloaded, "RETR does not return the stored file. ");
            popUid = uidl;

            var update = await host.Store.UpdateFlagsAsync(Alice, "INBOX", [uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen | MessageFlags.Flagged, ["$Important"]), cancellationToken: ct);
            info = Assert.Single(update.Updated);
        }

        // Restart: a new store instance on the same directory, and a new host over it.
        var reopened = new FileMailboxStore(_directory);
        var message = Assert.Single(await reopened.ListMessagesAsync(Alice, "INBOX", ct));
        Assert.Equal(info.Uid, message.Uid);
        Assert.Equal(MessageFlags.Seen | MessageFlags.Flagged, message.Flags);
        Assert.Equal(["$Important"], message.Keywords);
        Assert.Equal(info.ModSeq, message.ModSeq);
        ByteAssert.AssertSameBytes(stored, await ReadAsync(reopened, message.Uid, ct), "The file changed across the restart. ");
        await using (var host = await StartAsync(reopened))
        {
            var (downloaded, uidl) = await DownloadAsync(host.EndPoints["pop3"], ct);
            ByteAssert.AssertSameBytes(stored, downloaded, "RETR after the restart does not return the stored file. ");
            Assert.Equal(popUid, uidl); // same UIDVALIDITY and UID, so POP3 clients see the same message
        }
    }

    private static async Task<MailHost> StartAsync(IMailboxStore store)
    {
        var options = new MailHostOptions
        {
            Store = store,
            SmtpPort = 0,
            SubmissionPort = null,
            SmtpsPort = null,
            Pop3Port = 0,
            Pop3sPort = null, ImapPort = null, ImapsPort = null,
            AllowPlaintextAuth = true,
            ServerName = "files.example.test",
        };
        options.Domains.Add("example.test");
        options.Users.Add((Alice, Password));
        var host = new MailHost(options);
        try
        {
            await host.StartAsync();
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private static async Task<(byte[] Content, string Uid)> DownloadAsync(IPEndPoint pop3, CancellationToken ct)
    {
        using var client = new Pop3Client();
        await client.ConnectAsync(pop3.Address.ToString(), pop3.Port, SecureSocketOptions.None, ct);
        await client.AuthenticateAsync(Alice, Password, ct);
        Assert.Equal(1, client.Count);
        var uid = await client.GetMessageUidAsync(0, ct);
        using var copy = new MemoryStream();
        await using (var stream = await client.GetStreamAsync(0, cancellationToken: ct))
        {
            await stream.CopyToAsync(copy, ct);
        }
        await client.DisconnectAsync(true, ct);
        return (copy.ToArray(), uid);
    }

    private static async Task<byte[]> ReadAsync(IMailboxStore store, uint uid, CancellationToken ct)
    {
        await using var content = await store.OpenContentAsync(Alice, "INBOX", uid, ct);
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy, ct);
        return copy.ToArray();
    }
}
