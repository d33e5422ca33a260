using System.Net;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Telemetry;

// Connection-level events shared by every engine. Event ids 1–999 (SMTP uses 1000s, POP3 2000s, IMAP 3000s).
internal static partial class CoreLog
{
    [LoggerMessage(1, LogLevel.Information, "{Protocol} listening on {EndPoint} (implicit TLS: {ImplicitTls})")]
    public static partial void Listening(ILogger logger, string protocol, IPEndPoint endPoint, bool implicitTls);

    [LoggerMessage(2, LogLevel.Debug, "Connection {ConnectionId} from {RemoteEndPoint} on {Endpoint}")]
    public static partial void ConnectionAccepted(ILogger logger, string connectionId, string remoteEndPoint, string endpoint);

    [LoggerMessage(3, LogLevel.Debug, "Connection {ConnectionId} closed")]
    public static partial void ConnectionClosed(ILogger logger, string connectionId);

    [LoggerMessage(4, LogLevel.Warning, "Connection from {RemoteEndPoint} refused: connection limit reached")]
    public static partial void ConnectionRefused(ILogger logger, string remoteEndPoint);

    [LoggerMessage(5, LogLevel.Warning, "Accept failed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(6, LogLevel.Information, "Connection {ConnectionId}: TLS handshake failed")]
    public static partial void TlsHandshakeFailed(ILogger logger, string connectionId);

    [LoggerMessage(7, LogLevel.Error, "Connection {ConnectionId}: session failed")]
    public static partial void SessionFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(8, LogLevel.Warning, "Connection {ConnectionId}: discarded {Count} octets pipelined after a TLS upgrade command")]
    public static partial void PipelinedPlaintextDiscarded(ILogger logger, string connectionId, long count);
}
