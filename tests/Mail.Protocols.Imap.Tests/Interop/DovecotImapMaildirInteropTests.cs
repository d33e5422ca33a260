using System.Net;
using Mail.Protocols.Hosting;
using Mail.Protocols.Maildir;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>
/// One Maildir served by our IMAP server (a <see cref="MailHost"/> on a <see cref="MaildirMailboxStore"/>) and by
/// Dovecot's (the shared <see cref="DovecotFixture"/>): what one side's IMAP clients write, the other side's IMAP
/// serves with the same folders, flags, keywords, internal dates and octets. Each test has its own user.
/// </summary>
public sealed class DovecotImapMaildirInteropTests(DovecotFixture dovecot) : IClassFixture<DovecotFixture>
{
    private const MessageSummaryItems Items = MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | MessageSummaryItems.InternalDate
        | MessageSummaryItems.Size | MessageSummaryItems.Envelope;

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(120)).Token;

    private static DateTimeOffset Day(int month, int day) => new(2026, month, day, 10, 30, 0, TimeSpan.FromHours(2));

    /// <summary>One message as an IMAP server reports it.</summary>
    private sealed record Seen(string MessageId, UniqueId Uid, MessageFlags Flags, string[] Keywords, long InternalDate, ulong Size, byte[] Octets);

    /// <summary>
    /// Written through our IMAP server (CREATE with a non-ASCII name, APPEND with flags, keywords and dates, STORE,
    /// EXPUNGE), read through Dovecot's: the same folders and, per message, the same flags, keywords, internal date,
    /// size and octets, in the same UID order. (Dovecot numbers the files itself: our store does not write
    /// dovecot-uidlist, see docs/maildir.md "Not done", so UIDVALIDITY and UIDs are not shared in this direction.)
    /// </summary>
    [Fact]
    public async Task A_maildir_written_through_our_imap_is_served_alike_by_dovecot()
    {
        var ct = Timeout();
        var user = dovecot.ClaimUser();
        var userDirectory = Path.Combine(dovecot.MailRoot, user.Login.ToLowerInvariant());
        try
        {
            Dictionary<string, List<Seen>> ours;
            await using (var ourSide = await OurSide.StartAsync(dovecot, user, ct))
            {
                var log = new TranscriptLogger();
                using var client = await ourSide.ConnectAsync(log, ct);
                var personal = client.GetFolder(client.PersonalNamespaces[0]);
                var projects = (await personal.CreateAsync("Projekte", true, ct))!;
                var quarter = (await projects.CreateAsync("Größe Q4", true, ct))!;
                Assert.Equal("Projekte/Größe Q4", quarter.FullName);

                var inbox = client.Inbox;
                var appended = new List<UniqueId>();
                var requests = new[]
                {
                    new AppendRequest(InteropMessages.Plain(user.Login, "first", "One.\r\n.dot line\r\n"), MessageFlags.Seen, Day(1, 2)),
                    new AppendRequest(InteropMessages.Rich(user.Login, "rich.a@example.org"), MessageFlags.Seen | MessageFlags.Answered, ["$Forwarded"], Day(2, 3)),
                    new AppendRequest(InteropMessages.Plain(user.Login, "third"), MessageFlags.None, Day(3, 4)),
                    new AppendRequest(InteropMessages.Plain(user.Login, "doomed"), MessageFlags.Draft, Day(4, 5)),
                };
                foreach (var request in requests)
                {
                    request.Message.MessageId ??= MimeKit.Utils.MimeUtils.GenerateMessageId("example.org");
                    appended.Add((await inbox.AppendAsync(request, ct))!.Value);
                }
                await quarter.AppendAsync(new AppendRequest(InteropMessages.Plain(user.Login, "in a subfolder"), MessageFlags.Flagged, ["Work"], Day(5, 6)), ct);
                await quarter.AppendAsync(new AppendRequest(InteropMessages.Rich(user.Login, "rich.b@example.org"), MessageFlags.None, Day(6, 7)), ct);

                await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
                await inbox.AddFlagsAsync(appended[0], MessageFlags.Flagged, true, ct);
                await inbox.RemoveFlagsAsync(appended[1], MessageFlags.Seen, true, ct);
                await inbox.StoreAsync(appended[2], new StoreFlagsRequest(StoreAction.Add, MessageFlags.None, ["NonJunk", "$Label2"]) { Silent = true }, ct);
                await inbox.AddFlagsAsync(appended[3], MessageFlags.Deleted, true, ct);
                await inbox.ExpungeAsync(ct);
                Assert.Equal(3, inbox.Count);
                await inbox.CloseAsync(false, ct);

                ours = new()
                {
                    ["INBOX"] = await ReadFolderAsync(client, "INBOX", ct),
                    ["Projekte/Größe Q4"] = await ReadFolderAsync(client, "Projekte/Größe Q4", ct),
                };
                await client.DisconnectAsync(true, ct);
            }
            Assert.Equal(["first", "rich", "third"], ours["INBOX"].Select(m => m.MessageId.StartsWith("rich", StringComparison.Ordinal) ? "rich" : Subject(m)));
            Assert.Equal(MessageFlags.Seen | MessageFlags.Flagged, ours["INBOX"][0].Flags);
            Assert.Equal(MessageFlags.Answered, ours["INBOX"][1].Flags);
            Assert.Equal(["$Label2", "NonJunk"], ours["INBOX"][2].Keywords);

            // Maildir++ with modified UTF-7, as Dovecot names it.
            Assert.True(Directory.Exists(Path.Combine(userDirectory, ".Projekte.Gr&APYA3w-e Q4")),
                string.Join(", ", Directory.GetDirectories(userDirectory).Select(Path.GetFileName)));

            var dovecotLog = new TranscriptLogger();
            using var imap = await dovecot.ConnectAsync(user.Login, user.Password, ct, dovecotLog);
            var names = new List<string>();
            foreach (var folder in await imap.GetFoldersAsync(imap.PersonalNamespaces[0], cancellationToken: ct))
            {
                names.Add(folder.FullName);
            }
            Assert.Contains("Projekte", names);
            Assert.Contains("Projekte/Größe Q4", names);
            foreach (var (folder, expected) in ours)
            {
                var theirs = await ReadFolderAsync(imap, folder, ct);
                AssertSameMessages(expected, theirs, $"{folder}, ours then Dovecot's", compareUids: false, dovecotLog.Transcript + dovecot.ReadLog());
            }
            await imap.DisconnectAsync(true, ct);
        }
        finally
        {
            DeleteUser(userDirectory);
        }
    }

    /// <summary>
    /// Written through Dovecot's IMAP server (CREATE, APPEND with flags, keywords and dates, STORE, EXPUNGE), read
    /// through ours: the same UIDVALIDITY and UIDs (our store takes over dovecot-uidlist), flags, keywords, internal
    /// dates and octets. A flag then stored through ours is seen by Dovecot on the same message.
    /// </summary>
    [Fact]
    public async Task A_maildir_written_through_dovecots_imap_is_served_alike_by_ours()
    {
        var ct = Timeout();
        var user = dovecot.ClaimUser();
        var userDirectory = Path.Combine(dovecot.MailRoot, user.Login.ToLowerInvariant());
        try
        {
            var dovecotLog = new TranscriptLogger();
            Dictionary<string, (uint UidValidity, List<Seen> Messages)> theirs = [];
            using (var imap = await dovecot.ConnectAsync(user.Login, user.Password, ct, dovecotLog))
            {
                var personal = imap.GetFolder(imap.PersonalNamespaces[0]);
                var archive = (await personal.CreateAsync("Archiv", true, ct))!;
                var year = (await archive.CreateAsync("2026", true, ct))!;
                await personal.CreateAsync("Entwürfe", true, ct);
                var inbox = imap.Inbox;
                var appended = new List<UniqueId>();
                for (var i = 0; i < 5; i++)
                {
                    var message = i == 1 ? InteropMessages.Rich(user.Login, "rich.d@example.org") : InteropMessages.Plain(user.Login, $"dovecot {i}", $"Body {i}\r\n");
                    message.MessageId ??= $"dovecot.{i}@example.org";
                    var flags = i % 2 == 0 ? MessageFlags.Seen : MessageFlags.None;
                    appended.Add((await inbox.AppendAsync(new AppendRequest(message, flags, i == 3 ? ["Junk"] : [], Day(i + 1, 10 + i)), ct))!.Value);
                }
                await year.AppendAsync(new AppendRequest(InteropMessages.Plain(user.Login, "archived", "Old.\r\n"), MessageFlags.Seen | MessageFlags.Flagged, Day(7, 1)), ct);

                await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
                await inbox.AddFlagsAsync(appended[1], MessageFlags.Flagged | MessageFlags.Answered, true, ct);
                await inbox.StoreAsync(appended[4], new StoreFlagsRequest(StoreAction.Add, MessageFlags.None, ["$Forwarded"]) { Silent = true }, ct);
                await inbox.AddFlagsAsync(appended[2], MessageFlags.Deleted, true, ct);
                await inbox.ExpungeAsync(ct);
                await inbox.CloseAsync(false, ct);

                foreach (var folder in new[] { "INBOX", "Archiv/2026", "Entwürfe" })
                {
                    var f = await imap.GetFolderAsync(folder, ct);
                    var messages = await ReadFolderAsync(imap, folder, ct);
                    theirs[folder] = (f.UidValidity, messages);
                }
                await imap.DisconnectAsync(true, ct);
            }
            Assert.Equal(4, theirs["INBOX"].Messages.Count);
            Assert.Single(theirs["Archiv/2026"].Messages);
            Assert.Empty(theirs["Entwürfe"].Messages);

            await using var ourSide = await OurSide.StartAsync(dovecot, user, ct);
            var log = new TranscriptLogger();
            using var client = await ourSide.ConnectAsync(log, ct);
            var names = (await client.GetFoldersAsync(client.PersonalNamespaces[0], cancellationToken: ct)).Select(f => f.FullName).ToList();
            Assert.Contains("Archiv/2026", names);
            Assert.Contains("Entwürfe", names);
            foreach (var (folder, (uidValidity, expected)) in theirs)
            {
                var ours = await ReadFolderAsync(client, folder, ct);
                var opened = await client.GetFolderAsync(folder, ct);
                Assert.True(uidValidity == opened.UidValidity, $"{folder}: Dovecot's UIDVALIDITY {uidValidity}, ours {opened.UidValidity}\n{log.Transcript}");
                AssertSameMessages(expected, ours, $"{folder}, Dovecot's then ours", compareUids: true, log.Transcript);
                // And what our IMAP served is what our store holds.
                foreach (var message in ours)
                {
                    ByteAssert.AssertSameBytes(message.Octets, await InteropMessages.StoredAsync(ourSide.Store, user.Login, folder, message.Uid.Id, ct), $"{folder} UID {message.Uid.Id} in our store: ");
                }
            }

            // Back the other way: a flag stored through ours shows on the same message in Dovecot.
            var target = theirs["INBOX"].Messages[^1];
            await client.Inbox.OpenAsync(FolderAccess.ReadWrite, ct);
            await client.Inbox.AddFlagsAsync(target.Uid, MessageFlags.Flagged, true, ct);
            await client.DisconnectAsync(true, ct);
            using var again = await dovecot.ConnectAsync(user.Login, user.Password, ct);
            await again.Inbox.OpenAsync(FolderAccess.ReadOnly, ct);
            var seen = (await again.Inbox.FetchAsync([target.Uid], Items, ct)).Single();
            Assert.Equal(target.MessageId, seen.Envelope!.MessageId);
            Assert.Equal(target.Flags | MessageFlags.Flagged, seen.Flags!.Value & ~MessageFlags.Recent);
            Assert.Equal(target.Keywords, seen.Keywords.Order(StringComparer.Ordinal));
            await again.DisconnectAsync(true, ct);
        }
        finally
        {
            DeleteUser(userDirectory);
        }
    }

    /// <summary>
    /// The same messages in the same Maildir, asked of both servers through MailKit: ENVELOPE and BODYSTRUCTURE (as
    /// MailKit parses and writes them back) and the UIDs each of a list of searches finds are the same.
    /// </summary>
    [Fact]
    public async Task Both_servers_describe_and_search_the_same_maildir_alike()
    {
        var ct = Timeout();
        var user = dovecot.ClaimUser();
        var userDirectory = Path.Combine(dovecot.MailRoot, user.Login.ToLowerInvariant());
        try
        {
            var messages = new List<(MimeKit.MimeMessage Message, MessageFlags Flags, string[] Keywords, DateTimeOffset Date)>
            {
                (InteropMessages.Rich(user.Login, "rich.e@example.org"), MessageFlags.Seen, ["$Forwarded"], Day(1, 1)),
                (InteropMessages.Plain(user.Login, "Budget meeting", "Let us discuss the budget.\r\n", "alice.smith@example.org", Day(2, 1)), MessageFlags.Flagged, [], Day(2, 2)),
                (InteropMessages.Plain(user.Login, "Re: Budget meeting", "Sounds good.\r\n", "carol@example.com", Day(3, 1)), MessageFlags.Answered | MessageFlags.Seen, ["Work"], Day(3, 2)),
                (InteropMessages.Plain(user.Login, "Grüße aus Köln", "Hallo aus dem Rheinland, schöne Grüße.\r\n", "dave@example.org", Day(4, 1)), MessageFlags.None, [], Day(4, 2)),
            };
            var eightBit = InteropMessages.Plain(user.Login, "8-bit", date: Day(5, 1));
            var body = new MimeKit.TextPart("plain") { ContentTransferEncoding = MimeKit.ContentEncoding.EightBit };
            body.SetText("utf-8", "Straße und Größe in 8 Bit.\r\n");
            eightBit.Body = body;
            messages.Add((eightBit, MessageFlags.Draft, ["Work", "$Later"], Day(5, 2)));

            using (var imap = await dovecot.ConnectAsync(user.Login, user.Password, ct))
            {
                foreach (var (message, flags, keywords, date) in messages)
                {
                    await imap.Inbox.AppendAsync(new AppendRequest(message, flags, keywords, date), ct);
                }
                await imap.DisconnectAsync(true, ct);
            }

            var searches = new (string Name, MailKit.Search.SearchQuery Query)[]
            {
                ("ALL", MailKit.Search.SearchQuery.All),
                ("SUBJECT budget", MailKit.Search.SearchQuery.SubjectContains("budget")),
                ("SUBJECT Grüße", MailKit.Search.SearchQuery.SubjectContains("Grüße")),
                ("FROM example.org", MailKit.Search.SearchQuery.FromContains("example.org")),
                ("FROM Jörg", MailKit.Search.SearchQuery.FromContains("Jörg")),
                ("TO user", MailKit.Search.SearchQuery.ToContains(user.Login.Split('@')[0])),
                ("CC carol", MailKit.Search.SearchQuery.CcContains("carol")),
                ("BODY rheinland", MailKit.Search.SearchQuery.BodyContains("rheinland")),
                ("BODY Bericht über", MailKit.Search.SearchQuery.BodyContains("Bericht über")),
                ("BODY Straße", MailKit.Search.SearchQuery.BodyContains("Straße")),
                ("TEXT forwarded text", MailKit.Search.SearchQuery.MessageContains("forwarded text")),
                ("TEXT carol@example.com", MailKit.Search.SearchQuery.MessageContains("carol@example.com")),
                ("HEADER Message-ID rich.e", MailKit.Search.SearchQuery.HeaderContains("Message-ID", "rich.e")),
                ("SEEN", MailKit.Search.SearchQuery.Seen),
                ("UNSEEN", MailKit.Search.SearchQuery.NotSeen),
                ("KEYWORD Work", MailKit.Search.SearchQuery.HasKeyword("Work")),
                ("UNKEYWORD $Forwarded", MailKit.Search.SearchQuery.NotKeyword("$Forwarded")),
                ("SINCE 2-Feb", MailKit.Search.SearchQuery.DeliveredAfter(Day(2, 2).DateTime)),
                ("BEFORE 3-Mar", MailKit.Search.SearchQuery.DeliveredBefore(Day(3, 2).DateTime)),
                ("ON 4-Apr", MailKit.Search.SearchQuery.DeliveredOn(Day(4, 2).DateTime)),
                ("SENTSINCE 1-Mar", MailKit.Search.SearchQuery.SentSince(Day(3, 1).DateTime)),
                ("SENTBEFORE 1-Mar", MailKit.Search.SearchQuery.SentBefore(Day(3, 1).DateTime)),
                ("LARGER 1000", MailKit.Search.SearchQuery.LargerThan(1000)),
                ("OR SUBJECT budget NOT SEEN", MailKit.Search.SearchQuery.SubjectContains("budget").Or(MailKit.Search.SearchQuery.NotSeen)),
                ("NOT FROM example.org AND SEEN", MailKit.Search.SearchQuery.Not(MailKit.Search.SearchQuery.FromContains("example.org")).And(MailKit.Search.SearchQuery.Seen)),
            };

            async Task<(List<string> Envelopes, List<string> Structures, List<string> Found)> AskAsync(ImapClient client)
            {
                var inbox = client.Inbox;
                await inbox.OpenAsync(FolderAccess.ReadOnly, ct);
                var summaries = (await inbox.FetchAsync(0, -1, Items | MessageSummaryItems.BodyStructure, ct)).OrderBy(s => s.UniqueId.Id).ToList();
                var found = new List<string>();
                foreach (var (name, query) in searches)
                {
                    found.Add($"{name}: {string.Join(",", (await inbox.SearchAsync(query, ct)).Select(u => u.Id))}");
                }
                await inbox.CloseAsync(false, ct);
                return ([.. summaries.Select(s => $"{s.UniqueId.Id} {s.Envelope}")], [.. summaries.Select(s => $"{s.UniqueId.Id} {s.Body}")], found);
            }

            (List<string> Envelopes, List<string> Structures, List<string> Found) theirs;
            using (var imap = await dovecot.ConnectAsync(user.Login, user.Password, ct))
            {
                theirs = await AskAsync(imap);
                await imap.DisconnectAsync(true, ct);
            }
            await using var ourSide = await OurSide.StartAsync(dovecot, user, ct);
            var log = new TranscriptLogger();
            using var client = await ourSide.ConnectAsync(log, ct);
            var ours = await AskAsync(client);
            await client.DisconnectAsync(true, ct);

            Assert.Equal(messages.Count, theirs.Envelopes.Count);
            Assert.Equal(theirs.Envelopes, ours.Envelopes);
            Assert.Equal(theirs.Structures, ours.Structures);
            Assert.Equal(theirs.Found, ours.Found);
        }
        finally
        {
            DeleteUser(userDirectory);
        }
    }

    private static string Subject(Seen message) => InteropMessages.Text(message.Octets).Split("\r\nSubject: ")[1].Split("\r\n")[0];

    private static void AssertSameMessages(List<Seen> expected, List<Seen> actual, string context, bool compareUids, string transcript)
    {
        Assert.True(expected.Count == actual.Count, $"{context}: {expected.Count} messages, then {actual.Count}\n{transcript}");
        // The same messages in the same UID order.
        Assert.Equal(expected.Select(m => m.MessageId), actual.Select(m => m.MessageId));
        for (var i = 0; i < expected.Count; i++)
        {
            var (e, a) = (expected[i], actual[i]);
            var what = $"{context}, message {e.MessageId}";
            if (compareUids)
            {
                Assert.True(e.Uid.Id == a.Uid.Id, $"{what}: UID {e.Uid.Id}, then {a.Uid.Id}\n{transcript}");
            }
            Assert.True(e.Flags == a.Flags, $"{what}: flags {e.Flags}, then {a.Flags}\n{transcript}");
            Assert.True(e.Keywords.SequenceEqual(a.Keywords), $"{what}: keywords ({string.Join(" ", e.Keywords)}), then ({string.Join(" ", a.Keywords)})");
            Assert.True(e.InternalDate == a.InternalDate, $"{what}: INTERNALDATE {DateTimeOffset.FromUnixTimeSeconds(e.InternalDate)}, then {DateTimeOffset.FromUnixTimeSeconds(a.InternalDate)}");
            Assert.True(e.Size == a.Size, $"{what}: RFC822.SIZE {e.Size}, then {a.Size}");
            ByteAssert.AssertSameBytes(e.Octets, a.Octets, $"{what}, BODY[]: ");
        }
    }

    /// <summary>Every message of a folder as an IMAP server reports it, in UID order, with its BODY.PEEK[] octets.</summary>
    private static async Task<List<Seen>> ReadFolderAsync(ImapClient client, string name, CancellationToken ct)
    {
        var folder = await client.GetFolderAsync(name, ct);
        await folder.OpenAsync(FolderAccess.ReadOnly, ct);
        var result = new List<Seen>();
        if (folder.Count > 0)
        {
            foreach (var summary in (await folder.FetchAsync(0, -1, Items, ct)).OrderBy(s => s.UniqueId.Id))
            {
                var octets = await InteropMessages.ReadAllAsync(await folder.GetStreamAsync(summary.UniqueId, "", ct), ct);
                result.Add(new Seen(summary.Envelope!.MessageId ?? "", summary.UniqueId, summary.Flags!.Value & ~MessageFlags.Recent,
                    [.. summary.Keywords.Order(StringComparer.Ordinal)], summary.InternalDate!.Value.ToUnixTimeSeconds(), summary.Size!.Value, octets));
            }
        }
        await folder.CloseAsync(false, ct);
        return result;
    }

    /// <summary>
    /// A <see cref="MailHost"/> serving IMAP (plain, LOGIN allowed) on our Maildir store over the fixture's mail root;
    /// disposing stops the host and releases the store.
    /// </summary>
    private sealed class OurSide : IAsyncDisposable
    {
        private readonly DovecotUser _user;

        private OurSide(DovecotUser user, MaildirMailboxStore store, MailHost host)
        {
            _user = user;
            Store = store;
            Host = host;
        }

        public MaildirMailboxStore Store { get; }

        public MailHost Host { get; }

        public static async Task<OurSide> StartAsync(DovecotFixture dovecot, DovecotUser user, CancellationToken ct)
        {
            var storeOptions = new MaildirStoreOptions { RootPath = dovecot.MailRoot, HostName = "mp-imap-interop" };
            if (DovecotFixture.RunsAsRoot)
            {
                // Dovecot's mail processes run as nobody in group root (see DovecotFixture): give the group read and write.
                storeOptions.FilePermissions = (UnixFileMode)0b110_110_000;
                storeOptions.DirectoryPermissions = (UnixFileMode)0b111_111_000;
            }
            var store = new MaildirMailboxStore(storeOptions);
            var options = new MailHostOptions
            {
                Store = store,
                SmtpPort = null, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = 0, ImapsPort = null,
                AllowPlaintextAuth = true,
                ServerName = "imap.interop.test",
            };
            options.Domains.Add("example.test");
            options.Users.Add((user.Login, user.Password));
            options.Imap.FailedAuthDelay = TimeSpan.FromMilliseconds(50);
            var host = new MailHost(options);
            try
            {
                await host.StartAsync(ct);
            }
            catch
            {
                await host.DisposeAsync();
                store.Dispose();
                throw;
            }
            Assert.Equal(Path.Combine(dovecot.MailRoot, user.Login.ToLowerInvariant()), store.GetUserDirectory(user.Login));
            return new OurSide(user, store, host);
        }

        /// <summary>A MailKit client logged in to our IMAP server; the caller disposes it.</summary>
        public async Task<ImapClient> ConnectAsync(TranscriptLogger log, CancellationToken ct)
        {
            var client = new ImapClient(log) { Timeout = 60_000 };
            try
            {
                var endPoint = Host.EndPoints["imap"];
                await client.ConnectAsync(IPAddress.Loopback.ToString(), endPoint.Port, SecureSocketOptions.None, ct);
                await client.AuthenticateAsync(new SaslMechanismPlain(_user.Login, _user.Password), ct);
                return client;
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            Store.Dispose();
        }
    }

    private static void DeleteUser(string userDirectory)
    {
        try
        {
            if (Directory.Exists(userDirectory))
            {
                Directory.Delete(userDirectory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
    }
}
