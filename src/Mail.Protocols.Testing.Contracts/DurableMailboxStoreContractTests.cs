using System.Text;
using Mail.Protocols.Storage;
using Xunit;

namespace Mail.Protocols.Testing.Contracts;

/// <summary>
/// The <see cref="IMailboxStore"/> contract for a durable store: everything in <see cref="MailboxStoreContractTests"/>,
/// and what must survive a restart. Derive from this class instead of <see cref="MailboxStoreContractTests"/> when
/// your store keeps its mail across processes, and implement <see cref="Reopen"/>. A store that is not durable (the
/// in-memory one) derives from <see cref="MailboxStoreContractTests"/> and does not have these tests at all.
/// </summary>
public abstract partial class DurableMailboxStoreContractTests : MailboxStoreContractTests
{
    /// <summary>
    /// Opens the storage of <paramref name="store"/> (made by <see cref="MailboxStoreContractTests.CreateStore"/>) again
    /// as a new instance, as a restarted process would. Release what the old instance holds (dispose it) first.
    /// </summary>
    protected abstract IMailboxStore Reopen(IMailboxStore store);

    /// <summary>
    /// A second instance on the same storage while <paramref name="store"/> stays open, as another process sharing
    /// it would have (for the maildrop lease, which must exclude sessions across instances and processes).
    /// </summary>
    protected abstract IMailboxStore OpenAlongside(IMailboxStore store);

    private static MemoryStream Message(string subject) =>
        new(Encoding.ASCII.GetBytes($"From: bob@example.org\r\nSubject: {subject}\r\n\r\nHello.\r\n"));

    [Fact]
    public async Task Uids_uidvalidity_modseqs_flags_and_folders_survive_a_restart()
    {
        var store = CreateStore();
        await store.CreateFolderAsync(User, "Archive", SpecialUse.Archive);
        var date = new DateTimeOffset(2026, 11, 1, 8, 30, 0, TimeSpan.FromHours(1));
        var kept = await store.AppendAsync(User, "INBOX", Message("kept"), new AppendOptions(InternalDate: date));
        var other = await store.AppendAsync(User, "INBOX", Message("other"), new AppendOptions(MessageFlags.Draft));
        var last = await store.AppendAsync(User, "INBOX", Message("last"));
        await store.UpdateFlagsAsync(User, "INBOX", [kept.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen | MessageFlags.Answered, ["$Forwarded"]));
        await store.AppendAsync(User, "Archive", Message("archived"));
        // The expunge of the highest UID is the last change: HIGHESTMODSEQ and UIDNEXT must remember it.
        Assert.Equal([last.Uid], await store.ExpungeAsync(User, "INBOX", [last.Uid]));
        var inboxBefore = await store.GetStatusAsync(User, "INBOX");
        var archiveBefore = await store.GetStatusAsync(User, "Archive");
        var messagesBefore = Describe(await store.ListMessagesAsync(User, "INBOX"));

        var reopened = Reopen(store);

        Assert.Equal(inboxBefore, await reopened.GetStatusAsync(User, "INBOX"));
        Assert.Equal(archiveBefore, await reopened.GetStatusAsync(User, "Archive"));
        Assert.Equal(messagesBefore, Describe(await reopened.ListMessagesAsync(User, "INBOX")));
        Assert.Contains(await reopened.ListFoldersAsync(User), f => f.Name == "Archive" && f.SpecialUse == SpecialUse.Archive);
        await using (var content = await reopened.OpenContentAsync(User, "INBOX", kept.Uid))
        {
            Assert.Contains("Subject: kept", await new StreamReader(content).ReadToEndAsync(), StringComparison.Ordinal);
        }
        Assert.Equal("other", (await reopened.GetSummaryAsync(User, "INBOX", other.Uid)).Envelope.Subject);

        // The expunged UID was the highest: it is not handed out again, and MODSEQs keep rising.
        var next = await reopened.AppendAsync(User, "INBOX", Message("new"));
        Assert.True(next.Uid > last.Uid, $"UID {next.Uid} after a restart, {last.Uid} expunged before it");
        Assert.Equal(inboxBefore.UidValidity, next.UidValidity);
        var afterAppend = await reopened.GetStatusAsync(User, "INBOX");
        Assert.True(afterAppend.HighestModSeq > inboxBefore.HighestModSeq);
        var flagged = Assert.Single((await reopened.UpdateFlagsAsync(User, "INBOX", [other.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Flagged))).Updated);
        Assert.True(flagged.ModSeq > afterAppend.HighestModSeq);
    }

    // A store that keeps summaries across a restart must keep escaped header octets too (System.Text.Json, for one,
    // writes a lone surrogate as U+FFFD).
    [Fact]
    public async Task Header_octets_that_are_not_utf8_survive_a_restart()
    {
        var store = CreateStore();
        var appended = await store.AppendAsync(User, "INBOX", new MemoryStream(s_latin1Headers));
        AssertLatin1HeaderOctets(await store.GetSummaryAsync(User, "INBOX", appended.Uid));

        var reopened = Reopen(store);

        AssertLatin1HeaderOctets(await reopened.GetSummaryAsync(User, "INBOX", appended.Uid));
        AssertLatin1HeaderOctets(Assert.Single(await reopened.GetSummariesAsync(User, "INBOX", [appended.Uid])).Summary);
    }

    [Fact]
    public async Task A_message_expunged_before_a_restart_frees_no_uid_even_when_the_folder_is_empty()
    {
        var store = CreateStore();
        var first = await store.AppendAsync(User, "INBOX", Message("one"));
        var second = await store.AppendAsync(User, "INBOX", Message("two"));
        await store.ExpungeAsync(User, "INBOX", [first.Uid, second.Uid]);
        var before = await store.GetStatusAsync(User, "INBOX");

        var reopened = Reopen(store);

        var status = await reopened.GetStatusAsync(User, "INBOX");
        Assert.Equal(before.UidValidity, status.UidValidity);
        Assert.True(status.UidNext > second.Uid);
        Assert.True(status.HighestModSeq >= before.HighestModSeq);
        Assert.True((await reopened.AppendAsync(User, "INBOX", Message("three"))).Uid > second.Uid);
    }

    [Fact]
    public async Task A_folder_deleted_and_created_again_after_a_restart_gets_a_new_uidvalidity()
    {
        var store = CreateStore();
        await store.CreateFolderAsync(User, "Lists");
        var old = await store.AppendAsync(User, "Lists", Message("old"));

        var reopened = Reopen(store);
        await reopened.DeleteFolderAsync(User, "Lists");
        await reopened.CreateFolderAsync(User, "Lists");

        var status = await reopened.GetStatusAsync(User, "Lists");
        Assert.True(status.UidValidity > old.UidValidity, $"UIDVALIDITY {status.UidValidity} after re-creating, {old.UidValidity} before");
        Assert.Equal(0, status.Messages);
    }

    [Fact]
    public async Task A_failed_or_cancelled_append_leaves_no_message_after_a_restart()
    {
        var store = CreateStore();
        var before = await store.AppendAsync(User, "INBOX", Message("before"));
        await Assert.ThrowsAsync<IOException>(async () => await store.AppendAsync(User, "INBOX", new FailingStream()));
        using var cancellation = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await store.AppendAsync(User, "INBOX", new CancellingStream(cancellation), cancellationToken: cancellation.Token));

        var reopened = Reopen(store);

        Assert.Equal(before.Uid, Assert.Single(await reopened.ListMessagesAsync(User, "INBOX")).Uid);
        var after = await reopened.AppendAsync(User, "INBOX", Message("after"));
        Assert.Equal([before.Uid, after.Uid], (await reopened.ListMessagesAsync(User, "INBOX")).Select(m => m.Uid));
    }

    // Everything a client may have cached about each message.
    private static string Describe(IEnumerable<MessageInfo> list) =>
        string.Join(";", list.Select(m => $"{m.Uid} {m.Flags} [{string.Join(' ', m.Keywords.Order(StringComparer.Ordinal))}] {m.ModSeq} {m.Size} {m.InternalDate.UtcTicks}"));
}
