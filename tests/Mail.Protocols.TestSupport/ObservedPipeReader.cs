using System.Buffers;
using System.IO.Pipelines;

namespace Mail.Protocols.TestSupport;

/// <summary>
/// A pipe reader that counts the octets its consumer has looked at (examined), so a test can wait until the session
/// has really seen what was sent before it moves the clock — instead of sleeping and hoping.
/// </summary>
public sealed class ObservedPipeReader(PipeReader inner) : PipeReader
{
    private ReadOnlySequence<byte> _last;
    private long _consumed;
    private long _examined;

    /// <summary>Octets the consumer has examined so far, from the start of the connection.</summary>
    public long Examined => Interlocked.Read(ref _examined);

    /// <inheritdoc/>
    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    /// <inheritdoc/>
    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        var examinedHere = _consumed + _last.Slice(0, examined).Length;
        _consumed += _last.Slice(0, consumed).Length;
        if (examinedHere > Interlocked.Read(ref _examined))
        {
            Interlocked.Exchange(ref _examined, examinedHere);
        }
        _last = default;
        inner.AdvanceTo(consumed, examined);
    }

    /// <inheritdoc/>
    public override void CancelPendingRead() => inner.CancelPendingRead();

    /// <inheritdoc/>
    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    /// <inheritdoc/>
    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var result = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        _last = result.Buffer;
        return result;
    }

    /// <inheritdoc/>
    public override bool TryRead(out ReadResult result)
    {
        if (inner.TryRead(out result))
        {
            _last = result.Buffer;
            return true;
        }
        return false;
    }

    /// <summary>Waits (30 s at most, in real time) until the consumer has examined at least <paramref name="octets"/>.</summary>
    public Task WaitUntilExaminedAsync(long octets) => FakeTimeExtensions.WaitUntilAsync(() => Examined >= octets);
}
