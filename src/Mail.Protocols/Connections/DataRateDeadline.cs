namespace Mail.Protocols.Connections;

/// <summary>
/// The deadline of one transfer of message data (an SMTP DATA or BDAT chunk, an IMAP literal): before each wait for
/// more octets it arms the connection's deadline with the shorter of the inactivity limit and what the minimum data
/// rate still allows. The rate is an average counted from the start of the transfer, as Kestrel counts its minimum
/// request body rate: after <c>n</c> octets the transfer may have lasted at most
/// <c>GracePeriod + n / MinimumDataRate</c> seconds, so a client that drips an octet just inside every inactivity
/// limit is cut once its average falls below the floor, and a fast start earns slack for a stall later.
/// </summary>
/// <remarks>
/// One rule for every protocol: <see cref="LiteralRead"/> uses it for length-delimited reads and SMTP DATA for its
/// dot-terminated data. The deadline expires with the transfer's own <see cref="TimeoutReason"/> when the inactivity
/// limit was the shorter one, and with <see cref="TimeoutReason.MinimumDataRate"/> when the floor was.
/// </remarks>
public readonly struct DataRateDeadline
{
    private readonly MailConnection _connection;
    private readonly LiteralReadOptions _options;
    private readonly TimeoutReason _reason;
    private readonly long _start;

    /// <summary>Starts the clock of a transfer now.</summary>
    public DataRateDeadline(MailConnection connection, LiteralReadOptions options, TimeoutReason reason)
    {
        _connection = connection;
        _options = options;
        _reason = reason;
        _start = connection.TimeProvider.GetTimestamp();
    }

    /// <summary>Arms the connection's deadline for the next wait, <paramref name="received"/> octets into the transfer.</summary>
    public void Arm(long received)
    {
        var (allowed, reason) = Allowed(_options, received, _connection.TimeProvider.GetElapsedTime(_start), _reason);
        _connection.SetTimeout(allowed, reason);
    }

    /// <summary>
    /// How long the next wait may last, and what its expiry means: the inactivity limit (<paramref name="reason"/>),
    /// or, when it is shorter, what is left of <c>GracePeriod + received / MinimumDataRate</c> after
    /// <paramref name="elapsed"/> (<see cref="TimeoutReason.MinimumDataRate"/>; zero once the floor is missed).
    /// </summary>
    internal static (TimeSpan Allowed, TimeoutReason Reason) Allowed(LiteralReadOptions options, long received, TimeSpan elapsed, TimeoutReason reason)
    {
        var allowed = options.Timeout;
        if (options.MinimumDataRate <= 0)
        {
            return (allowed, reason);
        }
        var earned = options.GracePeriod + TimeSpan.FromSeconds((double)received / options.MinimumDataRate);
        var left = earned - elapsed;
        if (left < TimeSpan.Zero)
        {
            left = TimeSpan.Zero;
        }
        return allowed == Timeout.InfiniteTimeSpan || left < allowed ? (left, TimeoutReason.MinimumDataRate) : (allowed, reason);
    }
}
