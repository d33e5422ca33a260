using System.IO.Pipelines;

namespace Mail.Protocols.TestSupport;

/// <summary>A connection's two directions made of in-memory pipes, for sessions run without a socket.</summary>
public sealed class TestDuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
{
    /// <summary>What the session reads (the client's writes).</summary>
    public PipeReader Input { get; } = input;

    /// <summary>What the session writes (the client's reads).</summary>
    public PipeWriter Output { get; } = output;
}
