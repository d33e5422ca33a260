using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Mail.Protocols.Hosting.Tests;

// The host's meters, and only those: other tests' servers record on meters of their own.
internal sealed class OwnMeters : IMeterFactory
{
    private readonly ConcurrentBag<Meter> _made = [];

    public IReadOnlyCollection<Meter> Made => _made;

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options);
        _made.Add(meter);
        return meter;
    }

    public void Dispose()
    {
        foreach (var meter in _made)
        {
            meter.Dispose();
        }
    }
}
