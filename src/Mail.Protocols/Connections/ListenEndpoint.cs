using System.Net;

namespace Mail.Protocols.Connections;

/// <summary>An address to listen on.</summary>
/// <param name="EndPoint">Address and port (port 0 picks a free port; see <see cref="MailListener.BoundEndPoints"/>).</param>
/// <param name="ImplicitTls">Whether TLS starts right after accept (ports 465, 995, 993 style).</param>
/// <param name="Name">A name for logs and for the engine (for example "submission").</param>
public sealed record ListenEndpoint(IPEndPoint EndPoint, bool ImplicitTls = false, string? Name = null);

/// <summary>
/// Limits on connections, enforced at accept. The total default lets one host hold 10,000 idle connections per
/// listener (an idle connection costs a few KiB; see docs/performance.md); the process's open-files limit
/// must allow as many descriptors.
/// </summary>
public sealed class ConnectionLimits
{
    private int _maxConnections = 10_000;
    private int _maxConnectionsPerAddress = 50;

    /// <summary>Total concurrent connections per listener. Defaults to 10,000.</summary>
    public int MaxConnections
    {
        get => _maxConnections;
        set => _maxConnections = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "Must be positive.");
    }

    /// <summary>Concurrent connections from one IP address. Defaults to 50.</summary>
    public int MaxConnectionsPerAddress
    {
        get => _maxConnectionsPerAddress;
        set => _maxConnectionsPerAddress = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "Must be positive.");
    }
}

/// <summary>What a protocol engine gives the listener: a session per connection and the reply for refused connections.</summary>
internal interface IConnectionHandler
{
    /// <summary>The protocol's name for logs and metrics ("smtp", "pop3", "imap").</summary>
    string Protocol { get; }

    /// <summary>The line sent to a client refused because a connection limit is reached (for SMTP a 421 reply).</summary>
    ReadOnlyMemory<byte> TooManyConnectionsReply { get; }

    /// <summary>Runs the session of one connection until it ends.</summary>
    Task RunSessionAsync(MailConnection connection, ListenEndpoint endpoint);
}
