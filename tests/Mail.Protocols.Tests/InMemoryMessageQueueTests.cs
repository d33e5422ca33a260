using Mail.Protocols.InMemory;
using Mail.Protocols.Queue;
using Mail.Protocols.Testing.Contracts;

namespace Mail.Protocols.Tests;

/// <summary>The in-memory reference queue against the shared contract suite.</summary>
public class InMemoryMessageQueueTests : MessageQueueContractTests
{
    protected override IMessageQueue CreateQueue(TimeProvider time) => new InMemoryMessageQueue(time);
}
