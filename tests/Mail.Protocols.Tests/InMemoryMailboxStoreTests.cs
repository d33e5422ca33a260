using Mail.Protocols.InMemory;
using Mail.Protocols.Storage;
using Mail.Protocols.Testing.Contracts;

namespace Mail.Protocols.Tests;

/// <summary>The in-memory reference store against the shared contract suite.</summary>
public class InMemoryMailboxStoreTests : MailboxStoreContractTests
{
    protected override IMailboxStore CreateStore() => new InMemoryMailboxStore();
}
