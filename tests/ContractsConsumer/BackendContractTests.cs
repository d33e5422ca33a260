// What a backend author writes to check an IMailboxStore or IMessageQueue against everything the engines rely on:
// one class per backend, deriving from the suite and returning a fresh instance. Here the in-memory backends stand in
// for the author's own.
using Mail.Protocols.InMemory;
using Mail.Protocols.Queue;
using Mail.Protocols.Storage;
using Mail.Protocols.Testing.Contracts;

namespace ContractsConsumer;

public sealed class MyMailboxStoreContract : MailboxStoreContractTests
{
    protected override IMailboxStore CreateStore() => new InMemoryMailboxStore();
}

public sealed class MyMessageQueueContract : MessageQueueContractTests
{
    protected override IMessageQueue CreateQueue(TimeProvider time) => new InMemoryMessageQueue(time);
}
