using System.Net;
using System.Text;
using Mail.Protocols.Hosting;
using MailKit;
using MailKit.Net.Pop3;
using MailKit.Security;
using MimeKit;
using MimeKit.Utils;

namespace Mail.Protocols.Maildir.Tests.Interop;

/// <summary>
/// Moving a mailbox from Dovecot to Mail.Protocols: a Maildir Dovecot served (IMAP and POP3) is taken over by our
/// store and POP3 server. IMAP UIDVALIDITY and UIDs stay Dovecot's, and every POP3 UIDL is exactly the one Dovecot
/// gave, so neither IMAP clients nor "leave mail on server" POP3 clients download anything again.
/// </summary>
public sealed class DovecotMigrationTests(DovecotFixture dovecot) : IClassFixture<DovecotFixture>
{
    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;

    private static MimeMessage Message(string id) => new()
    {
        From = { MailboxAddress.Parse("bob@example.org") },
        To = { MailboxAddress.Parse("alice@example.test") },
        Subject = id,
        MessageId = id,
        Body = new TextPart("plain") { Text = $"message {id}\r\n" },
    };

    private static async Task<Dictionary<string, string>> Pop3UidlsAsync(IPEndPoint endPoint, string login, string password, CancellationToken ct)
    {
        using var pop = new Pop3Client { Timeout = 60_000 };
        await pop.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, SecureSocketOptions.None, ct);
        await pop.AuthenticateAsync(new SaslMechanismPlain(login, password), ct);
        var uidls = await pop.GetMessageUidsAsync(ct);
        var byId = new Dictionary<string, string>();
        for (var i = 0; i < pop.Count; i++)
        {
            var headers = await pop.GetMessageHeadersAsync(i, ct);
            byId[MimeUtils.EnumerateReferences(headers[HeaderId.MessageId] ?? "").Single()] = uidls[i];
        }
        await pop.DisconnectAsync(true, ct);
        return byId;
    }

    [Fact]
    public async Task A_maildir_dovecot_served_keeps_its_imap_uids_uidvalidity_and_pop3_uidls_under_our_store_and_pop3_server()
    {
        var ct = Timeout();
        var user = dovecot.ClaimUser();
        var userDirectory = Path.Combine(dovecot.MailRoot, user.Login.ToLowerInvariant());
        try
        {
            // Dovecot's life: four messages appended, the second expunged, so the UIDs have a gap.
            uint validity, uidNext;
            var dovecotUids = new Dictionary<string, uint>();
            using (var imap = await dovecot.ConnectAsync(user.Login, user.Password, ct))
            {
                var inbox = imap.Inbox;
                await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
                var appended = new List<UniqueId>();
                foreach (var id in new[] { "m1@example.org", "m2@example.org", "m3@example.org", "m4@example.org" })
                {
                    appended.Add((await inbox.AppendAsync(new AppendRequest(Message(id), id == "m3@example.org" ? MailKit.MessageFlags.Seen : MailKit.MessageFlags.None), ct))!.Value);
                }
                await inbox.StoreAsync(appended[1], new StoreFlagsRequest(StoreAction.Add, MailKit.MessageFlags.Deleted) { Silent = true }, ct);
                await inbox.ExpungeAsync([appended[1]], ct);
                foreach (var summary in await inbox.FetchAsync(0, -1, MessageSummaryItems.UniqueId | MessageSummaryItems.Envelope, ct))
                {
                    dovecotUids[summary.Envelope!.MessageId!] = summary.UniqueId.Id;
                }
                // UIDNEXT as SELECT reports it now (the value seen at the first SELECT predates the appends).
                await inbox.CloseAsync(false, ct);
                await inbox.OpenAsync(FolderAccess.ReadOnly, ct);
                validity = inbox.UidValidity;
                uidNext = inbox.UidNext!.Value.Id;
                await imap.DisconnectAsync(true, ct);
            }
            Assert.Equal(new uint[] { 1, 3, 4 }, dovecotUids.Values.Order());
            var dovecotUidls = await Pop3UidlsAsync(new IPEndPoint(IPAddress.Loopback, dovecot.Pop3Port), user.Login, user.Password, ct);
            Assert.Equal(3, dovecotUidls.Count);
            Assert.True(File.Exists(Path.Combine(userDirectory, "dovecot-uidlist")));

            // Mail another MDA delivered after Dovecot's last look: not in its uidlist.
            var late = Encoding.ASCII.GetBytes("From: bob@example.org\r\nSubject: late\r\nMessage-ID: <m5@example.org>\r\n\r\nlate\r\n");
            await File.WriteAllBytesAsync(Path.Combine(userDirectory, "tmp", "1800000000.M1P1.late"), late, ct);
            File.Move(Path.Combine(userDirectory, "tmp", "1800000000.M1P1.late"), Path.Combine(userDirectory, "new", "1800000000.M1P1.late"));

            // The switch: our store and POP3 server on the same Maildir.
            using var store = new MaildirMailboxStore(dovecot.StoreOptions("mp-migration"));
            var options = new MailHostOptions
            {
                Store = store, SmtpPort = null, SubmissionPort = null, SmtpsPort = null, Pop3Port = 0, Pop3sPort = null, ImapPort = null, ImapsPort = null,
                AllowPlaintextAuth = true, ServerName = "pop.migration.test",
            };
            options.Domains.Add("example.test");
            options.Users.Add((user.Login, user.Password));
            await using var host = new MailHost(options);
            await host.StartAsync(ct);

            var status = await store.GetStatusAsync(user.Login, "INBOX", ct);
            Assert.Equal(validity, status.UidValidity);
            var ours = new Dictionary<string, uint>();
            foreach (var info in await store.ListMessagesAsync(user.Login, "INBOX", ct))
            {
                await using var content = await store.OpenContentAsync(user.Login, "INBOX", info.Uid, ct);
                ours[(await MimeMessage.LoadAsync(content, ct)).MessageId ?? ""] = info.Uid;
            }
            Assert.Equal(4, ours.Count);
            var files = string.Join("\n", new[] { "cur", "new" }.SelectMany(d => Directory.GetFiles(Path.Combine(userDirectory, d))).Select(Path.GetFileName));
            var why = $"dovecot-uidlist:\n{File.ReadAllText(Path.Combine(userDirectory, "dovecot-uidlist"))}\nfiles:\n{files}";
            foreach (var (id, uid) in dovecotUids)
            {
                Assert.True(uid == ours[id], $"{id}: Dovecot's UID {uid}, ours {ours[id]}\n{why}");
            }
            Assert.Equal(uidNext, ours["m5@example.org"]); // the UID Dovecot would have given it
            Assert.Equal(uidNext + 1, status.UidNext);

            var ourUidls = await Pop3UidlsAsync(host.EndPoints["pop3"], user.Login, user.Password, ct);
            Assert.Equal(4, ourUidls.Count);
            foreach (var (id, uidl) in dovecotUidls)
            {
                Assert.Equal(uidl, ourUidls[id]);
            }
        }
        finally
        {
            if (Directory.Exists(userDirectory))
            {
                Directory.Delete(userDirectory, recursive: true);
            }
        }
    }
}
