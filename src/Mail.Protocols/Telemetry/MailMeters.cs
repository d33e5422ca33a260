namespace Mail.Protocols.Telemetry;

/// <summary>
/// The names of the meters the servers record on (docs/telemetry.md lists their instruments): what to give an
/// OpenTelemetry <c>AddMeter</c> call or a <c>MeterListener</c>.
/// </summary>
public static class MailMeters
{
    /// <summary>Connections, TLS and rate limits, for every protocol.</summary>
    public const string Connections = "Mail.Protocols";

    /// <summary>The SMTP server.</summary>
    public const string Smtp = "Mail.Protocols.Smtp";

    /// <summary>The POP3 server.</summary>
    public const string Pop3 = "Mail.Protocols.Pop3";

    /// <summary>The IMAP server.</summary>
    public const string Imap = "Mail.Protocols.Imap";

    /// <summary>The delivery agent.</summary>
    public const string Delivery = "Mail.Protocols.Delivery";

    /// <summary>The mailbox store's operations, measured by <see cref="Storage.MailboxStoreMetrics.WithMetrics"/>.</summary>
    public const string Store = "Mail.Protocols.Store";

    /// <summary>Every meter above.</summary>
    public static IReadOnlyList<string> All { get; } = [Connections, Smtp, Pop3, Imap, Delivery, Store];
}
