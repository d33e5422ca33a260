// Parser and DATA-reader micro-benchmarks. Run: dotnet run -c Release --project benchmarks/Mail.Protocols.Benchmarks -- --filter '*'
// `-- --smoke` runs each [Benchmark] body once without BenchmarkDotNet and checks its result (CI uses it so
// benchmarks never rot); see SmokeRun.
using BenchmarkDotNet.Running;
using Mail.Protocols.Benchmarks;

if (args is ["--smoke"])
{
    return SmokeRun.Run();
}
BenchmarkSwitcher.FromAssembly(typeof(SmtpParserBenchmarks).Assembly).Run(args);
return 0;
