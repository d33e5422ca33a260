using System.Diagnostics;
using System.Reflection;
using Mail.Protocols.Telemetry;

namespace Mail.Protocols.Imap.Telemetry;

/// <summary>The IMAP server's activity source (docs/telemetry.md, "Spans"); a span is made only while something listens.</summary>
internal static class ImapTracing
{
    /// <summary>The server's spans: one per traced command, named "IMAP " and the command.</summary>
    public static ActivitySource Source { get; } = new(MailActivitySources.Imap,
        typeof(ImapTracing).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]);
}
