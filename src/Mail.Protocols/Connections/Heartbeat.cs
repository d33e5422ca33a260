using System.Collections.Concurrent;

namespace Mail.Protocols.Connections;

/// <summary>
/// One timer for all connections of a listener: once a tick it checks every connection's deadline and
/// times out the expired ones. Reads need no per-read CancellationTokenSource, and tests drive time with a
/// fake <see cref="TimeProvider"/>.
/// </summary>
internal sealed class Heartbeat : IDisposable
{
    private readonly ConcurrentDictionary<MailConnection, byte> _connections = new();
    private readonly ITimer _timer;

    /// <summary>Starts a heartbeat that ticks every <paramref name="interval"/> (one second if null).</summary>
    public Heartbeat(TimeProvider timeProvider, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        TimeProvider = timeProvider;
        var period = interval ?? TimeSpan.FromSeconds(1);
        _timer = timeProvider.CreateTimer(static s => ((Heartbeat)s!).Tick(), this, period, period);
    }

    // A shared heartbeat: its timer holds it weakly, so that it (and its clock) can be collected once no connection
    // holds it, and the finalizer then stops the timer.
    private Heartbeat(TimeProvider timeProvider)
    {
        TimeProvider = timeProvider;
        var period = TimeSpan.FromSeconds(1);
        _timer = timeProvider.CreateTimer(static s =>
        {
            if (((WeakReference<Heartbeat>)s!).TryGetTarget(out var heartbeat))
            {
                heartbeat.Tick();
            }
        }, new WeakReference<Heartbeat>(this), period, period);
    }

    /// <summary>Stops the timer of a shared heartbeat that nothing holds any more.</summary>
    ~Heartbeat() => _timer.Dispose();

    /// <summary>The clock the deadlines are read from.</summary>
    public TimeProvider TimeProvider { get; }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<TimeProvider, Heartbeat> s_shared = new();

    /// <summary>
    /// The heartbeat shared by connections made outside a listener on <paramref name="timeProvider"/>'s clock: one per
    /// clock while the clock or a connection holds it (a second one made by a race is collected, its timer stopped).
    /// </summary>
    public static Heartbeat Shared(TimeProvider timeProvider) => s_shared.GetValue(timeProvider, static t => new Heartbeat(t));

    internal void Register(MailConnection connection) => _connections.TryAdd(connection, 0);

    internal void Unregister(MailConnection connection) => _connections.TryRemove(connection, out _);

    /// <summary>Checks every registered connection now (the timer calls this).</summary>
    public void Tick()
    {
        var now = TimeProvider.GetTimestamp();
        // The dictionary's own enumerator: no snapshot of every connection (Keys would copy them all each tick).
        // It sees connections added or removed during the tick or not; either is fine for a deadline check.
        foreach (var entry in _connections)
        {
            entry.Key.CheckDeadline(now);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _timer.Dispose();
        GC.SuppressFinalize(this);
    }
}
