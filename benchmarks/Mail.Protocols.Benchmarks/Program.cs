// Parser and DATA-reader micro-benchmarks. Run: dotnet run -c Release --project benchmarks/Mail.Protocols.Benchmarks -- --filter '*'
// `-- --smoke` runs each benchmark body once without BenchmarkDotNet (CI uses it so benchmarks never rot).
using BenchmarkDotNet.Running;
using Mail.Protocols.Benchmarks;

if (args is ["--smoke"])
{
    SmokeRun.Run();
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(SmtpParserBenchmarks).Assembly).Run(args);
