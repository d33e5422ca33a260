using System.Diagnostics.Tracing;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;

namespace Mail.Protocols.Benchmarks;

/// <summary>
/// `--allocations Class.Method [runs]`: runs one benchmark body many times and prints the bytes it allocates per run
/// (exact) and which types those bytes are (sampled: the runtime reports a type about every 100 KB allocated). Answers
/// "what does this path allocate?" before BenchmarkDotNet says how much; the sample counts are proportional to bytes.
/// </summary>
internal static class AllocationSampler
{
    public static async Task<int> RunAsync(string benchmark, int runs)
    {
        var parts = benchmark.Split('.');
        var type = typeof(AllocationSampler).Assembly.GetTypes().FirstOrDefault(t => t.Name == parts[0]);
        var method = parts.Length == 2 ? type?.GetMethod(parts[1]) : null;
        if (method?.GetCustomAttribute<BenchmarkAttribute>() is null)
        {
            Console.Error.WriteLine($"no benchmark {benchmark} (Class.Method)");
            return 2;
        }
        var instance = Activator.CreateInstance(type!)!;
        Call<GlobalSetupAttribute>(instance);
        var run = Body(method, instance);
        for (var i = 0; i < Math.Min(runs, 2_000); i++)
        {
            await run();
        }
        long bytes;
        Dictionary<string, long> samples;
        using (var listener = new AllocationTickListener())
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            for (var i = 0; i < runs; i++)
            {
                await run();
            }
            bytes = GC.GetTotalAllocatedBytes(precise: true) - before;
            samples = listener.Samples;
        }
        Call<GlobalCleanupAttribute>(instance);
        Console.WriteLine($"{benchmark}: {bytes / (double)runs:F0} bytes a run over {runs:N0} runs; sampled types:");
        lock (samples)
        {
            foreach (var (name, count) in samples.OrderByDescending(s => s.Value).Take(30))
            {
                Console.WriteLine($"{count,8} {name}");
            }
        }
        return 0;
    }

    // The body as a delegate that allocates nothing of its own per call (no reflection, no Task around a ValueTask),
    // so the bytes counted are the body's.
    private static Func<ValueTask> Body(MethodInfo method, object instance)
    {
        var returns = method.ReturnType;
        if (returns.IsGenericType && returns.GetGenericTypeDefinition() == typeof(ValueTask<>))
        {
            var adapter = typeof(ValueTaskBody<>).MakeGenericType(returns.GetGenericArguments());
            var body = method.CreateDelegate(typeof(Func<>).MakeGenericType(returns), instance);
            return ((IBody)Activator.CreateInstance(adapter, body)!).RunAsync;
        }
        if (returns == typeof(ValueTask))
        {
            return method.CreateDelegate<Func<ValueTask>>(instance);
        }
        throw new NotSupportedException($"{method.Name} returns {returns.Name}; the sampler runs ValueTask bodies (a Task would count its own allocation)");
    }

    private interface IBody
    {
        ValueTask RunAsync();
    }

    private sealed class ValueTaskBody<T>(Func<ValueTask<T>> body) : IBody
    {
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        public async ValueTask RunAsync() => await body().ConfigureAwait(false);
    }

    private static void Call<TAttribute>(object instance) where TAttribute : Attribute
    {
        foreach (var setup in instance.GetType().GetMethods().Where(m => m.GetCustomAttribute<TAttribute>() is not null))
        {
            setup.Invoke(instance, null);
        }
    }

    // The runtime's GCAllocationTick event (GC keyword, verbose level) names the type of the object that crossed each ~100 KB.
    private sealed class AllocationTickListener : EventListener
    {
        public Dictionary<string, long> Samples { get; } = [];

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || eventData.PayloadNames is null)
            {
                return;
            }
            var name = eventData.Payload![eventData.PayloadNames.IndexOf("TypeName")]?.ToString() ?? "?";
            // AllocationKind 1: the object went to the large object heap (85,000 octets and up).
            if (eventData.PayloadNames.IndexOf("AllocationKind") is >= 0 and var kind && Convert.ToInt32(eventData.Payload[kind], CultureInfo.InvariantCulture) == 1)
            {
                name += " (large object heap)";
            }
            lock (Samples)
            {
                Samples[name] = Samples.GetValueOrDefault(name) + 1;
            }
        }
    }
}
