using System.Buffers;
using System.IO.Pipelines;

namespace Mail.Protocols.Fuzz;

/// <summary>
/// A connection for a session target: the client's bytes are all written (and the client's side closed) before the
/// session starts, and the server's replies collect in a pipe that never pushes back, so the session runs to its end
/// without a reader. <see cref="Replies"/> gives what the server wrote once it is done.
/// </summary>
internal sealed class SessionPipe : IDuplexPipe
{
    private readonly Pipe _toServer = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
    private readonly Pipe _toClient = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));

    public SessionPipe(ReadOnlySpan<byte> clientBytes)
    {
        _toServer.Writer.Write(clientBytes);
        var flush = _toServer.Writer.FlushAsync();
        Fuzz.Check(flush.IsCompleted, "the client's bytes did not fit the pipe");
        _toServer.Writer.Complete();
    }

    public PipeReader Input => _toServer.Reader;

    public PipeWriter Output => _toClient.Writer;

    /// <summary>Everything the server wrote; call after the session ended and its connection was disposed.</summary>
    public byte[] Replies()
    {
        _toClient.Writer.Complete();
        if (!_toClient.Reader.TryRead(out var result))
        {
            return [];
        }

        var replies = result.Buffer.ToArray();
        _toClient.Reader.AdvanceTo(result.Buffer.End);
        return replies;
    }
}
