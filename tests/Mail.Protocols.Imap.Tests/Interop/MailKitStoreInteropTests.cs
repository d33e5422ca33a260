using MailKit;
using MailKit.Net.Imap;
using StoreFlags = Mail.Protocols.Storage.MessageFlags;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>
/// MailKit's APPEND (flags, keywords, internal date), STORE (flags and keywords; UNCHANGEDSINCE with the MODIFIED
/// answer), COPY and MOVE with their UIDPLUS results, each checked through IMAP and in the store.
/// </summary>
public sealed class MailKitStoreInteropTests
{
    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;

    [Fact]
    public async Task Append_keeps_flags_keywords_internal_date_and_octets()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        var drafts = client.GetFolder(SpecialFolder.Drafts)!;
        var message = InteropMessages.Rich(ImapInteropHost.Alice);
        var octets = InteropMessages.Bytes(message);
        var date = new DateTimeOffset(2025, 7, 4, 23, 59, 58, TimeSpan.FromHours(-7));
        var appended = await drafts.AppendAsync(new AppendRequest(message, MessageFlags.Draft | MessageFlags.Seen, ["$Label1", "Project-X"], date), ct);
        Assert.NotNull(appended);

        // The store: the exact octets MailKit sent, the flags, keywords and date.
        var info = Assert.Single(await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "Drafts", ct));
        Assert.Equal(appended.Value.Id, info.Uid);
        Assert.Equal(StoreFlags.Draft | StoreFlags.Seen, info.Flags);
        Assert.Equal(["$Label1", "Project-X"], info.Keywords.Order(StringComparer.Ordinal));
        Assert.Equal(date, info.InternalDate);
        Assert.Equal(date.Offset, info.InternalDate.Offset);
        ByteAssert.AssertSameBytes(octets, await InteropMessages.StoredAsync(host.Host.Store, ImapInteropHost.Alice, "Drafts", info.Uid, ct), "The appended message in the store ");

        // IMAP: the same, and APPENDUID's validity is the folder's.
        await drafts.OpenAsync(FolderAccess.ReadOnly, ct);
        Assert.Equal(appended.Value.Validity, drafts.UidValidity);
        var summary = Assert.Single(await drafts.FetchAsync(0, -1, MessageSummaryItems.Flags | MessageSummaryItems.InternalDate | MessageSummaryItems.Size | MessageSummaryItems.UniqueId, ct));
        Assert.Equal(appended.Value, summary.UniqueId);
        Assert.Equal(MessageFlags.Draft | MessageFlags.Seen, summary.Flags!.Value & ~MessageFlags.Recent);
        Assert.Equal(["$Label1", "Project-X"], summary.Keywords.Order(StringComparer.Ordinal));
        Assert.Equal(date, summary.InternalDate);
        Assert.Equal(date.Offset, summary.InternalDate!.Value.Offset);
        Assert.Equal((ulong)octets.Length, (ulong)summary.Size!.Value);
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Store_adds_removes_and_replaces_flags_and_keywords()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        var inbox = client.Inbox;
        var uids = new List<UniqueId>();
        for (var i = 0; i < 3; i++)
        {
            uids.Add((await inbox.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, $"m{i}"), MessageFlags.None), ct))!.Value);
        }
        await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
        var changes = new List<(int Index, MessageFlags Flags, string[] Keywords)>();
        inbox.MessageFlagsChanged += (_, e) => changes.Add((e.Index, e.Flags, [.. e.Keywords.Order(StringComparer.Ordinal)]));

        await inbox.StoreAsync(uids, new StoreFlagsRequest(StoreAction.Add, MessageFlags.Seen | MessageFlags.Flagged, ["Work"]), ct);
        // Not silent: the server reported the new flags of each message, and MailKit raised an event per message.
        Assert.Equal([0, 1, 2], changes.Select(c => c.Index).Order());
        Assert.All(changes, c =>
        {
            Assert.Equal(MessageFlags.Seen | MessageFlags.Flagged, c.Flags & ~MessageFlags.Recent);
            Assert.Equal(["Work"], c.Keywords);
        });
        changes.Clear();

        await inbox.StoreAsync(uids[0], new StoreFlagsRequest(StoreAction.Remove, MessageFlags.Flagged, ["Work"]) { Silent = true }, ct);
        Assert.Empty(changes);
        await inbox.StoreAsync(uids[1], new StoreFlagsRequest(StoreAction.Set, MessageFlags.Answered, ["$Forwarded", "NonJunk"]), ct);
        await inbox.StoreAsync(uids[2], new StoreFlagsRequest(StoreAction.Add, MessageFlags.None, ["Work", "Later"]), ct);

        var expected = new (StoreFlags Flags, string[] Keywords)[]
        {
            (StoreFlags.Seen, []),
            (StoreFlags.Answered, ["$Forwarded", "NonJunk"]),
            (StoreFlags.Seen | StoreFlags.Flagged, ["Later", "Work"]),
        };
        var stored = await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct);
        var fetched = await inbox.FetchAsync(uids, MessageSummaryItems.Flags | MessageSummaryItems.UniqueId, ct);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(expected[i].Flags, stored[i].Flags);
            Assert.Equal(expected[i].Keywords, stored[i].Keywords.Order(StringComparer.Ordinal));
            Assert.Equal(uids[i], fetched[i].UniqueId);
            Assert.Equal(ToMailKit(expected[i].Flags), fetched[i].Flags!.Value & ~MessageFlags.Recent);
            Assert.Equal(expected[i].Keywords, fetched[i].Keywords.Order(StringComparer.Ordinal));
        }
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Store_with_unchangedsince_leaves_messages_changed_meanwhile_and_names_them()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        using var other = await host.LoginAsync(cancellationToken: ct);
        var inbox = client.Inbox;
        var uids = new List<UniqueId>();
        for (var i = 0; i < 3; i++)
        {
            uids.Add((await inbox.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, $"m{i}"), MessageFlags.None), ct))!.Value);
        }
        await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
        var modSeqs = (await inbox.FetchAsync(uids, MessageSummaryItems.ModSeq | MessageSummaryItems.UniqueId, ct)).Select(s => s.ModSeq!.Value).ToArray();
        var known = modSeqs.Max();

        // Another session changes the second message after this one read the modseqs.
        await other.Inbox.OpenAsync(FolderAccess.ReadWrite, ct);
        await other.Inbox.AddFlagsAsync(uids[1], MessageFlags.Seen, true, ct);

        var modified = await inbox.StoreAsync(uids, new StoreFlagsRequest(StoreAction.Add, MessageFlags.Flagged) { UnchangedSince = known }, ct);
        Assert.True(modified.Select(u => u.Id).SequenceEqual([uids[1].Id]), $"MODIFIED [{string.Join(",", modified)}]\n{log.Transcript}");
        Assert.Contains("[MODIFIED ", log.Transcript, StringComparison.Ordinal);

        var stored = await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct);
        Assert.Equal([StoreFlags.Flagged, StoreFlags.Seen, StoreFlags.Flagged], stored.Select(m => m.Flags));
        var after = await inbox.FetchAsync(uids, MessageSummaryItems.ModSeq | MessageSummaryItems.Flags | MessageSummaryItems.UniqueId, ct);
        Assert.True(after[0].ModSeq > known && after[2].ModSeq > known, log.Transcript);
        Assert.True(after.Select(s => s.ModSeq!.Value).Distinct().Count() == 3, "each change has its own modseq");

        // UNCHANGEDSINCE with a modseq at least each message's own: all are stored.
        var none = await inbox.StoreAsync(uids, new StoreFlagsRequest(StoreAction.Add, MessageFlags.Answered) { UnchangedSince = after.Max(s => s.ModSeq!.Value), Silent = true }, ct);
        Assert.Empty(none);
        Assert.All(await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct), m => Assert.True(m.Flags.HasFlag(StoreFlags.Answered)));

        // UNCHANGEDSINCE 0 can never be met (RFC 7162 §3.1.3): nothing is stored, every message is named.
        var all = await inbox.StoreAsync(uids, new StoreFlagsRequest(StoreAction.Add, MessageFlags.Deleted) { UnchangedSince = 0 }, ct);
        Assert.Equal(uids.Select(u => u.Id), all.Select(u => u.Id));
        Assert.All(await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct), m => Assert.False(m.Flags.HasFlag(StoreFlags.Deleted)));
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Copy_and_move_answer_copyuid_with_the_uids_the_target_gave()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        var inbox = client.Inbox;
        var archive = client.GetFolder(SpecialFolder.Archive)!;
        // The target already has a message, so its UIDs and the source's differ.
        await archive.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, "already archived"), MessageFlags.None), ct);
        var uids = new List<UniqueId>();
        for (var i = 0; i < 4; i++)
        {
            uids.Add((await inbox.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, $"m{i}", $"Body {i}\r\n"), i == 0 ? MessageFlags.Flagged : MessageFlags.None, ["K" + i]), ct))!.Value);
        }
        await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
        var archiveStatus = await host.Host.Store.GetStatusAsync(ImapInteropHost.Alice, "Archive", ct);

        var copied = await inbox.CopyToAsync([uids[0], uids[2]], archive, ct);
        Assert.Equal([uids[0], uids[2]], copied.Source);
        Assert.Equal(2, copied.Destination.Count);
        Assert.All(copied.Destination, d => Assert.Equal(archiveStatus.UidValidity, d.Validity));
        Assert.Equal([archiveStatus.UidNext, archiveStatus.UidNext + 1], copied.Destination.Select(d => d.Id));
        Assert.Equal(4, inbox.Count);

        var expunged = new List<int>();
        inbox.MessageExpunged += (_, e) => expunged.Add(e.Index);
        var moved = await inbox.MoveToAsync([uids[1], uids[3]], archive, ct);
        Assert.Equal([uids[1], uids[3]], moved.Source);
        Assert.Equal([archiveStatus.UidNext + 2, archiveStatus.UidNext + 3], moved.Destination.Select(d => d.Id));
        Assert.Equal(2, inbox.Count);
        // Two EXPUNGEs (in whichever order), after which the sequence numbers 1 and 2 are the messages that stayed.
        Assert.Equal(2, expunged.Count);
        Assert.Equal([uids[0], uids[2]], (await inbox.FetchAsync(0, -1, MessageSummaryItems.UniqueId, ct)).Select(s => s.UniqueId));
        Assert.Equal([uids[0].Id, uids[2].Id], (await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct)).Select(m => m.Uid));

        // In the target: the messages under the announced UIDs, with their octets, flags and keywords.
        var inArchive = (await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "Archive", ct)).ToDictionary(m => m.Uid);
        Assert.Equal(5, inArchive.Count);
        var pairs = copied.Source.Zip(copied.Destination).Concat(moved.Source.Zip(moved.Destination));
        var originals = new Dictionary<uint, byte[]>();
        foreach (var (source, destination) in pairs)
        {
            var index = uids.IndexOf(source);
            var target = inArchive[destination.Id];
            Assert.Equal(["K" + index], target.Keywords);
            Assert.Equal(index == 0 ? StoreFlags.Flagged : StoreFlags.None, target.Flags);
            var bytes = await InteropMessages.StoredAsync(host.Host.Store, ImapInteropHost.Alice, "Archive", destination.Id, ct);
            Assert.Contains($"Subject: m{index}\r\n", InteropMessages.Text(bytes), StringComparison.Ordinal);
        }
        await archive.OpenAsync(FolderAccess.ReadOnly, ct);
        Assert.Equal(5, archive.Count);
        var summaries = await archive.FetchAsync(moved.Destination, MessageSummaryItems.Envelope | MessageSummaryItems.UniqueId, ct);
        Assert.Equal(["m1", "m3"], summaries.Select(s => s.Envelope!.Subject));
        await client.DisconnectAsync(true, ct);
    }

    private static MessageFlags ToMailKit(StoreFlags flags)
    {
        var result = MessageFlags.None;
        foreach (var (ours, theirs) in new[]
        {
            (StoreFlags.Seen, MessageFlags.Seen), (StoreFlags.Answered, MessageFlags.Answered), (StoreFlags.Flagged, MessageFlags.Flagged),
            (StoreFlags.Deleted, MessageFlags.Deleted), (StoreFlags.Draft, MessageFlags.Draft),
        })
        {
            if (flags.HasFlag(ours))
            {
                result |= theirs;
            }
        }
        return result;
    }
}
