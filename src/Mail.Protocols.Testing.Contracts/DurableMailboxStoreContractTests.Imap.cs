using Mail.Protocols.Storage;
using Xunit;

namespace Mail.Protocols.Testing.Contracts;

// What a durable store keeps across a restart of the IMAP additions: subscriptions, special use set later, and
// names that exist only as parents.
public abstract partial class DurableMailboxStoreContractTests
{
    [Fact]
    public async Task Subscriptions_special_use_and_noselect_names_survive_a_restart()
    {
        var store = CreateStore();
        await store.AddSubscriptionAsync(User, "INBOX");
        await store.AddSubscriptionAsync(User, "Never/Created");
        await store.AddSubscriptionAsync(User, "Gone");
        await store.RemoveSubscriptionAsync(User, "Gone");
        await store.AddSubscriptionAsync("carol@example.test", "Hers");
        await store.CreateFolderAsync(User, "Bin");
        await store.SetSpecialUseAsync(User, "Bin", SpecialUse.Trash);
        await store.CreateFolderAsync(User, "a/b");
        await store.DeleteFolderAsync(User, "a");
        var folders = await store.ListFoldersAsync(User);

        var reopened = Reopen(store);

        Assert.Equal(["INBOX", "Never/Created"], await reopened.ListSubscriptionsAsync(User));
        Assert.Equal(["Hers"], await reopened.ListSubscriptionsAsync("carol@example.test"));
        Assert.Equal(folders, await reopened.ListFoldersAsync(User));
        Assert.Contains(new FolderInfo("Bin", SpecialUse.Trash, false), folders);
        Assert.Contains(new FolderInfo("a", SpecialUse.None, true, FolderAttributes.NoSelect), folders);
    }
}
