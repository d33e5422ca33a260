using System.Text;
using Mail.Protocols.InMemory;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Tests;

/// <summary>The in-memory store's per-user quota: appends and copies past it fail with MailboxFull; moves and other users do not.</summary>
public sealed class InMemoryQuotaTests
{
    private static MemoryStream Message(int octets) => new(Encoding.ASCII.GetBytes("Subject: q\r\n\r\n" + new string('x', octets - 16) + "\r\n"));

    [Fact]
    public async Task Appends_fill_the_quota_exactly_and_the_next_one_fails_with_mailbox_full()
    {
        var store = new InMemoryMailboxStore();
        store.SetQuota("carol@example.test", 200);
        await store.AppendAsync("carol@example.test", "INBOX", Message(100));
        await store.AppendAsync("carol@example.test", "INBOX", Message(100)); // exactly at the quota
        var full = await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.AppendAsync("carol@example.test", "INBOX", Message(16)));
        Assert.Equal(MailboxStoreError.MailboxFull, full.Error);
        Assert.Equal(2, (await store.ListMessagesAsync("carol@example.test", "INBOX")).Count);
        await store.AppendAsync("alice@example.test", "INBOX", Message(1000)); // another user has no quota

        store.SetQuota("carol@example.test", null);
        await store.AppendAsync("carol@example.test", "INBOX", Message(16));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.SetQuota("carol@example.test", -1));
    }

    [Fact]
    public async Task A_copy_past_the_quota_fails_and_a_move_which_adds_nothing_does_not()
    {
        var store = new InMemoryMailboxStore();
        await store.CreateFolderAsync("carol@example.test", "Archive");
        var uid = (await store.AppendAsync("carol@example.test", "INBOX", Message(100))).Uid;
        store.SetQuota("CAROL@example.test", 150); // a login in any spelling
        var full = await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.CopyAsync("carol@example.test", "INBOX", [uid], "Archive"));
        Assert.Equal(MailboxStoreError.MailboxFull, full.Error);
        Assert.Empty(await store.ListMessagesAsync("carol@example.test", "Archive"));
        await store.MoveAsync("carol@example.test", "INBOX", [uid], "Archive");
        Assert.Single(await store.ListMessagesAsync("carol@example.test", "Archive"));
    }
}
