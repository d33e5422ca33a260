namespace Mail.Protocols.Connections;

/// <summary>
/// The deadline of a length-delimited read (<see cref="SessionIO.BeginLiteral"/>): how long each wait for
/// more octets may last, and the minimum average rate the octets must arrive at. Both are enforced by the
/// connection's <see cref="Heartbeat"/>; when the inactivity limit is missed the read ends with
/// <see cref="TimeoutReason.Literal"/>, when the rate is, with <see cref="TimeoutReason.MinimumDataRate"/>. SMTP DATA
/// uses the same settings for its dot-terminated data. The servers build them from
/// <see cref="MailServerOptions.MinimumDataRate"/> and <see cref="MailServerOptions.MinimumDataRateGracePeriod"/>.
/// </summary>
public sealed class LiteralReadOptions
{
    /// <summary>No rate floor, and each wait may last 3 minutes.</summary>
    public static LiteralReadOptions Default { get; } = new();

    /// <summary>
    /// How long one wait for more octets may last (an inactivity limit, re-armed after each portion).
    /// <see cref="Timeout.InfiniteTimeSpan"/> disables it. Defaults to 3 minutes.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>
    /// The minimum average rate, in octets per second, counted from the start of the read after
    /// <see cref="GracePeriod"/>: after <c>n</c> octets the read may have lasted at most
    /// <c>GracePeriod + n / MinimumDataRate</c> seconds. Zero (the default) sets no floor.
    /// </summary>
    public long MinimumDataRate { get; init; }

    /// <summary>The time the rate floor allows before the first octet. Defaults to 10 seconds.</summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromSeconds(10);
}
