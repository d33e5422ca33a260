using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using Mail.Protocols.Telemetry;
using Mail.Protocols.Pop3.Protocol;

namespace Mail.Protocols.Pop3.Telemetry;

/// <summary>
/// The POP3 server's instruments (meter <c>Mail.Protocols.Pop3</c>); see docs/telemetry.md. A server given an
/// <see cref="IMeterFactory"/> records on a meter of its own from that factory; without one, on the process-wide
/// meter of the same name.
/// </summary>
internal sealed class Pop3Metrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = MailMeters.Pop3;

    // The instrumentation's version: the assembly's (without SourceLink's "+commit").
    private static readonly string? s_version = typeof(Pop3Metrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0];
    private static readonly Pop3Metrics s_shared = new(new Meter(MeterName, s_version));
    private readonly UpDownCounter<long> _active;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _commands;
    private readonly Counter<long> _messages;
    private readonly Counter<long> _bytes;
    private readonly Counter<long> _errors;

    private Pop3Metrics(Meter meter)
    {
        _active = meter.CreateUpDownCounter<long>("mail.pop3.active_sessions", "{session}", "POP3 sessions in progress.");
        _duration = meter.CreateHistogram<double>("mail.pop3.session.duration", "s", "Duration of POP3 sessions.");
        _commands = meter.CreateCounter<long>("mail.pop3.commands", "{command}", "POP3 commands answered, by keyword, with error.type when refused.");
        _messages = meter.CreateCounter<long>("mail.pop3.messages.sent", "{message}", "Messages sent by RETR and TOP.");
        _bytes = meter.CreateCounter<long>("mail.pop3.sent.size", "By", "Octets of messages sent (before dot-stuffing).");
        _errors = meter.CreateCounter<long>("mail.pop3.errors", "{error}", "Refused commands, by error.type.");
    }

    /// <summary>The instruments on a meter from <paramref name="meterFactory"/>, or the process-wide ones when it is null.</summary>
    internal static Pop3Metrics For(IMeterFactory? meterFactory) =>
        meterFactory is null ? s_shared : new Pop3Metrics(meterFactory.Create(new MeterOptions(MeterName) { Version = s_version }));

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
    private static readonly string[] s_commandNames = [.. Enum.GetValues<Pop3Verb>().Select(verb => verb.ToString().ToUpperInvariant())];

    /// <summary>Counts a command that was answered, with <c>error.type</c> when it was refused.</summary>
    internal void Command(Pop3Verb verb, string? refusal)
    {
        if (_commands.Enabled)
        {
            var tags = new TagList { { "mail.pop3.command", s_commandNames[(int)verb] } };
            if (refusal is not null)
            {
                tags.Add("error.type", refusal);
            }
            _commands.Add(1, tags);
        }
    }

    internal void MessageSent(long size)
    {
        _messages.Add(1);
        _bytes.Add(size);
    }

    internal void Rejected(Pop3RejectReason reason)
    {
        if (_errors.Enabled)
        {
            _errors.Add(1, new TagList { { "error.type", reason.ToString() } });
        }
    }
}
