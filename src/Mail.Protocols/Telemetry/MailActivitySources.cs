namespace Mail.Protocols.Telemetry;

/// <summary>
/// The names of the activity sources (OpenTelemetry tracers) the servers start spans on; docs/telemetry.md lists the
/// spans and their attributes. What to give an OpenTelemetry <c>AddSource</c> call or an <c>ActivityListener</c>.
/// </summary>
public static class MailActivitySources
{
    /// <summary>The SMTP server: a span per AUTH and per message transaction, with the store appends and queue entries it makes.</summary>
    public const string Smtp = "Mail.Protocols.Smtp";

    /// <summary>The delivery agent: a span per delivery attempt to a domain, in the trace of the session that accepted the message.</summary>
    public const string Delivery = "Mail.Protocols.Delivery";

    /// <summary>The POP3 server: a span per login and per command that reads or changes the maildrop.</summary>
    public const string Pop3 = "Mail.Protocols.Pop3";

    /// <summary>The IMAP server: a span per command after the greeting (CAPABILITY, ID, LOGOUT and STARTTLS aside).</summary>
    public const string Imap = "Mail.Protocols.Imap";

    /// <summary>Every source above.</summary>
    public static IReadOnlyList<string> All { get; } = [Smtp, Delivery, Pop3, Imap];
}
