namespace Mail.Protocols.Connections;

/// <summary>Why a length-delimited read ended before its last octet.</summary>
public enum LiteralReadFailure
{
    /// <summary>The client closed the connection (or it was aborted).</summary>
    Closed,
    /// <summary>The read's deadline or minimum data rate was missed (<see cref="MailConnection.TimedOut"/> says which deadline).</summary>
    TimedOut,
}

/// <summary>
/// Thrown by a <see cref="LiteralRead"/> (and the stream over it) when the connection ends or times out before
/// the announced octets arrived. It is an <see cref="IOException"/>, so
/// <see cref="MailConnection.IsConnectionFailure"/> counts it as the connection's failure, and a store's
/// <c>AppendAsync</c> reading the stream fails instead of storing a partial message.
/// </summary>
public sealed class LiteralReadException : IOException
{
    /// <summary>Creates the exception.</summary>
    public LiteralReadException(LiteralReadFailure failure, long missing)
        : base(failure == LiteralReadFailure.Closed
            ? $"The connection closed with {missing} octets of the literal still to come."
            : $"The literal's deadline passed with {missing} octets still to come.")
    {
        Failure = failure;
        Missing = missing;
    }

    /// <summary>Why the read ended.</summary>
    public LiteralReadFailure Failure { get; }

    /// <summary>How many announced octets never arrived.</summary>
    public long Missing { get; }
}
