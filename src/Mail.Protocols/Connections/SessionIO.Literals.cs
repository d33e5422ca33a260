namespace Mail.Protocols.Connections;

// Length-delimited reads: the octets after a line that announced their number.
public sealed partial class SessionIO
{
    /// <summary>
    /// Starts reading exactly <paramref name="length"/> octets from the connection (after the line that announced
    /// them), under <paramref name="options"/>' deadline and minimum rate (<see cref="LiteralReadOptions.Default"/>
    /// if null). A go-ahead the client waits for (IMAP's <c>+</c> before a synchronising literal) must be flushed
    /// first (<see cref="FlushAsync"/>). The line last read stays valid during the literal.
    /// </summary>
    public LiteralRead BeginLiteral(long length, LiteralReadOptions? options = null)
    {
        ThrowIfReadPending();
        return new(_connection, _input, length, options ?? LiteralReadOptions.Default);
    }

    /// <summary>Reads and drops exactly <paramref name="length"/> octets (a refused literal or chunk).</summary>
    /// <exception cref="LiteralReadException">The connection closed, or the deadline or minimum rate was missed.</exception>
    public ValueTask SkipLiteralAsync(long length, LiteralReadOptions? options = null) =>
        BeginLiteral(length, options).SkipRestAsync();
}
