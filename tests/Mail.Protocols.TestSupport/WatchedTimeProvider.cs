using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.TestSupport;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that tells a test when the server has started a timer, so that a delay "of N
/// seconds" can be tested exactly: wait until its timer exists, advance to just before N and see nothing happen,
/// then to N. Without this the clock may move before the server has started the timer, which then waits on.
/// </summary>
public sealed class WatchedTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly Lock _gate = new();
    private readonly List<(TimeSpan DueTime, TaskCompletionSource Started)> _waiters = [];

    /// <summary>Completes when the next timer due after <paramref name="dueTime"/> is created (call it before the
    /// action that starts the timer). Gives up after 30 seconds.</summary>
    public Task NextTimerAsync(TimeSpan dueTime)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _waiters.Add((dueTime, started));
        }
        return started.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <inheritdoc/>
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        lock (_gate)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].DueTime == dueTime)
                {
                    _waiters[i].Started.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
        return timer;
    }

    /// <summary>
    /// Checks that <paramref name="reply"/> waits exactly <paramref name="delay"/> on a timer started by what the test
    /// just sent (<paramref name="timerStarted"/> from <see cref="NextTimerAsync"/>): nothing just before the delay,
    /// the reply at it. With <paramref name="delays"/> above 1 the reply comes after that many such delays one after
    /// the other (a client that makes several attempts), each checked the same way. Returns the reply.
    /// </summary>
    public async Task<T> AssertDelayedAsync<T>(Task timerStarted, Task<T> reply, TimeSpan delay, int delays = 1)
    {
        ArgumentNullException.ThrowIfNull(timerStarted);
        ArgumentNullException.ThrowIfNull(reply);
        for (var i = 1; i <= delays; i++)
        {
            await timerStarted.ConfigureAwait(false);
            Advance(delay - TimeSpan.FromTicks(1));
            // A reply that is not waiting for the timer would come now; give it a moment to arrive.
            await Task.WhenAny(reply, Task.Delay(100)).ConfigureAwait(false);
            Xunit.Assert.False(reply.IsCompleted, $"replied before delay {i} of {delays} ({delay}) was over");
            if (i < delays)
            {
                timerStarted = NextTimerAsync(delay); // the next attempt starts its timer once this one's reply is out
            }
            Advance(TimeSpan.FromTicks(1));
        }
        return await reply.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
    }
}
