using Mail.Protocols.Maildir.Queue;
using Mail.Protocols.Queue;
using Mail.Protocols.Storage;
using Mail.Protocols.TestSupport.Contracts;

namespace Mail.Protocols.Maildir.Tests.Contracts;

/// <summary>The shared IMailboxStore contract, held against the Maildir store.</summary>
public sealed class MaildirMailboxStoreContractTests : MailboxStoreContractTests, IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly List<MaildirMailboxStore> _stores = [];

    protected override IMailboxStore CreateStore()
    {
        var store = new MaildirMailboxStore(new MaildirStoreOptions { RootPath = _directory.Combine("mail" + _stores.Count) });
        _stores.Add(store);
        return store;
    }

    public void Dispose()
    {
        _stores.ForEach(s => s.Dispose());
        _directory.Dispose();
    }
}

/// <summary>The shared IMessageQueue contract, held against the file queue.</summary>
public sealed class FileMessageQueueContractTests : MessageQueueContractTests, IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly List<FileMessageQueue> _queues = [];

    protected override IMessageQueue CreateQueue(TimeProvider time)
    {
        var queue = new FileMessageQueue(_directory.Combine("queue" + _queues.Count), time);
        _queues.Add(queue);
        return queue;
    }

    public void Dispose()
    {
        _queues.ForEach(q => q.Dispose());
        _directory.Dispose();
    }
}
