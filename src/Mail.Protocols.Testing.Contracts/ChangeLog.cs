using System.Collections;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Testing.Contracts;

/// <summary>
/// Reads a <see cref="MailboxSubscription"/> the way a session does, for assertions: every access first takes what is
/// queued. The changes flattened in order, and the batches as they came. Fails on a resync nobody expected.
/// </summary>
public sealed class ChangeLog(MailboxSubscription subscription) : IReadOnlyList<MailboxChange>, IDisposable
{
    private readonly List<MailboxChangeBatch> _batches = [];

    public MailboxSubscription Subscription => subscription;

    /// <summary>The batches read so far (reading what is queued first).</summary>
    public IReadOnlyList<MailboxChangeBatch> Batches
    {
        get
        {
            while (subscription.TryRead(out var batch))
            {
                if (batch.ResyncRequired)
                {
                    throw new InvalidOperationException("The subscription was told to resynchronise.");
                }
                _batches.Add(batch);
            }
            return [.. _batches];
        }
    }

    /// <summary>The changes read so far, in order.</summary>
    public IReadOnlyList<MailboxChange> Changes => [.. Batches.SelectMany(b => b.Changes)];

    public int Count => Changes.Count;

    public MailboxChange this[int index] => Changes[index];

    /// <summary>Reads what is queued and forgets all of it.</summary>
    public void Clear()
    {
        _ = Batches;
        _batches.Clear();
    }

    public IEnumerator<MailboxChange> GetEnumerator() => Changes.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose() => subscription.Dispose();
}
