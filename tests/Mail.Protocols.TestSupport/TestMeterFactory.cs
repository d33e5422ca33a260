using System.Diagnostics.Metrics;

namespace Mail.Protocols.TestSupport;

/// <summary>
/// An <see cref="IMeterFactory"/> of one test: each server given it records on meters that belong to this test alone,
/// so a MetricCollector built over the factory (it matches on the meter's scope) never sees another test's server.
/// </summary>
public sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    /// <inheritdoc />
    public Meter Create(MeterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
        lock (_meters)
        {
            _meters.Add(meter);
        }
        return meter;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_meters)
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }
            _meters.Clear();
        }
    }
}
