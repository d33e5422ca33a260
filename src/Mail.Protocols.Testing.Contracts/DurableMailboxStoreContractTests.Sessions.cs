using Mail.Protocols.Storage;
using Xunit;

namespace Mail.Protocols.Testing.Contracts;

// What a durable store keeps of the session model across a restart: the expunges QRESYNC asks for.
public abstract partial class DurableMailboxStoreContractTests
{
    [Fact]
    public async Task Expunged_uids_and_their_modseqs_survive_a_restart()
    {
        var store = CreateStore();
        var a = await AppendAsync(store);
        var b = await AppendAsync(store);
        await AppendAsync(store);
        var start = (await store.GetStatusAsync(User, "INBOX")).HighestModSeq;
        await store.ExpungeAsync(User, "INBOX", [a.Uid]);
        var middle = (await store.GetStatusAsync(User, "INBOX")).HighestModSeq;
        await store.ExpungeAsync(User, "INBOX", [b.Uid]);

        var reopened = Reopen(store);

        Assert.Equal((true, $"{a.Uid},{b.Uid}"), await ExpungedSinceAsync(reopened, "INBOX", start));
        Assert.Equal((true, $"{b.Uid}"), await ExpungedSinceAsync(reopened, "INBOX", middle));
        Assert.False((await reopened.GetExpungedSinceAsync(User, "INBOX", 0)).Remembered);
    }
}
