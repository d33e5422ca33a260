using System.IO.Pipelines;
using Mail.Protocols.Connections;

namespace Mail.Protocols.Imap.Session;

/// <summary>
/// The connection's output for a writer that flushes by itself (FETCH streams its responses through
/// <see cref="Fetch.FetchResponseWriter"/>): every flush runs under the connection's write deadline, as
/// <see cref="SessionIO.FlushAsync"/> does, so a client that stops reading ends the session when the deadline passes
/// instead of holding it in a paused flush for ever. Everything else goes straight to the inner writer.
/// </summary>
internal sealed class DeadlinePipeWriter(PipeWriter inner, MailConnection connection, TimeSpan timeout) : PipeWriter
{
    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes;

    public override void Advance(int bytes) => inner.Advance(bytes);

    public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override async ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        connection.SetWriteTimeout(timeout);
        try
        {
            return await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            connection.ClearWriteTimeout();
        }
    }
}
