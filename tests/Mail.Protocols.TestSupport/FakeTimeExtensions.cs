using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.TestSupport;

/// <summary>Driving a <see cref="FakeTimeProvider"/> against a server that runs on other threads.</summary>
public static class FakeTimeExtensions
{
    /// <summary>
    /// Advances the clock by <paramref name="step"/> until <paramref name="task"/> completes. One advance is not
    /// enough on a busy machine: the server may not have started the timer (a failed-login delay, say) yet when
    /// the test moves the clock, and a timer started after the advance would wait for the next one.
    /// </summary>
    public static async Task<T> AdvanceUntilDoneAsync<T>(this FakeTimeProvider time, Task<T> task, TimeSpan step)
    {
        await AdvanceUntilDoneAsync(time, (Task)task, step).ConfigureAwait(false);
        return await task.ConfigureAwait(false);
    }

    /// <inheritdoc cref="AdvanceUntilDoneAsync{T}(FakeTimeProvider, Task{T}, TimeSpan)"/>
    public static async Task AdvanceUntilDoneAsync(this FakeTimeProvider time, Task task, TimeSpan step)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(task);
        for (var i = 0; i < 200 && !task.IsCompleted; i++)
        {
            time.Advance(step);
            await Task.WhenAny(task, Task.Delay(50)).ConfigureAwait(false);
        }
        await task.ConfigureAwait(false);
    }

    /// <summary>
    /// Waits (in real time, up to 30 seconds) until <paramref name="condition"/> holds: for example until the server
    /// has armed the deadline a test is about to pass by moving the fake clock.
    /// </summary>
    public static async Task WaitUntilAsync(Func<bool> condition)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The condition did not come true within 30 seconds.");
            }
            await Task.Delay(10).ConfigureAwait(false);
        }
    }
}
