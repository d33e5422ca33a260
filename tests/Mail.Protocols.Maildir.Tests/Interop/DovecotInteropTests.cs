using System.Net;
using System.Text;
using Mail.Protocols.Hosting;
using Mail.Protocols.Storage;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using StoreFlags = Mail.Protocols.Storage.MessageFlags;

namespace Mail.Protocols.Maildir.Tests.Interop;

/// <summary>
/// <see cref="MaildirMailboxStore"/> and Dovecot on the same Maildir: what our SMTP server delivers and our
/// store flags, Dovecot's IMAP server reads; what Dovecot appends, flags and expunges, our store and our POP3
/// server see. Messages are compared octet for octet, flags and keywords exactly. Each test has its own user
/// (and so its own Maildir) on the class's one Dovecot; see <see cref="DovecotFixture"/> for its configuration.
/// </summary>
public sealed partial class DovecotInteropTests(DovecotFixture dovecot) : IClassFixture<DovecotFixture>
{
    private static readonly MessageSummaryItems s_summaryItems =
        MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | MessageSummaryItems.InternalDate | MessageSummaryItems.Size | MessageSummaryItems.Envelope;

    [Fact]
    public async Task Messages_received_by_our_smtp_server_are_fetched_by_dovecot_byte_for_byte()
    {
        var ct = Timeout();
        await using var scenario = await Scenario.StartAsync(dovecot, ct);

        var utf8 = TestMessages.Utf8WithDotLines(scenario.Login);
        var ascii = TestMessages.Ascii(scenario.Login, 2);
        var smtpLog = new TranscriptLogger();
        using (var smtp = new SmtpClient(smtpLog))
        {
            smtp.Timeout = 60_000;
            smtp.LocalDomain = "client.example.org";
            await smtp.ConnectAsync(IPAddress.Loopback.ToString(), scenario.Host.EndPoints["smtp"].Port, SecureSocketOptions.None, ct);
            await smtp.SendAsync(utf8, ct);
            await smtp.SendAsync(ascii, ct);
            await smtp.DisconnectAsync(true, ct);
        }
        Assert.True(TestMessages.Count(smtpLog.Transcript, "BODY=8BITMIME") == 1, "Only the UTF-8 message goes as 8BITMIME:\n" + smtpLog.Transcript);

        // Our store: the two messages in delivery order, each our Received: line followed by exactly what MailKit sent.
        var ours = await scenario.MessagesAsync(ct);
        Assert.Equal(2, ours.Count);
        var sent = new[] { utf8, ascii };
        for (var i = 0; i < 2; i++)
        {
            var expected = TestMessages.SmtpBytes(sent[i]);
            Assert.True(ours[i].Content.AsSpan().StartsWith("Received: "u8) && ours[i].Content.AsSpan().EndsWith(expected),
                $"Message {i + 1} in our store is not Received: + the sent octets:\n{ByteAssert.Preview(ours[i].Content, 3000)}");
            Assert.Equal(StoreFlags.None, ours[i].Info.Flags);
        }
        // The raw 8-bit UTF-8 and the (unstuffed) dot lines are in the file, so the comparison below is not between two re-encodings.
        Assert.True(ours[0].Content.AsSpan().IndexOf(Encoding.UTF8.GetBytes(TestMessages.Utf8Line)) >= 0, "the 8-bit UTF-8 line is not stored raw");
        Assert.True(ours[0].Content.AsSpan().IndexOf("\r\n.leading dot\r\n..two dots\r\n.\r\n"u8) >= 0, "the dot lines are not stored as sent");
        // Undisturbed deliveries sit in new/ without an info part, the way an MTA leaves them.
        Assert.Equal(2, Directory.GetFiles(Path.Combine(scenario.UserDirectory, "new")).Length);

        var imapLog = new TranscriptLogger();
        using (var imap = await dovecot.ConnectAsync(scenario.Login, scenario.Password, ct, imapLog))
        {
            var inbox = imap.Inbox;
            // Read-write (SELECT): Dovecot then moves new/ files to cur/, as it does for any IMAP client.
            await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
            Assert.True(inbox.Count == 2, $"Dovecot lists {inbox.Count} messages in INBOX.\n{imapLog.Transcript}\n{dovecot.ReadLog()}");
            var summaries = await inbox.FetchAsync(0, -1, s_summaryItems, ct);
            Assert.Equal(2, summaries.Count);
            var matched = new HashSet<uint>();
            foreach (var summary in summaries)
            {
                var index = Array.FindIndex(sent, m => m.MessageId == summary.Envelope!.MessageId!);
                Assert.True(index >= 0, $"Dovecot has a message we did not send: {summary.Envelope!.MessageId!}");
                var mine = ours[index];
                Assert.True(matched.Add(mine.Info.Uid), "Dovecot lists the same message twice");
                var fetched = await FetchRawAsync(inbox, summary.UniqueId, ct);
                ByteAssert.AssertSameBytes(mine.Content, fetched, $"Dovecot's BODY[] of message {index + 1} differs from our store's content. ");
                Assert.Equal(mine.Info.Size, (long)summary.Size!.Value);
                Assert.Equal(mine.Info.InternalDate.ToUnixTimeSeconds(), summary.InternalDate!.Value.ToUnixTimeSeconds());
                Assert.Equal(MailKit.MessageFlags.None, summary.Flags!.Value & ~MailKit.MessageFlags.Recent);
                Assert.Empty(summary.Keywords);
            }
            Assert.Equal(2, matched.Count);
            await imap.DisconnectAsync(true, ct);
        }
        Assert.Contains("BODY.PEEK[]", imapLog.Transcript, StringComparison.Ordinal);

        // Dovecot moved both files from new/ to cur/ (adding ":2,"); our store follows them under the same UIDs.
        Assert.Empty(Directory.GetFiles(Path.Combine(scenario.UserDirectory, "new")));
        var after = await scenario.MessagesAsync(ct);
        Assert.Equal(ours.Select(m => m.Info.Uid), after.Select(m => m.Info.Uid));
        for (var i = 0; i < 2; i++)
        {
            ByteAssert.AssertSameBytes(ours[i].Content, after[i].Content, $"Message {i + 1} after Dovecot moved it to cur/. ");
            Assert.Equal(StoreFlags.None, after[i].Info.Flags);
        }
    }

    [Fact]
    public async Task Flags_and_keywords_set_by_our_store_are_seen_by_dovecot()
    {
        var ct = Timeout();
        await using var scenario = await Scenario.StartAsync(dovecot, ct);
        var raw = Enumerable.Range(1, 3).Select(n => TestMessages.Raw(scenario.Login, n)).ToArray();
        var uids = new List<uint>();
        foreach (var content in raw)
        {
            uids.Add(await scenario.AppendAsync(content, ct: ct));
        }

        var first = await scenario.Store.UpdateFlagsAsync(scenario.Login, "INBOX", [uids[0]],
            new FlagChange(FlagChangeMode.Add, StoreFlags.Seen | StoreFlags.Flagged | StoreFlags.Answered, ["$Forwarded"]), cancellationToken: ct);
        var second = await scenario.Store.UpdateFlagsAsync(scenario.Login, "INBOX", [uids[1]],
            new FlagChange(FlagChangeMode.Add, StoreFlags.Seen, ["NonJunk"]), cancellationToken: ct);
        Assert.Single(first.Updated);
        Assert.Single(second.Updated);

        // On disk: Dovecot's keyword file and flag letters in ASCII order; the third message untouched in new/.
        Assert.Equal("0 $Forwarded\n1 NonJunk\n", await File.ReadAllTextAsync(Path.Combine(scenario.UserDirectory, "dovecot-keywords"), ct));
        var cur = Directory.GetFiles(Path.Combine(scenario.UserDirectory, "cur")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(2, cur.Length);
        Assert.Single(cur, f => f!.EndsWith(":2,FRSa", StringComparison.Ordinal));
        Assert.Single(cur, f => f!.EndsWith(":2,Sb", StringComparison.Ordinal));
        Assert.Single(Directory.GetFiles(Path.Combine(scenario.UserDirectory, "new")));

        var expected = new Dictionary<string, (MailKit.MessageFlags Flags, string[] Keywords)>
        {
            ["<m1@example.org>"] = (MailKit.MessageFlags.Seen | MailKit.MessageFlags.Flagged | MailKit.MessageFlags.Answered, ["$Forwarded"]),
            ["<m2@example.org>"] = (MailKit.MessageFlags.Seen, ["NonJunk"]),
            ["<m3@example.org>"] = (MailKit.MessageFlags.None, []),
        };
        await AssertDovecotFlagsAsync(scenario, expected, ct);

        // A second change, after Dovecot has indexed the messages: it must notice the renamed file, not its cache.
        await scenario.Store.UpdateFlagsAsync(scenario.Login, "INBOX", [uids[0]],
            new FlagChange(FlagChangeMode.Remove, StoreFlags.Flagged, ["$Forwarded"]), cancellationToken: ct);
        await scenario.Store.UpdateFlagsAsync(scenario.Login, "INBOX", [uids[2]],
            new FlagChange(FlagChangeMode.Replace, StoreFlags.Draft, ["$Forwarded"]), cancellationToken: ct);
        expected["<m1@example.org>"] = (MailKit.MessageFlags.Seen | MailKit.MessageFlags.Answered, []);
        expected["<m3@example.org>"] = (MailKit.MessageFlags.Draft, ["$Forwarded"]);
        await AssertDovecotFlagsAsync(scenario, expected, ct);

        // And the content Dovecot serves is still ours.
        using var imap = await dovecot.ConnectAsync(scenario.Login, scenario.Password, ct);
        await imap.Inbox.OpenAsync(FolderAccess.ReadOnly, ct);
        foreach (var summary in await imap.Inbox.FetchAsync(0, -1, s_summaryItems, ct))
        {
            var number = int.Parse(summary.Envelope!.MessageId![1..^"@example.org".Length], System.Globalization.CultureInfo.InvariantCulture);
            ByteAssert.AssertSameBytes(raw[number - 1], await FetchRawAsync(imap.Inbox, summary.UniqueId, ct), $"Message {number} via Dovecot. ");
        }
        await imap.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Dovecot_append_store_and_expunge_are_seen_by_our_store_and_our_pop3_server()
    {
        var ct = Timeout();
        await using var scenario = await Scenario.StartAsync(dovecot, ct);
        var kept = TestMessages.Raw(scenario.Login, 1);
        var expunged = TestMessages.Raw(scenario.Login, 2);
        var keptUid = await scenario.AppendAsync(kept, ct: ct);
        var expungedUid = await scenario.AppendAsync(expunged, ct: ct);
        var before = await scenario.Store.GetStatusAsync(scenario.Login, "INBOX", ct);
        Assert.Equal(2, before.Messages);

        // What Dovecot appends: 8-bit UTF-8 and dot lines, with CRLF line ends, \Seen, the keyword Junk and a past date.
        var appended = TestMessages.RawUtf8(scenario.Login, "Appended by Dovecot");
        var appendedDate = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);
        var imapLog = new TranscriptLogger();
        using (var imap = await dovecot.ConnectAsync(scenario.Login, scenario.Password, ct, imapLog))
        {
            var inbox = imap.Inbox;
            await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
            Assert.Equal(2, inbox.Count);
            var byId = (await inbox.FetchAsync(0, -1, s_summaryItems, ct)).ToDictionary(s => s.Envelope!.MessageId!, s => s.UniqueId);
            using var message = MimeMessage.Load(new MemoryStream(appended));
            var appendUid = await inbox.AppendAsync(new AppendRequest(message, MailKit.MessageFlags.Seen, ["Junk"], appendedDate), ct);
            Assert.NotNull(appendUid);
            await inbox.StoreAsync(byId["m1@example.org"], new StoreFlagsRequest(StoreAction.Add, MailKit.MessageFlags.Flagged) { Silent = true }, ct);
            await inbox.StoreAsync(byId["m2@example.org"], new StoreFlagsRequest(StoreAction.Add, MailKit.MessageFlags.Deleted) { Silent = true }, ct);
            await inbox.ExpungeAsync([byId["m2@example.org"]], ct);
            Assert.Equal(2, inbox.Count);
            // Dovecot stored exactly what MailKit sent.
            ByteAssert.AssertSameBytes(appended, await FetchRawAsync(inbox, appendUid.Value, ct), "Dovecot's BODY[] of the appended message. ");
            await imap.DisconnectAsync(true, ct);
        }

        // Our store, same instance (it had the folder open before Dovecot's changes).
        var expectedAppendedUid = before.UidNext;
        await AssertStoreAfterDovecotAsync(scenario.Store, "the same store instance", afterPop3: false);

        // Our POP3 server over that store: the kept message and the appended one, byte for byte, in UID order.
        var popLog = new TranscriptLogger();
        using (var pop = new Pop3Client(popLog))
        {
            pop.Timeout = 60_000;
            await pop.ConnectAsync(IPAddress.Loopback.ToString(), scenario.Host.EndPoints["pop3"].Port, SecureSocketOptions.None, ct);
            await pop.AuthenticateAsync(new SaslMechanismPlain(scenario.Login, scenario.Password), ct);
            Assert.True(pop.Count == 2, $"POP3 maildrop has {pop.Count} messages:\n{popLog.Transcript}");
            Assert.Equal(new[] { kept.Length, appended.Length }, await pop.GetMessageSizesAsync(ct));
            ByteAssert.AssertSameBytes(kept, await ReadAllAsync(await pop.GetStreamAsync(0, cancellationToken: ct), ct), "POP3 RETR 1. ");
            ByteAssert.AssertSameBytes(appended, await ReadAllAsync(await pop.GetStreamAsync(1, cancellationToken: ct), ct), "POP3 RETR 2 (appended by Dovecot). ");
            await pop.DisconnectAsync(true, ct);
        }

        // A new store instance (new process, in effect) replays its index and rescans: the same state.
        await scenario.ReopenStoreAsync(ct);
        // Our POP3 session downloaded both and QUIT: both now have \Seen (Pop3ServerOptions.MarkRetrievedAsSeen).
        await AssertStoreAfterDovecotAsync(scenario.Store, "a new store instance", afterPop3: true);

        async Task AssertStoreAfterDovecotAsync(MaildirMailboxStore store, string which, bool afterPop3)
        {
            var status = await store.GetStatusAsync(scenario.Login, "INBOX", ct);
            Assert.Equal(before.UidValidity, status.UidValidity);
            Assert.Equal(2, status.Messages);
            Assert.Equal(afterPop3 ? 0 : 1, status.Unseen);
            Assert.Equal(expectedAppendedUid + 1, status.UidNext);
            Assert.Equal(kept.Length + appended.Length, status.Size);

            var list = await store.ListMessagesAsync(scenario.Login, "INBOX", ct);
            Assert.True(list.Count == 2, $"{which} lists UIDs {string.Join(", ", list.Select(m => m.Uid))}");
            Assert.DoesNotContain(list, m => m.Uid == expungedUid);
            var k = list[0];
            Assert.Equal(keptUid, k.Uid);
            Assert.Equal(afterPop3 ? StoreFlags.Flagged | StoreFlags.Seen : StoreFlags.Flagged, k.Flags);
            Assert.Empty(k.Keywords);
            Assert.Equal(kept.Length, k.Size);
            var a = list[1];
            Assert.Equal(expectedAppendedUid, a.Uid);
            Assert.Equal(StoreFlags.Seen, a.Flags);
            Assert.Equal(new[] { "Junk" }, a.Keywords);
            Assert.Equal(appended.Length, a.Size);
            Assert.Equal(appendedDate, a.InternalDate);

            ByteAssert.AssertSameBytes(kept, await ContentAsync(store, scenario.Login, keptUid, ct), $"The kept message via {which}. ");
            ByteAssert.AssertSameBytes(appended, await ContentAsync(store, scenario.Login, a.Uid, ct), $"The appended message via {which}. ");
            var missing = await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.OpenContentAsync(scenario.Login, "INBOX", expungedUid, ct));
            Assert.Equal(MailboxStoreError.MessageNotFound, missing.Error);
        }
    }

    /// <summary>
    /// Dovecot numbers a new keyword in dovecot-keywords ("0 Junk") and names its file ":2,a" after our store had
    /// read the (then absent) keyword file. Our next append with another keyword must number it against the file as
    /// it is now (under Dovecot's dotlock), not against what it read before: "1 $Forwarded", letter b.
    /// </summary>
    [Fact]
    public async Task A_keyword_numbered_by_dovecot_meanwhile_keeps_its_letter_when_our_append_adds_another()
    {
        var ct = Timeout();
        await using var scenario = await Scenario.StartAsync(dovecot, ct);
        var keywordFile = Path.Combine(scenario.UserDirectory, "dovecot-keywords");
        var first = TestMessages.Raw(scenario.Login, 1);
        await scenario.AppendAsync(first, ct: ct);
        Assert.False(File.Exists(keywordFile));

        var byDovecot = TestMessages.Raw(scenario.Login, 2);
        using (var imap = await dovecot.ConnectAsync(scenario.Login, scenario.Password, ct))
        {
            await imap.Inbox.OpenAsync(FolderAccess.ReadWrite, ct);
            using var message = MimeMessage.Load(new MemoryStream(byDovecot));
            Assert.NotNull(await imap.Inbox.AppendAsync(new AppendRequest(message, MailKit.MessageFlags.None, ["Junk"]), ct));
            await imap.DisconnectAsync(true, ct);
        }
        Assert.Equal("0 Junk\n", await File.ReadAllTextAsync(keywordFile, ct));

        var ours = TestMessages.Raw(scenario.Login, 3);
        await scenario.AppendAsync(ours, new AppendOptions(Keywords: ["$Forwarded"]), ct);
        var cur = Directory.GetFiles(Path.Combine(scenario.UserDirectory, "cur")).Select(Path.GetFileName).ToArray();

        Assert.Equal("0 Junk\n1 $Forwarded\n", await File.ReadAllTextAsync(keywordFile, ct));
        Assert.Single(cur, f => f!.EndsWith(":2,a", StringComparison.Ordinal));
        Assert.Single(cur, f => f!.EndsWith(":2,b", StringComparison.Ordinal));
        Assert.False(File.Exists(keywordFile + ".lock"));

        await AssertDovecotFlagsAsync(scenario, new()
        {
            ["<m1@example.org>"] = (MailKit.MessageFlags.None, []),
            ["<m2@example.org>"] = (MailKit.MessageFlags.None, ["Junk"]),
            ["<m3@example.org>"] = (MailKit.MessageFlags.None, ["$Forwarded"]),
        }, ct);
        var list = await scenario.Store.ListMessagesAsync(scenario.Login, "INBOX", ct);
        Assert.Equal(3, list.Count);
        Assert.Empty(list[0].Keywords);
        // UID order: our append got its UID before our store came across Dovecot's file, which comes last.
        Assert.Equal(new[] { "$Forwarded" }, list[1].Keywords);
        Assert.Equal(new[] { "Junk" }, list[2].Keywords);
        ByteAssert.AssertSameBytes(byDovecot, await ContentAsync(scenario.Store, scenario.Login, list[2].Uid, ct), "Dovecot's message through our store. ");
    }

    /// <summary>
    /// With Dovecot's default <c>mail_save_crlf = no</c> (and with most MTAs and LDAs that write Maildir) message
    /// files have LF line ends; Dovecot records both sizes in the name (",S=physical,W=virtual") and turns LF into
    /// CRLF whenever it serves a message. Our store does the same: its size is the CRLF size, its content has
    /// CRLF line ends, so POP3's LIST and RETR agree with Dovecot's RFC822.SIZE and BODY[].
    /// </summary>
    [Fact]
    public async Task Lf_only_message_files_are_served_with_crlf_and_counted_as_dovecot_counts_them()
    {
        var ct = Timeout();
        await using var scenario = await Scenario.StartAsync(dovecot, ct, saveCrlf: false);
        await scenario.Store.GetStatusAsync(scenario.Login, "INBOX", ct);
        var sent = TestMessages.RawUtf8(scenario.Login, "Stored with LF by Dovecot");
        var lf = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(sent).Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.True(lf.Length < sent.Length);

        using (var imap = await dovecot.ConnectAsync(scenario.Login, scenario.Password, ct))
        {
            await imap.Inbox.OpenAsync(FolderAccess.ReadWrite, ct);
            using var message = MimeMessage.Load(new MemoryStream(sent));
            var uid = await imap.Inbox.AppendAsync(new AppendRequest(message, MailKit.MessageFlags.None), ct);
            // Dovecot itself serves the message with CRLF and counts its size that way.
            var summary = (await imap.Inbox.FetchAsync([uid!.Value], s_summaryItems, ct))[0];
            Assert.Equal(sent.Length, (long)summary.Size!.Value);
            ByteAssert.AssertSameBytes(sent, await FetchRawAsync(imap.Inbox, uid.Value, ct), "Dovecot's BODY[] of its LF file. ");
            await imap.DisconnectAsync(true, ct);
        }
        var file = Assert.Single(Directory.GetFiles(Path.Combine(scenario.UserDirectory, "cur")));
        Assert.EndsWith($",S={lf.Length},W={sent.Length}:2,", file, StringComparison.Ordinal);
        ByteAssert.AssertSameBytes(lf, await File.ReadAllBytesAsync(file, ct), "The file Dovecot wrote. ");

        var info = Assert.Single(await scenario.Store.ListMessagesAsync(scenario.Login, "INBOX", ct));
        Assert.Equal(sent.Length, info.Size);
        ByteAssert.AssertSameBytes(sent, await ContentAsync(scenario.Store, scenario.Login, info.Uid, ct), "Our store's content. ");

        var popLog = new TranscriptLogger();
        using var pop = new Pop3Client(popLog);
        pop.Timeout = 60_000;
        await pop.ConnectAsync(IPAddress.Loopback.ToString(), scenario.Host.EndPoints["pop3"].Port, SecureSocketOptions.None, ct);
        await pop.AuthenticateAsync(new SaslMechanismPlain(scenario.Login, scenario.Password), ct);
        Assert.Equal(sent.Length, await pop.GetMessageSizeAsync(0, ct));
        var retrieved = await ReadAllAsync(await pop.GetStreamAsync(0, cancellationToken: ct), ct);
        await pop.DisconnectAsync(true, ct);
        ByteAssert.AssertSameBytes(sent, retrieved, "POP3 RETR (MailKit keeps line ends as received). ");
        Assert.Contains($"+OK {sent.Length} octets", popLog.Transcript, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Folders_created_by_either_side_are_listed_by_the_other()
    {
        var ct = Timeout();
        await using var scenario = await Scenario.StartAsync(dovecot, ct);
        await scenario.Store.CreateFolderAsync(scenario.Login, "Archive/2026", cancellationToken: ct);
        await scenario.Store.CreateFolderAsync(scenario.Login, "Entwürfe", cancellationToken: ct);
        var inArchive = TestMessages.Raw(scenario.Login, 5);
        var appended = await scenario.Store.AppendAsync(scenario.Login, "Archive/2026", new MemoryStream(inArchive), cancellationToken: ct);

        using (var imap = await dovecot.ConnectAsync(scenario.Login, scenario.Password, ct))
        {
            var personal = imap.GetFolder(imap.PersonalNamespaces[0]);
            var names = (await personal.GetSubfoldersAsync(false, ct)).Select(f => f.FullName).ToList();
            var archive = await imap.GetFolderAsync("Archive", ct);
            names.AddRange((await archive.GetSubfoldersAsync(false, ct)).Select(f => f.FullName));
            Assert.Equal(new[] { "Archive", "Archive/2026", "Entwürfe", "INBOX" }, names.Order(StringComparer.Ordinal));

            var year = await imap.GetFolderAsync("Archive/2026", ct);
            await year.OpenAsync(FolderAccess.ReadOnly, ct);
            Assert.Equal(1, year.Count);
            ByteAssert.AssertSameBytes(inArchive, await FetchRawAsync(year, (await year.FetchAsync(0, -1, s_summaryItems, ct))[0].UniqueId, ct), "Archive/2026 via Dovecot. ");
            await year.CloseAsync(false, ct);

            await personal.CreateAsync("Projekte", true, ct);
            var projects = await imap.GetFolderAsync("Projekte", ct);
            await projects.CreateAsync("Größe Q3", true, ct);
            await imap.DisconnectAsync(true, ct);
        }

        // Maildir++ with modified UTF-7 on both sides: "öß" is one base64 run.
        Assert.True(Directory.Exists(Path.Combine(scenario.UserDirectory, ".Projekte.Gr&APYA3w-e Q3")),
            "Dovecot's directory name for Projekte/Größe Q3: " + string.Join(", ", Directory.GetDirectories(scenario.UserDirectory).Select(Path.GetFileName)));
        var folders = await scenario.Store.ListFoldersAsync(scenario.Login, ct);
        Assert.Equal(new[] { "INBOX", "Archive", "Archive/2026", "Entwürfe", "Projekte", "Projekte/Größe Q3" }, folders.Select(f => f.Name));
        Assert.Equal(1, (await scenario.Store.GetStatusAsync(scenario.Login, "Archive/2026", ct)).Messages);
        Assert.Equal(appended.Uid, (await scenario.Store.ListMessagesAsync(scenario.Login, "Archive/2026", ct))[0].Uid);
    }

    private async Task AssertDovecotFlagsAsync(Scenario scenario, Dictionary<string, (MailKit.MessageFlags Flags, string[] Keywords)> expected, CancellationToken ct)
    {
        var log = new TranscriptLogger();
        using var imap = await dovecot.ConnectAsync(scenario.Login, scenario.Password, ct, log);
        await imap.Inbox.OpenAsync(FolderAccess.ReadOnly, ct);
        var summaries = await imap.Inbox.FetchAsync(0, -1, s_summaryItems, ct);
        Assert.Equal(expected.Count, summaries.Count);
        foreach (var summary in summaries)
        {
            var (flags, keywords) = expected["<" + summary.Envelope!.MessageId! + ">"];
            var context = $"Message {summary.Envelope!.MessageId!} via Dovecot:\n{log.Transcript}";
            Assert.True(flags == (summary.Flags!.Value & ~MailKit.MessageFlags.Recent), $"flags {summary.Flags}, expected {flags}. {context}");
            Assert.True(keywords.Order(StringComparer.Ordinal).SequenceEqual(summary.Keywords.Order(StringComparer.Ordinal)),
                $"keywords ({string.Join(" ", summary.Keywords)}), expected ({string.Join(" ", keywords)}). {context}");
        }
        await imap.DisconnectAsync(true, ct);
    }

    private static async Task<byte[]> FetchRawAsync(IMailFolder folder, UniqueId uid, CancellationToken ct) =>
        await ReadAllAsync(await folder.GetStreamAsync(uid, "", ct), ct);

    private static async Task<byte[]> ContentAsync(IMailboxStore store, string user, uint uid, CancellationToken ct) =>
        await ReadAllAsync(await store.OpenContentAsync(user, "INBOX", uid, ct), ct);

    private static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken ct)
    {
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, ct);
            return copy.ToArray();
        }
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;

    /// <summary>
    /// One test's world: a user known to Dovecot and to a <see cref="MailHost"/> (SMTP and POP3 without TLS, plain
    /// AUTH allowed) running on a <see cref="MaildirMailboxStore"/> over the fixture's mail root. The login has
    /// capitals (<see cref="DovecotFixture.ClaimUser"/>), so both sides must map it to the same lower-cased directory.
    /// Disposing removes the user's Maildir.
    /// </summary>
    private sealed class Scenario : IAsyncDisposable
    {
        private readonly DovecotFixture _dovecot;

        private Scenario(DovecotFixture dovecot, DovecotUser user)
        {
            _dovecot = dovecot;
            Login = user.Login;
            Password = user.Password;
        }

        public string Login { get; }

        public string Password { get; }

        public string UserDirectory => Path.Combine(_dovecot.MailRoot, Login.ToLowerInvariant());

        public MaildirMailboxStore Store { get; private set; } = null!;

        public MailHost Host { get; private set; } = null!;

        public static async Task<Scenario> StartAsync(DovecotFixture dovecot, CancellationToken ct, bool saveCrlf = true)
        {
            var scenario = new Scenario(dovecot, dovecot.ClaimUser(saveCrlf));
            try
            {
                await scenario.StartHostAsync(ct);
                // Our store's user directory must be the one Dovecot uses: ROOT/<lower-cased login>.
                Assert.Equal(scenario.UserDirectory, scenario.Store.GetUserDirectory(scenario.Login));
                return scenario;
            }
            catch
            {
                await scenario.DisposeAsync();
                throw;
            }
        }

        private async Task StartHostAsync(CancellationToken ct)
        {
            Store = new MaildirMailboxStore(_dovecot.StoreOptions("mp-interop"));
            var options = new MailHostOptions
            {
                Store = Store,
                SmtpPort = 0,
                SubmissionPort = null,
                SmtpsPort = null,
                Pop3Port = 0,
                Pop3sPort = null, ImapPort = null, ImapsPort = null,
                AllowPlaintextAuth = true,
                ServerName = "mx.interop.test",
            };
            options.Domains.Add("example.test");
            options.Users.Add((Login, Password));
            Host = new MailHost(options);
            await Host.StartAsync(ct);
        }

        /// <summary>Stops the host, disposes the store (releasing its lock) and starts both again on the same Maildir.</summary>
        public async Task ReopenStoreAsync(CancellationToken ct)
        {
            await Host.DisposeAsync();
            Store.Dispose();
            await StartHostAsync(ct);
        }

        public async Task<uint> AppendAsync(byte[] content, AppendOptions? options = null, CancellationToken ct = default)
        {
            using var stream = new MemoryStream(content, writable: false);
            return (await Store.AppendAsync(Login, "INBOX", stream, options, cancellationToken: ct)).Uid;
        }

        /// <summary>INBOX as our store has it: (info, content) in UID order.</summary>
        public async Task<List<(MessageInfo Info, byte[] Content)>> MessagesAsync(CancellationToken ct)
        {
            var result = new List<(MessageInfo, byte[])>();
            foreach (var info in await Store.ListMessagesAsync(Login, "INBOX", ct))
            {
                result.Add((info, await ContentAsync(Store, Login, info.Uid, ct)));
            }
            return result;
        }

        public async ValueTask DisposeAsync()
        {
            if (Host is not null)
            {
                await Host.DisposeAsync();
            }
            Store?.Dispose();
            try
            {
                if (Directory.Exists(UserDirectory))
                {
                    Directory.Delete(UserDirectory, recursive: true);
                }
            }
            catch (IOException)
            {
            }
        }
    }

    private static class TestMessages
    {
        public const string Utf8Line = "Grüße aus Köln – ein 8-Bit-Text: ½ € ✓";

        /// <summary>A text/plain message in raw 8-bit UTF-8 with lines a dot-stuffing bug would break.</summary>
        public static MimeMessage Utf8WithDotLines(string to)
        {
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("sender@example.org"));
            message.To.Add(MailboxAddress.Parse(to));
            message.Subject = "8-bit body";
            message.MessageId = "utf8.1@example.org";
            message.Date = new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
            var body = new TextPart("plain") { ContentTransferEncoding = ContentEncoding.EightBit };
            body.SetText("utf-8", Utf8Line + "\r\n.leading dot\r\n..two dots\r\n.\r\nEnde.\r\n");
            message.Body = body;
            return message;
        }

        public static MimeMessage Ascii(string to, int number)
        {
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("sender@example.org"));
            message.To.Add(MailboxAddress.Parse(to));
            message.Subject = $"Plain message {number}";
            message.MessageId = $"ascii.{number}@example.org";
            message.Date = new DateTimeOffset(2026, 11, 29, 12, 0, number, TimeSpan.Zero);
            message.Body = new TextPart("plain") { Text = $"Message {number}, 7-bit only.\r\nSecond line.\r\n", ContentTransferEncoding = ContentEncoding.SevenBit };
            return message;
        }

        /// <summary>Raw CRLF octets; sizes differ per message so that a mix-up cannot go unnoticed.</summary>
        public static byte[] Raw(string to, int number)
        {
            var body = new StringBuilder();
            body.Append(System.Globalization.CultureInfo.InvariantCulture, $"Message number {number}.\r\n.dot first\r\n");
            for (var i = 0; i < number * 3; i++)
            {
                body.Append(System.Globalization.CultureInfo.InvariantCulture, $"{number:D2}-{i:D3} The quick brown fox jumps over the lazy dog.\r\n");
            }
            return Encoding.ASCII.GetBytes($"From: sender{number}@example.org\r\nTo: {to}\r\nSubject: Message {number}\r\n"
                + $"Message-ID: <m{number}@example.org>\r\nDate: Sun, 29 Nov 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
                + $"Content-Type: text/plain; charset=us-ascii\r\n\r\n{body}");
        }

        /// <summary>Raw CRLF octets with an 8-bit UTF-8 body.</summary>
        public static byte[] RawUtf8(string to, string subject) =>
            Encoding.UTF8.GetBytes($"From: sender@example.org\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <appended@example.org>\r\n"
                + "Date: Wed, 04 Mar 2026 05:06:07 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + $"Content-Transfer-Encoding: 8bit\r\n\r\n{Utf8Line}\r\n.leading dot\r\n..two dots\r\n.\r\nEnde.\r\n");

        /// <summary>The octets MailKit's SmtpClient puts on the wire for <paramref name="message"/> (before dot-stuffing).</summary>
        public static byte[] SmtpBytes(MimeMessage message) => MailKitWire.Bytes(message);

        public static int Count(string text, string value)
        {
            var count = 0;
            for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
            {
                count++;
            }
            return count;
        }
    }
}
