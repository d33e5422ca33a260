using System.Text.Json;
using Mail.Protocols.Storage;
using Xunit;

namespace Mail.Protocols.Testing.Contracts;

// Many messages' summaries and flags in one call (IMAP FETCH over a range), and the POP3 maildrop lease.
public abstract partial class MailboxStoreContractTests
{
    protected static string Json(MessageSummary summary) => JsonSerializer.Serialize(summary);

    [Fact]
    public async Task Summaries_of_many_uids_come_in_uid_order_with_the_flags_of_each_message()
    {
        var store = CreateStore();
        var uids = new List<uint>();
        for (var i = 0; i < 5; i++)
        {
            uids.Add((await AppendAsync(store, flags: i % 2 == 0 ? MessageFlags.Seen : MessageFlags.None)).Uid);
        }
        await store.UpdateFlagsAsync(User, "INBOX", [uids[3]], new FlagChange(FlagChangeMode.Add, MessageFlags.Flagged, ["$Label1"]));
        await store.ExpungeAsync(User, "INBOX", [uids[1]]);
        var listed = (await store.ListMessagesAsync(User, "INBOX")).ToDictionary(m => m.Uid);

        // Asked out of order, with a repeat, an expunged UID and one never used: each message once, by UID.
        var entries = await store.GetSummariesAsync(User, "inbox", [uids[4], uids[0], uids[1], uids[3], uids[0], uids[4] + 100]);

        Assert.Equal([uids[0], uids[3], uids[4]], entries.Select(e => e.Info.Uid));
        foreach (var entry in entries)
        {
            var info = listed[entry.Info.Uid];
            Assert.Equal((info.Flags, info.ModSeq, info.Size, info.InternalDate), (entry.Info.Flags, entry.Info.ModSeq, entry.Info.Size, entry.Info.InternalDate));
            Assert.Equal(info.Keywords, entry.Info.Keywords);
            Assert.Equal(Json(await store.GetSummaryAsync(User, "INBOX", entry.Info.Uid)), Json(entry.Summary));
            Assert.Equal("hi", entry.Summary.Envelope.Subject);
        }
        // Asked again (summaries now known), the answer is the same.
        Assert.Equal(entries.Select(e => Json(e.Summary)), (await store.GetSummariesAsync(User, "INBOX", [uids[0], uids[3], uids[4]])).Select(e => Json(e.Summary)));
        Assert.Equal([uids[0], uids[2], uids[3], uids[4]], (await store.GetSummariesAsync(User, "INBOX", uids)).Select(e => e.Info.Uid));
        Assert.Equal(["$Label1"], entries[1].Info.Keywords);
        Assert.Empty(await store.GetSummariesAsync(User, "INBOX", []));
        Assert.Equal(MailboxStoreError.FolderNotFound, await ErrorOf(async () => await store.GetSummariesAsync(User, "Nowhere", uids)));
    }

    [Fact]
    public async Task The_maildrop_lease_is_held_by_one_session_per_user_until_released()
    {
        var store = CreateStore();
        var first = await store.TryAcquireMaildropLeaseAsync(User);
        Assert.NotNull(first);
        Assert.Null(await store.TryAcquireMaildropLeaseAsync(User));
        using (var other = await store.TryAcquireMaildropLeaseAsync(OtherUser))
        {
            Assert.NotNull(other); // another user's maildrop is not locked by it
        }

        // The lease locks nothing else: the holder's own store calls, and other sessions', go on.
        await AppendAsync(store);
        Assert.Single(await store.ListMessagesAsync(User, "INBOX"));

        first.Dispose();
        first.Dispose(); // twice is harmless, and does not release a later holder's lease
        using var second = await store.TryAcquireMaildropLeaseAsync(User);
        Assert.NotNull(second);
        first.Dispose();
        Assert.Null(await store.TryAcquireMaildropLeaseAsync(User));
    }
}
