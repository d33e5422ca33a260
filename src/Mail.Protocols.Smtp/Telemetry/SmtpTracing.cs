using System.Diagnostics;
using System.Reflection;
using Mail.Protocols.Telemetry;

namespace Mail.Protocols.Smtp.Telemetry;

/// <summary>
/// The SMTP assembly's activity sources (docs/telemetry.md, "Spans"). A span is made only while something listens
/// (<see cref="ActivitySource.StartActivity(string, ActivityKind)"/> returns null otherwise), so tracing costs nothing
/// when it is off.
/// </summary>
internal static class SmtpTracing
{
    private static readonly string? s_version = typeof(SmtpTracing).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0];

    /// <summary>The server's spans: <c>smtp.message</c>, <c>mail.store.append</c>, <c>mail.queue.enqueue</c>.</summary>
    public static ActivitySource Smtp { get; } = new(MailActivitySources.Smtp, s_version);

    /// <summary>The delivery agent's spans: <c>delivery.attempt</c>.</summary>
    public static ActivitySource Delivery { get; } = new(MailActivitySources.Delivery, s_version);
}
