using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using Mail.Protocols.Telemetry;
using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Telemetry;

/// <summary>
/// The IMAP server's instruments (meter <c>Mail.Protocols.Imap</c>); see docs/telemetry.md. A server given an
/// <see cref="IMeterFactory"/> records on a meter of its own from that factory; without one, on the process-wide
/// meter of the same name.
/// </summary>
internal sealed class ImapMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = MailMeters.Imap;

    // The instrumentation's version: the assembly's (without SourceLink's "+commit").
    private static readonly string? s_version = typeof(ImapMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0];
    private static readonly ImapMetrics s_shared = new(new Meter(MeterName, s_version));
    private readonly UpDownCounter<long> _active;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _commands;
    private readonly Counter<long> _errors;
    private readonly Counter<long> _appended;

    private ImapMetrics(Meter meter)
    {
        _active = meter.CreateUpDownCounter<long>("mail.imap.active_sessions", "{session}", "IMAP sessions in progress.");
        _duration = meter.CreateHistogram<double>("mail.imap.session.duration", "s", "Duration of IMAP sessions.");
        _commands = meter.CreateCounter<long>("mail.imap.commands", "{command}", "IMAP commands answered, by name, with error.type when refused.");
        _errors = meter.CreateCounter<long>("mail.imap.errors", "{error}", "Refused commands, by error.type.");
        _appended = meter.CreateCounter<long>("mail.imap.appended.size", "By", "Octets of messages stored by APPEND.");
    }

    /// <summary>The instruments on a meter from <paramref name="meterFactory"/>, or the process-wide ones when it is null.</summary>
    internal static ImapMetrics For(IMeterFactory? meterFactory) =>
        meterFactory is null ? s_shared : new ImapMetrics(meterFactory.Create(new MeterOptions(MeterName) { Version = s_version }));

    internal void SessionStarted() => _active.Add(1);

    internal void SessionEnded(TimeSpan duration)
    {
        _active.Add(-1);
        if (_duration.Enabled)
        {
            _duration.Record(duration.TotalSeconds);
        }
    }

    /// <summary>Counts a command that was answered, with <c>error.type</c> when it was refused.</summary>
    internal void Command(string name, string? refusal)
    {
        if (_commands.Enabled)
        {
            var tags = new TagList { { "mail.imap.command", name } };
            if (refusal is not null)
            {
                tags.Add("error.type", refusal);
            }
            _commands.Add(1, tags);
        }
    }

    internal void Rejected(ImapRejectReason reason)
    {
        if (_errors.Enabled)
        {
            _errors.Add(1, new TagList { { "error.type", ImapReplies.ErrorType(reason) } });
        }
    }

    internal void Appended(long octets) => _appended.Add(octets);
}
