using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Mail.Protocols.TestSupport;

/// <summary>
/// A line-at-a-time client over a plain socket, for tests that assert exact replies a client library would hide
/// (POP3 and SMTP alike). Every read gives up after 30 seconds.
/// </summary>
public sealed class RawLineClient : IAsyncDisposable, IDisposable
{
    private readonly TcpClient _tcp;
    private Stream _stream;
    private StreamReader _reader;

    private RawLineClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _reader = new StreamReader(_stream, Encoding.Latin1);
    }

    /// <summary>Connects (the greeting is left for the caller to read).</summary>
    public static async Task<RawLineClient> ConnectAsync(IPEndPoint endPoint)
    {
        var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(endPoint).ConfigureAwait(false);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
        return new RawLineClient(tcp);
    }

    /// <summary>One line without its line end; throws when the server has closed the connection.</summary>
    public async Task<string> ReadLineAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await _reader.ReadLineAsync(timeout.Token).ConfigureAwait(false) ?? throw new IOException("closed by the server");
    }

    /// <summary>Sends <paramref name="line"/> and CRLF, and returns the first line of the reply.</summary>
    public async Task<string> CommandAsync(string line)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\r\n")).ConfigureAwait(false);
        return await ReadLineAsync().ConfigureAwait(false);
    }

    /// <summary>Sends <paramref name="octets"/> as they are, in one write (one packet on loopback when small).</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> octets) => await _stream.WriteAsync(octets).ConfigureAwait(false);

    /// <summary>Sends <paramref name="text"/> (UTF-8) as it is, line ends included, in one write.</summary>
    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>Sends <paramref name="line"/> and CRLF, and returns the last line of the reply (SMTP continues with "250-").</summary>
    public async Task<string> SayAsync(string line)
    {
        var reply = await CommandAsync(line).ConfigureAwait(false);
        while (reply.Length > 3 && reply[3] == '-')
        {
            reply = await ReadLineAsync().ConfigureAwait(false);
        }
        return reply;
    }

    /// <summary>
    /// Starts TLS on the connection (after the server's go-ahead to STLS or STARTTLS), trusting exactly the
    /// certificate <paramref name="expected"/>; the next lines are read and written over TLS.
    /// </summary>
    public async Task StartTlsAsync(X509Certificate2 expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var hash = expected.GetCertHashString();
        var tls = new SslStream(_stream, leaveInnerStreamOpen: true, (_, certificate, _, _) => certificate?.GetCertHashString() == hash);
        await tls.AuthenticateAsClientAsync("localhost").ConfigureAwait(false);
        _stream = tls;
        _reader = new StreamReader(tls, Encoding.Latin1);
    }

    /// <summary>Everything until the server closes the connection.</summary>
    public async Task<string> ReadToEndAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await _reader.ReadToEndAsync(timeout.Token).ConfigureAwait(false);
    }

    public void Dispose() => _tcp.Dispose();

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
