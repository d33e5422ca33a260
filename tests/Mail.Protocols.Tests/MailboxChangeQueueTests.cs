using Mail.Protocols.Storage;

namespace Mail.Protocols.Tests;

/// <summary>The core's change queues and expunge log on their own, where the store suites cannot reach their bounds cheaply.</summary>
public class MailboxChangeQueueTests
{
    private static MailboxChange Added(string folder, uint uidValidity, uint uid, ulong modSeq) =>
        new(MailboxChangeKind.MessageAdded, folder, uidValidity, uid, modSeq);

    [Fact]
    public void A_call_s_changes_become_one_batch_per_folder_in_order_and_skip_the_calling_session()
    {
        var hub = new MailboxChangeHub("alice", '/');
        using var caller = hub.Subscribe();
        using var other = hub.Subscribe();

        hub.Publish([Added("Archive", 7, 1, 5), Added("Archive", 7, 2, 6), new(MailboxChangeKind.MessageExpunged, "INBOX", 3, 9, 12)], origin: caller);

        Assert.False(caller.TryRead(out _));
        Assert.True(other.TryRead(out var archive));
        Assert.Equal(("Archive", 7u, 6ul, 2), (archive.Folder, archive.UidValidity, archive.HighestModSeq, archive.Changes.Count));
        Assert.True(other.TryRead(out var inbox));
        Assert.Equal(("INBOX", 3u, 12ul), (inbox.Folder, inbox.UidValidity, inbox.HighestModSeq));
        Assert.False(other.TryRead(out _));
        Assert.Throws<ArgumentException>(() => new MailboxChangeHub("bob", '/').Check(caller));
    }

    [Fact]
    public void An_open_folder_is_followed_when_a_parent_is_renamed_and_other_folders_messages_are_not_queued()
    {
        var hub = new MailboxChangeHub("alice", '/');
        using var session = hub.Subscribe();
        hub.Opened(session, "Work/2026", 4);

        hub.Publish([Added("Workshop", 9, 1, 2)]);
        hub.Publish([new(MailboxChangeKind.FolderRenamed, "Work", 8, 0, 0, null, "Done")]);
        hub.Publish([Added("Done/2026", 4, 5, 6)]);

        Assert.Equal("Done/2026", session.OpenFolder);
        Assert.True(session.TryRead(out var renamed));
        Assert.Equal(MailboxChangeKind.FolderRenamed, Assert.Single(renamed.Changes).Kind);
        Assert.True(session.TryRead(out var added));
        Assert.Equal(("Done/2026", 5u), (added.Folder, Assert.Single(added.Changes).Uid));
        Assert.False(session.TryRead(out _));
    }

    [Fact]
    public void The_expunge_log_forgets_its_oldest_past_its_capacity_and_says_so()
    {
        var log = new ExpungedUidLog(rememberedAfter: 1, capacity: 16);
        for (uint uid = 1; uid <= 20; uid++)
        {
            log.Add(uid, uid + 1); // MODSEQs 2..21
        }

        Assert.InRange(log.Entries.Count, 14, 16);
        Assert.Equal(log.Entries[0].ModSeq - 1, log.RememberedAfter);
        Assert.False(log.Since(1).Remembered);
        Assert.False(log.Since(log.RememberedAfter - 1).Remembered);
        Assert.Equal(log.Entries.Select(e => e.Uid), log.Since(log.RememberedAfter).Uids);
        Assert.Equal([19u, 20u], log.Since(19).Uids);
        Assert.Empty(log.Since(21).Uids);
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Add(30, 5)); // MODSEQs only rise

        log.ForgetThrough(20);
        Assert.Equal((false, true), (log.Since(19).Remembered, log.Since(20).Remembered));
        Assert.Equal([20u], log.Since(20).Uids);
    }

    [Fact]
    public void Forgetting_past_the_capacity_forgets_every_expunge_of_the_last_modseq_forgotten()
    {
        // Seventeen messages expunged at one MODSEQ overflow a log of 16: keeping some of MODSEQ 7's and saying
        // "remembered after 7" would be a lie either way, so all of them go (found by fuzzing FolderIndex).
        var log = new ExpungedUidLog(rememberedAfter: 1, capacity: 16);
        log.Add(1, 5);
        for (uint uid = 2; uid <= 18; uid++)
        {
            log.Add(uid, 7);
        }
        Assert.Equal(7ul, log.RememberedAfter);
        Assert.Empty(log.Entries);
        Assert.False(log.Since(6).Remembered);
        Assert.True(log.Since(7).Remembered);

        log.Add(30, 8);
        Assert.Equal([30u], log.Since(7).Uids);
        Assert.All(log.Entries, entry => Assert.True(entry.ModSeq > log.RememberedAfter));
    }

    [Fact]
    public void The_same_expunge_told_twice_is_remembered_once()
    {
        var log = new ExpungedUidLog(rememberedAfter: 1, capacity: 16);
        log.Add(8, 35);
        log.Add(9, 35);
        log.Add(8, 35); // a journal line repeated
        log.Add(9, 35);
        Assert.Equal([(8u, 35ul), (9u, 35ul)], log.Entries);
    }
}
