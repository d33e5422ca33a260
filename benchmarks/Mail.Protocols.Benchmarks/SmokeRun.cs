using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace Mail.Protocols.Benchmarks;

/// <summary>
/// A benchmark class says what each of its bodies returns, so the smoke run checks results and not only that the
/// bodies ran. Throws for a wrong result, and for a benchmark it has no check for.
/// </summary>
public interface ISmokeChecked
{
    /// <summary>Throws unless <paramref name="result"/> is what the benchmark method named <paramref name="benchmark"/> must return.</summary>
    void CheckSmokeResult(string benchmark, object? result);
}

/// <summary>
/// `--smoke`: every [Benchmark] method in this assembly, found by reflection, runs once without BenchmarkDotNet
/// (setup and cleanup included) and its result is checked by its class. A new benchmark is smoked without being
/// listed anywhere; one that returns nothing, takes arguments or has no check fails the run.
/// </summary>
internal static class SmokeRun
{
    public static void AssertEqual(object expected, object? actual)
    {
        if (!expected.Equals(actual))
        {
            throw new InvalidOperationException($"expected {expected} ({expected.GetType().Name}), got {actual ?? "null"} ({actual?.GetType().Name})");
        }
    }

    public static int Run()
    {
        var classes = typeof(SmokeRun).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && Benchmarks(t).Any())
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .ToList();
        var ran = 0;
        var failures = new List<string>();
        foreach (var type in classes)
        {
            var instance = Activator.CreateInstance(type)!;
            if (instance is not ISmokeChecked checker)
            {
                failures.Add($"{type.Name}: has [Benchmark] methods but does not implement {nameof(ISmokeChecked)}");
                continue;
            }
            Invoke<GlobalSetupAttribute>(instance);
            try
            {
                foreach (var method in Benchmarks(type))
                {
                    var name = $"{type.Name}.{method.Name}";
                    try
                    {
                        if (method.GetParameters().Length > 0 || method.IsStatic)
                        {
                            throw new InvalidOperationException("the smoke run calls parameterless instance benchmarks only");
                        }
                        Invoke<IterationSetupAttribute>(instance);
                        var result = Await(method.Invoke(instance, null), method.ReturnType);
                        Invoke<IterationCleanupAttribute>(instance);
                        checker.CheckSmokeResult(method.Name, result);
                        Console.WriteLine($"  {name}: {result}");
                        ran++;
                    }
                    catch (Exception ex)
                    {
                        var inner = ex is TargetInvocationException { InnerException: { } cause } ? cause : ex;
                        failures.Add($"{name}: {inner.Message}");
                    }
                }
            }
            finally
            {
                Invoke<GlobalCleanupAttribute>(instance);
            }
        }
        if (ran == 0 && failures.Count == 0)
        {
            failures.Add("no [Benchmark] methods found");
        }
        foreach (var failure in failures)
        {
            Console.Error.WriteLine("benchmark smoke run failed: " + failure);
        }
        if (failures.Count > 0)
        {
            return 1;
        }
        Console.WriteLine($"benchmark smoke run ok: {ran} benchmarks in {classes.Count} classes");
        return 0;
    }

    private static IEnumerable<MethodInfo> Benchmarks(Type type) =>
        type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
            .Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null)
            .OrderBy(m => m.Name, StringComparer.Ordinal);

    private static void Invoke<TAttribute>(object instance) where TAttribute : Attribute
    {
        foreach (var method in instance.GetType().GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.GetCustomAttribute<TAttribute>() is not null))
        {
            Await(method.Invoke(instance, null), method.ReturnType);
        }
    }

    // The value of a body: its return value, or what its Task<T>/ValueTask<T> completes with. A body that returns
    // nothing (void, Task, ValueTask) has nothing to check, so it is refused for benchmarks by the caller's check.
    private static object? Await(object? returned, Type returnType)
    {
        switch (returned)
        {
            case Task task:
                task.GetAwaiter().GetResult();
                return returnType.IsGenericType ? returnType.GetProperty("Result")!.GetValue(task) : NoResult.Instance;
            case ValueTask valueTask:
                valueTask.GetAwaiter().GetResult();
                return NoResult.Instance;
            case not null when returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(ValueTask<>):
                var asTask = (Task)returnType.GetMethod("AsTask")!.Invoke(returned, null)!;
                asTask.GetAwaiter().GetResult();
                return asTask.GetType().GetProperty("Result")!.GetValue(asTask);
            default:
                return returnType == typeof(void) ? NoResult.Instance : returned;
        }
    }

    // Stands for "the body returned nothing"; no check accepts it.
    private sealed class NoResult
    {
        public static readonly NoResult Instance = new();

        public override string ToString() => "(nothing returned)";
    }
}
