using System.IO.Pipelines;

namespace Mail.Protocols.Benchmarks;

/// <summary>The server's side of two in-memory pipes: it reads what the benchmark writes and writes what the benchmark reads.</summary>
internal sealed class PipeDuplex(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input { get; } = input;
    public PipeWriter Output { get; } = output;
}
