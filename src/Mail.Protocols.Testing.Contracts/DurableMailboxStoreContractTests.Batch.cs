using Xunit;

namespace Mail.Protocols.Testing.Contracts;

// The maildrop lease of a durable store holds across instances (and so processes) sharing its storage.
public abstract partial class DurableMailboxStoreContractTests
{
    [Fact]
    public async Task The_maildrop_lease_excludes_sessions_of_another_instance_on_the_same_storage()
    {
        var store = CreateStore();
        var alongside = OpenAlongside(store);

        var lease = await store.TryAcquireMaildropLeaseAsync(User);
        Assert.NotNull(lease);
        Assert.Null(await alongside.TryAcquireMaildropLeaseAsync(User));
        lease.Dispose();

        using var taken = await alongside.TryAcquireMaildropLeaseAsync(User);
        Assert.NotNull(taken);
        Assert.Null(await store.TryAcquireMaildropLeaseAsync(User));
    }
}
