using Mail.Protocols.Maildir.Queue;
using Mail.Protocols.Queue;
using Mail.Protocols.Storage;
using Mail.Protocols.Testing.Contracts;

namespace Mail.Protocols.Maildir.Tests.Contracts;

/// <summary>The shared IMailboxStore contract, held against the Maildir store.</summary>
public sealed class MaildirMailboxStoreContractTests : DurableMailboxStoreContractTests, IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly List<MaildirMailboxStore> _stores = [];
    private readonly Dictionary<IMailboxStore, string> _roots = [];

    protected override IMailboxStore CreateStore() => Open(_directory.Combine("mail" + _stores.Count));

    // The store holds a lock file per user while open, as a process does: the old instance lets go first.
    protected override IMailboxStore Reopen(IMailboxStore store)
    {
        ((MaildirMailboxStore)store).Dispose();
        return Open(_roots[store]);
    }

    protected override IMailboxStore OpenAlongside(IMailboxStore store) => Open(_roots[store]);

    private MaildirMailboxStore Open(string root)
    {
        var store = new MaildirMailboxStore(new MaildirStoreOptions { RootPath = root });
        _stores.Add(store);
        _roots[store] = root;
        return store;
    }

    public void Dispose()
    {
        _stores.ForEach(s => s.Dispose());
        _directory.Dispose();
    }
}

/// <summary>The shared IMessageQueue contract, held against the file queue.</summary>
public sealed class FileMessageQueueContractTests : DurableMessageQueueContractTests, IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly List<FileMessageQueue> _queues = [];
    private readonly Dictionary<IMessageQueue, string> _paths = [];

    protected override IMessageQueue CreateQueue(TimeProvider time) => Open(_directory.Combine("queue" + _queues.Count), time);

    protected override IMessageQueue Reopen(IMessageQueue queue, TimeProvider time)
    {
        ((FileMessageQueue)queue).Dispose();
        return Open(_paths[queue], time);
    }

    private FileMessageQueue Open(string path, TimeProvider time)
    {
        var queue = new FileMessageQueue(path, time);
        _queues.Add(queue);
        _paths[queue] = path;
        return queue;
    }

    public void Dispose()
    {
        _queues.ForEach(q => q.Dispose());
        _directory.Dispose();
    }
}
