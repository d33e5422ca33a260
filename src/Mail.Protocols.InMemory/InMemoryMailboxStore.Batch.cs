using System.Collections.Concurrent;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;

namespace Mail.Protocols.InMemory;

// Many messages' summaries in one call, and the POP3 maildrop lease.
public sealed partial class InMemoryMailboxStore
{
    private readonly ConcurrentDictionary<string, byte> _leases = new(UserName.Comparer); // one lease per login normal form

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<MessageSummaryEntry>> GetSummariesAsync(string user, string folder, IReadOnlyCollection<uint> uids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uids);
        var mailbox = Get(user);
        var found = new List<(MessageInfo Info, Lazy<MessageSummary> Summary)>(uids.Count);
        lock (mailbox)
        {
            var f = Find(mailbox, folder);
            foreach (var uid in uids.Distinct().Order())
            {
                if (f.Messages.TryGetValue(uid, out var m))
                {
                    found.Add((m.Info, m.Summary));
                }
            }
        }
        // Parsed (once per message) outside the lock: other sessions of the user need not wait for it.
        return ValueTask.FromResult<IReadOnlyList<MessageSummaryEntry>>([.. found.Select(m => new MessageSummaryEntry(m.Info, m.Summary.Value))]);
    }

    /// <inheritdoc />
    /// <remarks>The lease is kept in this instance: it excludes the sessions that share this store object.</remarks>
    public ValueTask<IDisposable?> TryAcquireMaildropLeaseAsync(string user, CancellationToken cancellationToken = default)
    {
        Get(user); // the user name is checked as by every other method
        return ValueTask.FromResult<IDisposable?>(_leases.TryAdd(user, 0) ? new Lease(_leases, user) : null);
    }

    private sealed class Lease(ConcurrentDictionary<string, byte> leases, string key) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                leases.TryRemove(key, out _);
            }
        }
    }
}
