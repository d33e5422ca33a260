using System.Diagnostics;
using System.Diagnostics.Metrics;
using Mail.Protocols.Pop3.Protocol;

namespace Mail.Protocols.Pop3.Telemetry;

/// <summary>The POP3 server's instruments (meter <c>Mail.Protocols.Pop3</c>); see docs/telemetry.md.</summary>
public static class Pop3Metrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Mail.Protocols.Pop3";

    private static readonly Meter s_meter = new(MeterName, "0.1.0");
    private static readonly UpDownCounter<long> s_active = s_meter.CreateUpDownCounter<long>("mail.pop3.active_sessions", "{session}", "POP3 sessions in progress.");
    private static readonly Counter<long> s_commands = s_meter.CreateCounter<long>("mail.pop3.commands", "{command}", "POP3 commands received, by keyword.");
    private static readonly Counter<long> s_messages = s_meter.CreateCounter<long>("mail.pop3.messages.sent", "{message}", "Messages sent by RETR and TOP.");
    private static readonly Counter<long> s_bytes = s_meter.CreateCounter<long>("mail.pop3.sent.bytes", "By", "Octets of messages sent (before dot-stuffing).");
    private static readonly Counter<long> s_errors = s_meter.CreateCounter<long>("mail.pop3.errors", "{error}", "Refused commands, by error.type.");

    internal static void SessionStarted() => s_active.Add(1);

    internal static void SessionEnded() => s_active.Add(-1);

    internal static void Command(Pop3Verb verb)
    {
        if (s_commands.Enabled)
        {
            s_commands.Add(1, new TagList { { "mail.pop3.command", verb.ToString().ToUpperInvariant() } });
        }
    }

    internal static void MessageSent(long size)
    {
        s_messages.Add(1);
        s_bytes.Add(size);
    }

    internal static void Rejected(Pop3RejectReason reason)
    {
        if (s_errors.Enabled)
        {
            s_errors.Add(1, new TagList { { "error.type", reason.ToString() } });
        }
    }
}
