using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using Mail.Protocols.Telemetry;
using Mail.Protocols.Smtp.Protocol;

namespace Mail.Protocols.Smtp.Telemetry;

/// <summary>
/// The SMTP server's instruments (meter <c>Mail.Protocols.Smtp</c>); see docs/telemetry.md. A server given an
/// <see cref="IMeterFactory"/> records on a meter of its own from that factory; without one, on the process-wide
/// meter of the same name.
/// </summary>
internal sealed class SmtpMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = MailMeters.Smtp;

    // The instrumentation's version: the assembly's (without SourceLink's "+commit").
    private static readonly string? s_version = typeof(SmtpMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0];
    private static readonly SmtpMetrics s_shared = new(new Meter(MeterName, s_version));
    private readonly UpDownCounter<long> _active;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _commands;
    private readonly Counter<long> _messages;
    private readonly Counter<long> _bytes;
    private readonly Histogram<long> _sizes;
    private readonly Counter<long> _errors;

    private SmtpMetrics(Meter meter)
    {
        _active = meter.CreateUpDownCounter<long>("mail.smtp.active_sessions", "{session}", "SMTP sessions in progress.");
        _duration = meter.CreateHistogram<double>("mail.smtp.session.duration", "s", "Duration of SMTP sessions.");
        _commands = meter.CreateCounter<long>("mail.smtp.commands", "{command}", "SMTP commands answered, by verb, with error.type when refused.");
        _messages = meter.CreateCounter<long>("mail.smtp.messages.received", "{message}", "Messages accepted and stored.");
        _bytes = meter.CreateCounter<long>("mail.smtp.received.size", "By", "Octets of accepted messages.");
        // Buckets from 1 KiB to 64 MiB by powers of four: mail sizes span five orders of magnitude.
        _sizes = meter.CreateHistogram<long>("mail.smtp.message.size", "By", "Size of each accepted message.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864] });
        _errors = meter.CreateCounter<long>("mail.smtp.errors", "{error}", "Refused commands, by error.type.");
    }

    /// <summary>The instruments on a meter from <paramref name="meterFactory"/>, or the process-wide ones when it is null.</summary>
    internal static SmtpMetrics For(IMeterFactory? meterFactory) =>
        meterFactory is null ? s_shared : new SmtpMetrics(meterFactory.Create(new MeterOptions(MeterName) { Version = s_version }));

    internal void SessionStarted() => _active.Add(1);

    internal void SessionEnded(TimeSpan duration)
    {
        _active.Add(-1);
        if (_duration.Enabled)
        {
            _duration.Record(duration.TotalSeconds);
        }
    }

    // The verbs' names as they go on the wire, made once: a command is counted without allocating.
    private static readonly string[] s_commandNames = [.. Enum.GetValues<SmtpVerb>().Select(verb => verb.ToString().ToUpperInvariant())];

    /// <summary>Counts a command that was answered, with <c>error.type</c> when it was refused.</summary>
    internal void Command(SmtpVerb verb, string? refusal)
    {
        if (_commands.Enabled)
        {
            var tags = new TagList { { "mail.smtp.command", s_commandNames[(int)verb] } };
            if (refusal is not null)
            {
                tags.Add("error.type", refusal);
            }
            _commands.Add(1, tags);
        }
    }

    internal void MessageReceived(long size)
    {
        _messages.Add(1);
        _bytes.Add(size);
        if (_sizes.Enabled)
        {
            _sizes.Record(size);
        }
    }

    internal void Rejected(SmtpRejectReason reason)
    {
        if (_errors.Enabled)
        {
            _errors.Add(1, new TagList { { "error.type", reason.ToString() } });
        }
    }
}
