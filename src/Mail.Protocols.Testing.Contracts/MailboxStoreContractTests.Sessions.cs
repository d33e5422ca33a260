using Mail.Protocols.Storage;
using Xunit;

namespace Mail.Protocols.Testing.Contracts;

// The session model IMAP works from: a folder opened at one instant, changes through a bounded queue in batches,
// UIDVALIDITY and MODSEQ on each change, a session's own changes answered by its call, and expunges remembered for QRESYNC.
public abstract partial class MailboxStoreContractTests
{
    private static async Task<AppendResult> AppendAsync(IMailboxStore store, string folder, MailboxSubscription? session) =>
        await store.AppendAsync(User, folder, new MemoryStream(s_message), session: session);

    [Fact]
    public async Task Opening_a_folder_returns_status_and_list_of_one_instant_and_queues_only_the_changes_after_it()
    {
        var store = CreateStore();
        await AppendAsync(store);
        await AppendAsync(store, flags: MessageFlags.Seen);
        using var changes = new ChangeLog(store.Subscribe(User));
        await AppendAsync(store); // before the open: in the snapshot, so not queued any more after it

        var snapshot = await store.OpenFolderAsync(User, "inbox", changes.Subscription);

        Assert.Equal("INBOX", snapshot.Status.Name);
        Assert.Equal(3, snapshot.Messages.Count);
        Assert.Equal(snapshot.Messages.Count, snapshot.Status.Messages);
        Assert.Equal(2, snapshot.Status.Unseen);
        Assert.Equal(snapshot.Messages.Max(m => m.ModSeq), snapshot.Status.HighestModSeq);
        Assert.Equal(snapshot.Messages[^1].Uid + 1, snapshot.Status.UidNext);
        Assert.Empty(changes);
        Assert.Equal("INBOX", changes.Subscription.OpenFolder);

        var later = await AppendAsync(store);
        var batch = Assert.Single(changes.Batches);
        Assert.Equal((User, "INBOX", snapshot.Status.UidValidity), (batch.User, batch.Folder, batch.UidValidity));
        var added = Assert.Single(batch.Changes);
        Assert.Equal((MailboxChangeKind.MessageAdded, later.Uid), (added.Kind, added.Uid));
        Assert.True(added.ModSeq > snapshot.Status.HighestModSeq);
        Assert.Equal(added.ModSeq, batch.HighestModSeq);
        // Without a subscription it is a snapshot only (a POP3 maildrop).
        Assert.Equal(4, (await store.OpenFolderAsync(User, "INBOX")).Messages.Count);
        await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.OpenFolderAsync(User, "Missing", changes.Subscription));
    }

    [Fact]
    public async Task A_folder_opened_while_messages_arrive_misses_none_and_counts_none_twice()
    {
        var store = CreateStore();
        await store.ListFoldersAsync(User);
        using var changes = new ChangeLog(store.Subscribe(User, capacity: 1000));
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 60; i++)
            {
                await AppendAsync(store, "INBOX", null);
            }
        });
        // Opened somewhere in the middle of the appends: the snapshot and the queue must add up to every message once.
        while (!writer.IsCompleted && (await store.GetStatusAsync(User, "INBOX")).Messages < 20)
        {
            await Task.Yield();
        }
        var snapshot = await store.OpenFolderAsync(User, "INBOX", changes.Subscription);
        await writer;

        var uids = snapshot.Messages.Select(m => m.Uid).ToList();
        var highest = snapshot.Status.HighestModSeq;
        foreach (var batch in changes.Batches)
        {
            Assert.Equal(snapshot.Status.UidValidity, batch.UidValidity);
            foreach (var change in batch.Changes)
            {
                Assert.Equal(MailboxChangeKind.MessageAdded, change.Kind);
                Assert.DoesNotContain(change.Uid, uids);
                Assert.True(change.ModSeq > highest, "every queued change is newer than the snapshot and than the one before");
                highest = change.ModSeq;
                uids.Add(change.Uid);
            }
        }
        Assert.Equal((await store.ListMessagesAsync(User, "INBOX")).Select(m => m.Uid), uids);
        Assert.Equal(60, uids.Count);
        Assert.Equal((await store.GetStatusAsync(User, "INBOX")).HighestModSeq, highest);
    }

    [Fact]
    public async Task A_call_changing_many_messages_is_one_batch_whose_changes_carry_uidvalidity_and_their_own_modseq()
    {
        var store = CreateStore();
        var uids = new List<uint>();
        for (var i = 0; i < 150; i++)
        {
            uids.Add((await AppendAsync(store)).Uid);
        }
        using var changes = new ChangeLog(store.Subscribe(User));
        var status = (await store.OpenFolderAsync(User, "INBOX", changes.Subscription)).Status;

        var result = await store.UpdateFlagsAsync(User, "INBOX", uids, new FlagChange(FlagChangeMode.Add, MessageFlags.Deleted));
        var flagged = Assert.Single(changes.Batches);
        Assert.Equal(150, flagged.Changes.Count);
        Assert.All(flagged.Changes, c => Assert.Equal((MailboxChangeKind.FlagsChanged, status.UidValidity), (c.Kind, c.UidValidity)));
        Assert.Equal(result.Updated.Select(m => (m.Uid, m.ModSeq)), flagged.Changes.Select(c => (c.Uid, c.ModSeq)));
        Assert.Equal(flagged.Changes.Select(c => c.ModSeq).Distinct().Count(), flagged.Changes.Count); // each message its own MODSEQ
        Assert.Equal((await store.GetStatusAsync(User, "INBOX")).HighestModSeq, flagged.HighestModSeq);

        changes.Clear();
        Assert.Equal(150, (await store.ExpungeAsync(User, "INBOX")).Count);
        var expunged = Assert.Single(changes.Batches);
        Assert.Equal(uids, expunged.Changes.Select(c => c.Uid));
        Assert.All(expunged.Changes, c => Assert.Equal(MailboxChangeKind.MessageExpunged, c.Kind));
        Assert.Equal((await store.GetStatusAsync(User, "INBOX")).HighestModSeq, expunged.HighestModSeq);
        Assert.Equal(expunged.HighestModSeq, expunged.Changes[^1].ModSeq);
    }

    [Fact]
    public async Task A_subscriber_that_falls_behind_is_told_to_resynchronise_without_holding_up_the_store_or_others()
    {
        var store = CreateStore();
        await store.ListFoldersAsync(User);
        using var slow = store.Subscribe(User, capacity: 2);
        using var other = new ChangeLog(store.Subscribe(User));
        await store.OpenFolderAsync(User, "INBOX", slow);
        for (var i = 0; i < 5; i++)
        {
            await AppendAsync(store); // never waits for the slow reader
        }
        Assert.Equal(5, other.Count);

        Assert.True(slow.TryRead(out var resync));
        Assert.True(resync.ResyncRequired);
        Assert.Empty(resync.Changes);
        Assert.False(slow.TryRead(out _));

        // Told once; the changes after it are queued again, and the fresh snapshot drops those it holds.
        await AppendAsync(store);
        var snapshot = await store.OpenFolderAsync(User, "INBOX", slow);
        Assert.Equal(6, snapshot.Messages.Count);
        Assert.False(slow.TryRead(out _));
        var next = await AppendAsync(store);
        Assert.True(slow.TryRead(out var batch));
        Assert.False(batch.ResyncRequired);
        Assert.Equal(next.Uid, Assert.Single(batch.Changes).Uid);
    }

    [Fact]
    public async Task A_waiting_subscriber_wakes_when_a_change_is_queued_and_when_it_is_disposed()
    {
        var store = CreateStore();
        await store.ListFoldersAsync(User);
        var subscription = store.Subscribe(User);
        var wait = subscription.WaitToReadAsync().AsTask();
        Assert.False(wait.IsCompleted);
        await AppendAsync(store);
        Assert.True(await wait.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(subscription.TryRead(out _));

        var idle = subscription.WaitToReadAsync().AsTask();
        subscription.Dispose();
        Assert.False(await idle.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_sessions_own_changes_are_answered_by_its_call_and_not_queued_for_it_but_for_the_other_sessions()
    {
        var store = CreateStore();
        await store.CreateFolderAsync(User, "Archive");
        using var mine = new ChangeLog(store.Subscribe(User));
        using var theirs = new ChangeLog(store.Subscribe(User));
        await store.OpenFolderAsync(User, "INBOX", mine.Subscription);
        await store.OpenFolderAsync(User, "INBOX", theirs.Subscription);

        var a = await AppendAsync(store, "INBOX", mine.Subscription);
        var b = await AppendAsync(store, "INBOX", mine.Subscription);
        await store.UpdateFlagsAsync(User, "INBOX", [a.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen), session: mine.Subscription);
        await store.CopyAsync(User, "INBOX", [a.Uid], "Archive", mine.Subscription);
        await store.MoveAsync(User, "INBOX", [b.Uid], "Archive", mine.Subscription);
        await store.ExpungeAsync(User, "INBOX", [a.Uid], mine.Subscription);

        Assert.Empty(mine);
        Assert.Equal(
            [(MailboxChangeKind.MessageAdded, a.Uid), (MailboxChangeKind.MessageAdded, b.Uid), (MailboxChangeKind.FlagsChanged, a.Uid),
             (MailboxChangeKind.MessageExpunged, b.Uid), (MailboxChangeKind.MessageExpunged, a.Uid)],
            theirs.Select(c => (c.Kind, c.Uid)));
        // Another session's change reaches it as usual.
        await AppendAsync(store);
        Assert.Single(mine);

        // A subscription names a session of this user in this store.
        const string Other = "bob@example.test";
        using var bobs = store.Subscribe(Other);
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.AppendAsync(User, "INBOX", new MemoryStream(s_message), session: bobs));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.OpenFolderAsync(User, "INBOX", bobs));
    }

    [Fact]
    public async Task A_folder_deleted_and_created_again_is_another_folder_and_a_renamed_one_is_still_followed()
    {
        var store = CreateStore();
        await store.CreateFolderAsync(User, "Work");
        using var changes = new ChangeLog(store.Subscribe(User));
        var first = (await store.OpenFolderAsync(User, "Work", changes.Subscription)).Status.UidValidity;

        await store.DeleteFolderAsync(User, "Work");
        await store.CreateFolderAsync(User, "Work");
        var second = (await store.GetStatusAsync(User, "Work")).UidValidity;
        Assert.NotEqual(first, second);
        await AppendAsync(store, "Work", null); // the new Work's message is not the open folder's
        Assert.Equal(
            [(MailboxChangeKind.FolderDeleted, "Work", first), (MailboxChangeKind.FolderCreated, "Work", second)],
            changes.Select(c => (c.Kind, c.Folder, c.UidValidity)));

        changes.Clear();
        await store.OpenFolderAsync(User, "Work", changes.Subscription);
        await store.RenameFolderAsync(User, "Work", "Done");
        var moved = await AppendAsync(store, "Done", null);
        Assert.Equal("Done", changes.Subscription.OpenFolder);
        Assert.Equal(
            [(MailboxChangeKind.FolderRenamed, "Work", second, 0u), (MailboxChangeKind.MessageAdded, "Done", second, moved.Uid)],
            changes.Select(c => (c.Kind, c.Folder, c.UidValidity, c.Uid)));
    }

    [Fact]
    public async Task Expunged_uids_are_remembered_with_the_modseq_of_their_expunge()
    {
        var store = CreateStore();
        await store.CreateFolderAsync(User, "Archive");
        var a = await AppendAsync(store);
        var b = await AppendAsync(store);
        var c = await AppendAsync(store, flags: MessageFlags.Deleted);
        var d = await AppendAsync(store);
        var start = (await store.GetStatusAsync(User, "INBOX")).HighestModSeq;
        Assert.Equal((true, ""), await ExpungedSinceAsync(store, "INBOX", start));

        await store.ExpungeAsync(User, "INBOX", [b.Uid]);
        var afterB = (await store.GetStatusAsync(User, "INBOX")).HighestModSeq;
        await store.MoveAsync(User, "INBOX", [a.Uid], "Archive");
        await store.UpdateFlagsAsync(User, "INBOX", [d.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen));
        await store.ExpungeAsync(User, "INBOX"); // c, flagged \Deleted
        var end = (await store.GetStatusAsync(User, "INBOX")).HighestModSeq;

        Assert.Equal((true, $"{a.Uid},{b.Uid},{c.Uid}"), await ExpungedSinceAsync(store, "INBOX", start));
        Assert.Equal((true, $"{a.Uid},{c.Uid}"), await ExpungedSinceAsync(store, "INBOX", afterB));
        Assert.Equal((true, ""), await ExpungedSinceAsync(store, "INBOX", end));
        Assert.Equal((true, ""), await ExpungedSinceAsync(store, "Archive", 1));
        // Nothing is ever expunged at MODSEQ 0 or 1 of a new folder; a MODSEQ below what the store keeps is "not remembered".
        Assert.False((await store.GetExpungedSinceAsync(User, "INBOX", 0)).Remembered);
        await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.GetExpungedSinceAsync(User, "Missing", 1));

        // Renaming INBOX expunges its messages from it: remembered too.
        await store.RenameFolderAsync(User, "INBOX", "Old");
        Assert.Equal((true, $"{d.Uid}"), await ExpungedSinceAsync(store, "INBOX", end));
    }

    [Fact]
    public async Task Opening_a_folder_for_a_resync_answers_as_open_and_expunged_since_do_at_one_instant()
    {
        var store = CreateStore();
        var a = await AppendAsync(store);
        var b = await AppendAsync(store);
        var c = await AppendAsync(store);
        var start = (await store.GetStatusAsync(User, "INBOX")).HighestModSeq;
        await store.ExpungeAsync(User, "INBOX", [a.Uid]);
        await store.UpdateFlagsAsync(User, "INBOX", [c.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen));
        await store.ExpungeAsync(User, "INBOX", [b.Uid]);
        using var changes = new ChangeLog(store.Subscribe(User));
        await AppendAsync(store); // before the open: in the snapshot, so not queued after it

        var resync = await store.OpenFolderForResyncAsync(User, "inbox", start, changes.Subscription);

        var opened = await store.OpenFolderAsync(User, "INBOX");
        Assert.Equal(opened.Status, resync.Snapshot.Status);
        Assert.Equal(opened.Messages, resync.Snapshot.Messages);
        Assert.Equal("INBOX", resync.Snapshot.Status.Name);
        Assert.True(resync.Expunged.Remembered);
        Assert.Equal([a.Uid, b.Uid], resync.Expunged.Uids);
        Assert.Empty(changes);
        Assert.Equal("INBOX", changes.Subscription.OpenFolder);
        var later = await AppendAsync(store);
        Assert.Equal(later.Uid, Assert.Single(Assert.Single(changes.Batches).Changes).Uid);
        Assert.False((await store.OpenFolderForResyncAsync(User, "INBOX", 0)).Expunged.Remembered);
        await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.OpenFolderForResyncAsync(User, "Missing", start, changes.Subscription));
    }

    /// <summary>What <see cref="IMailboxStore.GetExpungedSinceAsync"/> says, with the UIDs comma-separated for comparing.</summary>
    protected static async Task<(bool Remembered, string Uids)> ExpungedSinceAsync(IMailboxStore store, string folder, ulong modSeq)
    {
        var result = await store.GetExpungedSinceAsync(User, folder, modSeq);
        return (result.Remembered, string.Join(",", result.Uids));
    }
}
