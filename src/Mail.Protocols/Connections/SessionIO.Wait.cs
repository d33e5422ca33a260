using System.IO.Pipelines;

namespace Mail.Protocols.Connections;

/// <summary>What <see cref="SessionIO.WaitForInputAsync"/> found.</summary>
public enum InputWaitOutcome
{
    /// <summary>Client input is buffered: read it with <see cref="SessionIO.ReadLineAsync"/> (or a literal read).</summary>
    InputAvailable,
    /// <summary>The session's <see cref="SessionSignal"/> was set (and is now consumed); the read underneath stays pending.</summary>
    Signalled,
    /// <summary>The client closed the connection (or it was aborted).</summary>
    Closed,
    /// <summary>The deadline passed (<see cref="MailConnection.TimedOut"/> says which).</summary>
    TimedOut,
    /// <summary>The server is shutting down.</summary>
    ShutdownRequested,
}

// A wait for client input that the session's own news can also end, without cancelling the read underneath.
public sealed partial class SessionIO
{
    private Task<ReadResult>? _pendingRead;

    /// <summary>
    /// Waits until client input is buffered or <paramref name="signal"/> is set, whichever comes first (IMAP IDLE,
    /// or any wait for the next command of a session that has notifications to send). Pending replies are flushed
    /// first. One read of the connection is started and kept: when the signal wins, that read stays pending (the
    /// socket or TLS read underneath is never cancelled, so no client octet is lost or reordered) and the next call
    /// waits on the same read again. The session writes its notifications meanwhile (it stays the connection's
    /// only writer) and calls this again; it must not call <see cref="ReadLineAsync"/> or a literal read until this
    /// returned <see cref="InputWaitOutcome.InputAvailable"/>. The deadline of <paramref name="timeout"/> (for
    /// <paramref name="reason"/>) covers this one wait.
    /// </summary>
    public async ValueTask<InputWaitOutcome> WaitForInputAsync(SessionSignal signal, TimeSpan timeout, TimeoutReason reason, bool allowShutdown = true)
    {
        ArgumentNullException.ThrowIfNull(signal);
        await FlushAsync().ConfigureAwait(false);
        if (_pendingRead is null && !_mustWaitForInput && _input.TryRead(out var buffered) && Settle(buffered, allowShutdown) is { } ready)
        {
            return ready;
        }
        if (signal.TryConsume())
        {
            return InputWaitOutcome.Signalled;
        }
        if (allowShutdown && _connection.IsShutdownRequested)
        {
            return InputWaitOutcome.ShutdownRequested;
        }
        _pendingRead ??= _input.ReadAsync(_connection.Aborted).AsTask();
        _connection.SetTimeout(timeout, reason);
        try
        {
            while (true)
            {
                if (!_pendingRead.IsCompleted)
                {
                    await Task.WhenAny(_pendingRead, signal.WhenSet).ConfigureAwait(false);
                }
                if (!_pendingRead.IsCompleted && signal.TryConsume())
                {
                    return InputWaitOutcome.Signalled;
                }
                if (!_pendingRead.IsCompleted)
                {
                    continue;
                }
                var read = _pendingRead;
                _pendingRead = null;
                _mustWaitForInput = false;
                var outcome = Settle(await read.ConfigureAwait(false), allowShutdown);
                if (outcome is not null)
                {
                    return outcome.Value;
                }
                // A cancelled read that was neither a timeout nor a shutdown: read again.
                _pendingRead = _input.ReadAsync(_connection.Aborted).AsTask();
            }
        }
        finally
        {
            _connection.ClearTimeout();
        }
    }

    // Leaves whatever arrived in the pipe (neither consumed nor examined) for the line or literal read that follows.
    private InputWaitOutcome? Settle(ReadResult result, bool allowShutdown)
    {
        if (result.IsCanceled)
        {
            _input.AdvanceTo(result.Buffer.Start);
            return _connection.TimedOut != TimeoutReason.None ? InputWaitOutcome.TimedOut
                : allowShutdown && _connection.IsShutdownRequested ? InputWaitOutcome.ShutdownRequested
                : _connection.Aborted.IsCancellationRequested ? InputWaitOutcome.Closed
                : null;
        }
        // Nothing examined either: a stream pipe reader's TryRead returns only data not yet examined.
        var empty = result.Buffer.IsEmpty;
        _input.AdvanceTo(result.Buffer.Start);
        return empty && result.IsCompleted ? InputWaitOutcome.Closed : InputWaitOutcome.InputAvailable;
    }

    private void ThrowIfReadPending()
    {
        if (_pendingRead is not null)
        {
            throw new InvalidOperationException("A wait for input is still pending: call WaitForInputAsync until it reports input.");
        }
    }
}
