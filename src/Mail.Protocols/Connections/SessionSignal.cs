namespace Mail.Protocols.Connections;

/// <summary>
/// A session's "there is news" flag (a store change for an IMAP IDLE, a notification queue that is no longer
/// empty): any thread may <see cref="Set"/> it; the session's <see cref="SessionIO.WaitForInputAsync"/>
/// wakes on it as well as on client input, and consumes it when it reports
/// <see cref="InputWaitOutcome.Signalled"/>. Consume-then-drain makes a wake-up impossible to lose: news
/// that arrives while the session drains its queue sets the flag again for the next wait.
/// </summary>
public sealed class SessionSignal
{
    private TaskCompletionSource _set = NewSource();

    /// <summary>Whether the flag is set and not yet consumed.</summary>
    public bool IsSet => Volatile.Read(ref _set).Task.IsCompleted;

    /// <summary>Sets the flag (thread-safe, never blocks, idempotent until consumed).</summary>
    public void Set() => Volatile.Read(ref _set).TrySetResult();

    /// <summary>Clears the flag if it is set; returns whether it was.</summary>
    public bool TryConsume()
    {
        var current = Volatile.Read(ref _set);
        if (!current.Task.IsCompleted)
        {
            return false;
        }
        // Only the session consumes, so a plain swap cannot race another consumer; a concurrent Set went
        // to the completed source (already set) or goes to the new one (seen by the next wait).
        Interlocked.CompareExchange(ref _set, NewSource(), current);
        return true;
    }

    internal Task WhenSet => Volatile.Read(ref _set).Task;

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
