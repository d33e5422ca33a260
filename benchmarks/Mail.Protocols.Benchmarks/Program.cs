// Parser and DATA-reader micro-benchmarks. Run: dotnet run -c Release --project benchmarks/Mail.Protocols.Benchmarks -- --filter '*'
// `-- --allocations Class.Method` samples which types one body allocates (see AllocationSampler).
// `-- --smoke` runs each [Benchmark] body once without BenchmarkDotNet and checks its result (CI uses it so
// benchmarks never rot); see SmokeRun.
using BenchmarkDotNet.Running;
using Mail.Protocols.Benchmarks;

if (args is ["--smoke"])
{
    return SmokeRun.Run();
}
if (args is ["--allocations", var benchmark, ..])
{
    return await AllocationSampler.RunAsync(benchmark, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 20_000);
}
BenchmarkSwitcher.FromAssembly(typeof(SmtpParserBenchmarks).Assembly).Run(args);
return 0;
