namespace Mail.Protocols.Telemetry;

/// <summary>
/// The names of the activity sources (OpenTelemetry tracers) the servers start spans on; docs/telemetry.md lists the
/// spans and their attributes. What to give an OpenTelemetry <c>AddSource</c> call or an <c>ActivityListener</c>.
/// </summary>
public static class MailActivitySources
{
    /// <summary>The SMTP server: a span per message transaction, with the store appends and queue entries it makes.</summary>
    public const string Smtp = "Mail.Protocols.Smtp";

    /// <summary>The delivery agent: a span per delivery attempt to a domain, in the trace of the session that accepted the message.</summary>
    public const string Delivery = "Mail.Protocols.Delivery";

    /// <summary>Every source above.</summary>
    public static IReadOnlyList<string> All { get; } = [Smtp, Delivery];
}
