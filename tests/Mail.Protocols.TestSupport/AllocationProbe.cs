namespace Mail.Protocols.TestSupport;

/// <summary>
/// Counts the managed memory the whole process allocates while an action runs (<see cref="GC.GetTotalAllocatedBytes"/>,
/// precise). Only meaningful in a test collection that runs alone (DisableParallelization): then what the server
/// allocated for a hostile input is in the figure, and the bound a test asserts is far below what the input announces.
/// </summary>
public static class AllocationProbe
{
    /// <summary>Runs <paramref name="action"/> and returns the octets allocated meanwhile, by every thread.</summary>
    public static async Task<long> MeasureAsync(Func<Task> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await action();
        return GC.GetTotalAllocatedBytes(precise: true) - before;
    }
}
