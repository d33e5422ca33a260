using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using Mail.Protocols.Telemetry;

namespace Mail.Protocols.Smtp.Telemetry;

/// <summary>
/// The delivery agent's instruments (meter <c>Mail.Protocols.Delivery</c>); see docs/telemetry.md. An agent given an
/// <see cref="IMeterFactory"/> records on a meter of its own from that factory; without one, on the process-wide meter.
/// </summary>
internal sealed class DeliveryMetrics
{
    private static readonly string? s_version = typeof(DeliveryMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0];
    private static readonly DeliveryMetrics s_shared = new(new Meter(MailMeters.Delivery, s_version));
    private readonly Counter<long> _attempts;
    private readonly Counter<long> _recipients;
    private readonly Histogram<double> _duration;
    private long _queueDepth = -1;
    // The oldest entry's reception time (UTC ticks) and the clock its age is read on; 0: none known (empty, or no round yet).
    private long _oldestTicks;
    private TimeProvider _time = TimeProvider.System;

    private DeliveryMetrics(Meter meter)
    {
        meter.CreateObservableGauge<long>("mail.queue.depth", ObserveQueueDepth, "{entry}", "Entries in the outbound queue (leased or not) after the delivery agent's last round.");
        meter.CreateObservableGauge<double>("mail.queue.oldest.age", ObserveOldestAge, "s",
            "Age of the oldest entry in the outbound queue (leased or not), as of the delivery agent's last round; none while the queue is empty.");
        _attempts = meter.CreateCounter<long>("mail.delivery.attempts", "{attempt}", "Delivery attempts to a destination domain, by route and outcome.");
        _recipients = meter.CreateCounter<long>("mail.delivery.recipients", "{recipient}", "Recipients of delivery attempts, by outcome.");
        _duration = meter.CreateHistogram<double>("mail.delivery.duration", "s", "Duration of a delivery attempt to a destination domain, by route and outcome.");
    }

    /// <summary>The instruments on a meter from <paramref name="meterFactory"/>, or the process-wide ones when it is null.</summary>
    public static DeliveryMetrics For(IMeterFactory? meterFactory) =>
        meterFactory is null ? s_shared : new DeliveryMetrics(meterFactory.Create(new MeterOptions(MailMeters.Delivery) { Version = s_version }));

    /// <summary>Sets the queue's depth after a round; none is reported before the first.</summary>
    public void SetQueueDepth(long depth) => Volatile.Write(ref _queueDepth, depth);

    /// <summary>Sets the oldest entry's reception time after a round (null: the queue is empty); its age is read on <paramref name="time"/>.</summary>
    public void SetOldestEntry(DateTimeOffset? receivedAt, TimeProvider time)
    {
        _time = time;
        Volatile.Write(ref _oldestTicks, receivedAt?.UtcTicks ?? 0);
    }

    private IEnumerable<Measurement<double>> ObserveOldestAge() =>
        Volatile.Read(ref _oldestTicks) is > 0 and var ticks
            ? [new Measurement<double>(Math.Max(0, (_time.GetUtcNow() - new DateTimeOffset(ticks, TimeSpan.Zero)).TotalSeconds))]
            : [];

    private IEnumerable<Measurement<long>> ObserveQueueDepth() =>
        Volatile.Read(ref _queueDepth) is >= 0 and var depth ? [new Measurement<long>(depth)] : [];

    /// <summary>
    /// Records one attempt: <paramref name="route"/> is <c>smart_host</c> or <c>mx</c>; the outcome is <c>delivered</c>
    /// (every recipient accepted), <c>deferred</c> (every refusal temporary), <c>failed</c> (every one permanent) or
    /// <c>partial</c>.
    /// </summary>
    public void Attempted(string route, int delivered, int deferred, int bounced, TimeSpan duration)
    {
        var total = delivered + deferred + bounced;
        var outcome = delivered == total ? "delivered" : deferred == total ? "deferred" : bounced == total ? "failed" : "partial";
        var tags = new TagList { { "mail.delivery.route", route }, { "mail.delivery.outcome", outcome } };
        _attempts.Add(1, tags);
        if (_duration.Enabled)
        {
            _duration.Record(duration.TotalSeconds, tags);
        }
        if (_recipients.Enabled)
        {
            Count("delivered", delivered);
            Count("deferred", deferred);
            Count("bounced", bounced);
        }

        void Count(string recipientOutcome, int count)
        {
            if (count > 0)
            {
                _recipients.Add(count, new TagList { { "mail.delivery.outcome", recipientOutcome } });
            }
        }
    }
}
