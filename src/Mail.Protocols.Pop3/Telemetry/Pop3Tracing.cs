using System.Diagnostics;
using System.Reflection;
using Mail.Protocols.Telemetry;

namespace Mail.Protocols.Pop3.Telemetry;

/// <summary>The POP3 server's activity source (docs/telemetry.md, "Spans"); a span is made only while something listens.</summary>
internal static class Pop3Tracing
{
    /// <summary>The server's spans: one per traced command, named "POP3 " and the command.</summary>
    public static ActivitySource Source { get; } = new(MailActivitySources.Pop3,
        typeof(Pop3Tracing).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]);
}
