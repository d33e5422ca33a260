using MailKit;
using MailKit.Net.Imap;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>
/// QRESYNC (RFC 7162) with MailKit: a client that knows a folder's UIDVALIDITY, HIGHESTMODSEQ and UIDs reopens it
/// after another session changed flags and expunged messages, and hears exactly those changes: VANISHED (EARLIER)
/// for the expunged UIDs and FETCH (UID FLAGS MODSEQ) for the changed ones.
/// </summary>
public sealed class MailKitQresyncInteropTests
{
    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;

    [Fact]
    public async Task Reopening_with_known_state_reports_exactly_the_flag_changes_and_expunges_made_meanwhile()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.QuickResync), log.Transcript);
        await client.EnableQuickResyncAsync(ct);
        var inbox = client.Inbox;
        var uids = new List<UniqueId>();
        for (var i = 0; i < 8; i++)
        {
            uids.Add((await inbox.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, $"m{i}"), i == 0 ? MessageFlags.Seen : MessageFlags.None), ct))!.Value);
        }
        await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
        var uidValidity = inbox.UidValidity;
        var highestModSeq = inbox.HighestModSeq;
        Assert.True(highestModSeq > 0, log.Transcript);
        var known = (await inbox.FetchAsync(0, -1, MessageSummaryItems.UniqueId, ct)).Select(s => s.UniqueId).ToList();
        Assert.Equal(uids, known);
        await inbox.CloseAsync(false, ct);

        // Another session: flags of messages 2 and 5 change (and a keyword on 7), messages 3, 6 and 8 go.
        using (var other = await host.LoginAsync(cancellationToken: ct))
        {
            await other.Inbox.OpenAsync(FolderAccess.ReadWrite, ct);
            await other.Inbox.AddFlagsAsync(uids[1], MessageFlags.Flagged, true, ct);
            await other.Inbox.StoreAsync(uids[4], new StoreFlagsRequest(StoreAction.Set, MessageFlags.Answered | MessageFlags.Seen) { Silent = true }, ct);
            await other.Inbox.StoreAsync(uids[6], new StoreFlagsRequest(StoreAction.Add, ["$Later"]) { Silent = true }, ct);
            await other.Inbox.AddFlagsAsync([uids[2], uids[5], uids[7]], MessageFlags.Deleted, true, ct);
            await other.Inbox.ExpungeAsync(ct);
            await other.DisconnectAsync(true, ct);
        }
        var expunged = new[] { uids[2], uids[5], uids[7] };
        var changed = new Dictionary<UniqueId, (MessageFlags Flags, string[] Keywords)>
        {
            [uids[1]] = (MessageFlags.Flagged, []),
            [uids[4]] = (MessageFlags.Answered | MessageFlags.Seen, []),
            [uids[6]] = (MessageFlags.None, ["$Later"]),
        };

        var vanished = new List<UniqueId>();
        var earlier = new List<bool>();
        var flagChanges = new List<(UniqueId? Uid, int Index, MessageFlags Flags, string[] Keywords, ulong? ModSeq)>();
        inbox.MessagesVanished += (_, e) =>
        {
            vanished.AddRange(e.UniqueIds);
            earlier.Add(e.Earlier);
        };
        inbox.MessageFlagsChanged += (_, e) => flagChanges.Add((e.UniqueId, e.Index, e.Flags & ~MessageFlags.Recent, [.. e.Keywords.Order(StringComparer.Ordinal)], e.ModSeq));
        var expunges = 0;
        inbox.MessageExpunged += (_, _) => expunges++;

        await inbox.OpenAsync(FolderAccess.ReadWrite, uidValidity, highestModSeq, known, ct);

        Assert.True(expunged.SequenceEqual(vanished.Order()), $"VANISHED [{string.Join(",", vanished)}]\n{log.Transcript}");
        Assert.All(earlier, Assert.True);
        Assert.Equal(0, expunges);
        Assert.True(flagChanges.Count == changed.Count, $"{flagChanges.Count} flag changes reported\n{log.Transcript}");
        var modSeqs = new HashSet<ulong>();
        foreach (var change in flagChanges)
        {
            Assert.True(change.Uid is { } uid && changed.ContainsKey(uid), $"a flag change reported for {change.Uid}\n{log.Transcript}");
            var (flags, keywords) = changed[change.Uid!.Value];
            Assert.Equal(flags, change.Flags);
            Assert.Equal(keywords, change.Keywords);
            Assert.True(change.ModSeq > highestModSeq, log.Transcript);
            modSeqs.Add(change.ModSeq!.Value);
        }
        Assert.Equal(5, inbox.Count);
        Assert.True(inbox.HighestModSeq >= modSeqs.Max(), log.Transcript);
        Assert.Contains("VANISHED (EARLIER)", log.Transcript, StringComparison.Ordinal);

        // The numbers MailKit now uses are the server's: 1..5 are the messages that stayed, in UID order.
        var remaining = await inbox.FetchAsync(0, -1, MessageSummaryItems.UniqueId | MessageSummaryItems.Flags, ct);
        Assert.Equal(uids.Except(expunged), remaining.Select(s => s.UniqueId));
        foreach (var (index, summary) in remaining.Select((s, i) => (i, s)))
        {
            Assert.Equal(index, summary.Index);
            var expectedFlags = changed.TryGetValue(summary.UniqueId, out var c) ? c.Flags : summary.UniqueId == uids[0] ? MessageFlags.Seen : MessageFlags.None;
            Assert.Equal(expectedFlags, summary.Flags!.Value & ~MessageFlags.Recent);
        }

        // Once in sync, a reopen with the new state reports nothing.
        var syncedModSeq = inbox.HighestModSeq;
        var syncedUids = remaining.Select(s => s.UniqueId).ToList();
        await inbox.CloseAsync(false, ct);
        vanished.Clear();
        flagChanges.Clear();
        await inbox.OpenAsync(FolderAccess.ReadOnly, uidValidity, syncedModSeq, syncedUids, ct);
        Assert.Empty(vanished);
        Assert.Empty(flagChanges);
        Assert.Equal(5, inbox.Count);

        // While selected with QRESYNC, another session's expunge comes as VANISHED (not EXPUNGE).
        using (var other = await host.LoginAsync(cancellationToken: ct))
        {
            await other.Inbox.OpenAsync(FolderAccess.ReadWrite, ct);
            await other.Inbox.AddFlagsAsync(uids[3], MessageFlags.Deleted, true, ct);
            await other.Inbox.ExpungeAsync(ct);
            await other.DisconnectAsync(true, ct);
        }
        await client.NoOpAsync(ct);
        Assert.Equal([uids[3]], vanished);
        Assert.Equal([false], earlier.Skip(earlier.Count - 1));
        Assert.Equal(0, expunges);
        Assert.Equal(4, inbox.Count);
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Reopening_with_a_stale_uidvalidity_reports_no_changes_and_the_new_uidvalidity()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        await client.EnableQuickResyncAsync(ct);
        var inbox = client.Inbox;
        var uid = (await inbox.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, "only"), MessageFlags.None), ct))!.Value;
        var vanished = new List<UniqueId>();
        var flagChanges = 0;
        inbox.MessagesVanished += (_, e) => vanished.AddRange(e.UniqueIds);
        inbox.MessageFlagsChanged += (_, _) => flagChanges++;

        // RFC 7162 §3.2.5.2: with a UIDVALIDITY that does not match, the server ignores the QRESYNC parameters.
        await inbox.OpenAsync(FolderAccess.ReadOnly, uid.Validity + 1, 1, [new UniqueId(uid.Validity + 1, 1), new UniqueId(uid.Validity + 1, 99)], ct);
        Assert.Equal(uid.Validity, inbox.UidValidity);
        Assert.Equal(1, inbox.Count);
        Assert.Empty(vanished);
        Assert.Equal(0, flagChanges);
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Uid_fetch_changedsince_with_vanished_reports_what_changed_since_a_modseq()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        await client.EnableQuickResyncAsync(ct);
        var inbox = client.Inbox;
        var uids = new List<UniqueId>();
        for (var i = 0; i < 6; i++)
        {
            uids.Add((await inbox.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, $"m{i}"), MessageFlags.None), ct))!.Value);
        }
        await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
        var modSeq = inbox.HighestModSeq;
        await inbox.CloseAsync(false, ct);

        // Meanwhile: flags of 1 and 4 change, 2 and 5 go, and a new message arrives (over SMTP).
        using (var other = await host.LoginAsync(cancellationToken: ct))
        {
            await other.Inbox.OpenAsync(FolderAccess.ReadWrite, ct);
            await other.Inbox.AddFlagsAsync([uids[0], uids[3]], MessageFlags.Seen, true, ct);
            await other.Inbox.AddFlagsAsync([uids[1], uids[4]], MessageFlags.Deleted, true, ct);
            await other.Inbox.ExpungeAsync(ct);
            await other.DisconnectAsync(true, ct);
        }
        await host.SendAsync(InteropMessages.Plain(ImapInteropHost.Alice, "arrived"), ct);
        var arrivedUid = (await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct))[^1].Uid;

        // A plain SELECT, then UID FETCH 1:* (FLAGS) (CHANGEDSINCE modseq VANISHED).
        await inbox.OpenAsync(FolderAccess.ReadOnly, ct);
        Assert.Equal(5, inbox.Count);
        var vanished = new List<(UniqueId Uid, bool Earlier)>();
        inbox.MessagesVanished += (_, e) => vanished.AddRange(e.UniqueIds.Select(u => (u, e.Earlier)));
        var changed = await inbox.FetchAsync(UniqueIdRange.All, new FetchRequest(MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | MessageSummaryItems.ModSeq) { ChangedSince = modSeq }, ct);
        Assert.Contains("VANISHED)", log.Transcript, StringComparison.Ordinal);
        Assert.True(vanished.Select(v => v.Uid).Order().SequenceEqual([uids[1], uids[4]]), $"VANISHED [{string.Join(",", vanished)}]\n{log.Transcript}");
        Assert.All(vanished, v => Assert.True(v.Earlier));
        Assert.Equal([uids[0].Id, uids[3].Id, arrivedUid], changed.Select(s => s.UniqueId.Id).Order());
        Assert.All(changed, s => Assert.True(s.ModSeq > modSeq));
        Assert.Equal(MessageFlags.Seen, changed.Single(s => s.UniqueId == uids[0]).Flags!.Value & ~MessageFlags.Recent);
        Assert.Equal(MessageFlags.None, changed.Single(s => s.UniqueId.Id == arrivedUid).Flags!.Value & ~MessageFlags.Recent);
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Fetch_changedsince_under_condstore_alone_returns_only_changed_messages()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        var inbox = client.Inbox;
        for (var i = 0; i < 4; i++)
        {
            await inbox.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, $"m{i}"), MessageFlags.None), ct);
        }
        await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
        var modSeq = inbox.HighestModSeq;
        await inbox.AddFlagsAsync(2, MessageFlags.Flagged, true, ct);
        var changed = await inbox.FetchAsync(0, -1, new FetchRequest(MessageSummaryItems.Flags | MessageSummaryItems.ModSeq) { ChangedSince = modSeq }, ct);
        var summary = Assert.Single(changed);
        Assert.Equal(2, summary.Index);
        Assert.Equal(MessageFlags.Flagged, summary.Flags!.Value & ~MessageFlags.Recent);
        Assert.True(summary.ModSeq > modSeq);
        Assert.Equal(summary.ModSeq, inbox.HighestModSeq);
        Assert.Contains("CHANGEDSINCE", log.Transcript, StringComparison.Ordinal);
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Idle_with_qresync_hears_vanished_and_flag_changes_with_their_modseq()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        await client.EnableQuickResyncAsync(ct);
        var inbox = client.Inbox;
        var uids = new List<UniqueId>();
        for (var i = 0; i < 3; i++)
        {
            uids.Add((await inbox.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, $"m{i}"), MessageFlags.None), ct))!.Value);
        }
        await inbox.OpenAsync(FolderAccess.ReadOnly, ct);
        var start = inbox.HighestModSeq;
        var vanished = new TaskCompletionSource<(UniqueId[] Uids, bool Earlier)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var flagged = new TaskCompletionSource<(UniqueId? Uid, MessageFlags Flags, ulong? ModSeq)>(TaskCreationOptions.RunContinuationsAsynchronously);
        inbox.MessagesVanished += (_, e) => vanished.TrySetResult(([.. e.UniqueIds], e.Earlier));
        inbox.MessageFlagsChanged += (_, e) => flagged.TrySetResult((e.UniqueId, e.Flags & ~MessageFlags.Recent, e.ModSeq));
        var expunges = 0;
        inbox.MessageExpunged += (_, _) => expunges++;

        using var done = new CancellationTokenSource();
        var idle = client.IdleAsync(done.Token, ct);
        using (var other = await host.LoginAsync(cancellationToken: ct))
        {
            await other.Inbox.OpenAsync(FolderAccess.ReadWrite, ct);
            await other.Inbox.AddFlagsAsync(uids[0], MessageFlags.Answered, true, ct);
            await other.Inbox.AddFlagsAsync(uids[2], MessageFlags.Deleted, true, ct);
            await other.Inbox.ExpungeAsync(ct);
            await other.DisconnectAsync(true, ct);
        }
        var flag = await flagged.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        var gone = await vanished.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        await done.CancelAsync();
        await idle;
        Assert.Equal(uids[0], flag.Uid);
        Assert.Equal(MessageFlags.Answered, flag.Flags);
        Assert.True(flag.ModSeq > start, log.Transcript);
        Assert.Equal([uids[2]], gone.Uids);
        Assert.False(gone.Earlier);
        Assert.Equal(2, inbox.Count);
        Assert.Equal(0, expunges);
        await client.DisconnectAsync(true, ct);
    }
}
