using System.Diagnostics;
using System.Diagnostics.Metrics;
using Mail.Protocols.Smtp.Protocol;

namespace Mail.Protocols.Smtp.Telemetry;

/// <summary>The SMTP server's instruments (meter <c>Mail.Protocols.Smtp</c>); see docs/telemetry.md.</summary>
public static class SmtpMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Mail.Protocols.Smtp";

    private static readonly Meter s_meter = new(MeterName, "0.1.0");
    private static readonly UpDownCounter<long> s_active = s_meter.CreateUpDownCounter<long>("mail.smtp.active_sessions", "{session}", "SMTP sessions in progress.");
    private static readonly Histogram<double> s_duration = s_meter.CreateHistogram<double>("mail.smtp.session.duration", "s", "Duration of SMTP sessions.");
    private static readonly Counter<long> s_commands = s_meter.CreateCounter<long>("mail.smtp.commands", "{command}", "SMTP commands received, by verb.");
    private static readonly Counter<long> s_messages = s_meter.CreateCounter<long>("mail.smtp.messages.received", "{message}", "Messages accepted and stored.");
    private static readonly Counter<long> s_bytes = s_meter.CreateCounter<long>("mail.smtp.received.bytes", "By", "Octets of accepted messages.");
    private static readonly Counter<long> s_errors = s_meter.CreateCounter<long>("mail.smtp.errors", "{error}", "Refused commands, by error.type.");

    internal static void SessionStarted() => s_active.Add(1);

    internal static void SessionEnded(TimeSpan duration)
    {
        s_active.Add(-1);
        if (s_duration.Enabled)
        {
            s_duration.Record(duration.TotalSeconds);
        }
    }

    internal static void Command(SmtpVerb verb)
    {
        if (s_commands.Enabled)
        {
            s_commands.Add(1, new TagList { { "mail.smtp.command", verb.ToString().ToUpperInvariant() } });
        }
    }

    internal static void MessageReceived(long size)
    {
        s_messages.Add(1);
        s_bytes.Add(size);
    }

    internal static void Rejected(SmtpRejectReason reason)
    {
        if (s_errors.Enabled)
        {
            s_errors.Add(1, new TagList { { "error.type", reason.ToString() } });
        }
    }
}
