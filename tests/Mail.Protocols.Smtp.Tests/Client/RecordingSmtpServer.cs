using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Mail.Protocols.Smtp.Tests.Client;

/// <summary>
/// A scripted SMTP server on 127.0.0.1 that offers STARTTLS with a given certificate and AUTH PLAIN LOGIN, says
/// yes to everything, and writes down every line a client sends (with "* TLS" where the handshake completed).
/// It plays a smart host an attacker set up: whatever reaches its transcript has left the client.
/// </summary>
internal sealed class RecordingSmtpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly X509Certificate2 _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly ConcurrentQueue<string> _transcript = new();

    public RecordingSmtpServer(X509Certificate2 certificate)
    {
        _certificate = certificate;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Every line received, in order, across connections.</summary>
    public IReadOnlyList<string> Transcript => [.. _transcript];

    private async Task AcceptAsync()
    {
        var sessions = new List<Task>();
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                sessions.Add(SessionAsync(socket));
            }
        }
        catch (OperationCanceledException)
        {
        }
        await Task.WhenAll(sessions);
    }

    private async Task SessionAsync(Socket socket)
    {
        using var _ = socket;
        Stream stream = new NetworkStream(socket, ownsSocket: false);
        try
        {
            var reader = new LineReader(stream);
            await WriteAsync(stream, "220 smart.example.test ESMTP");
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                _transcript.Enqueue(line);
                var verb = line.Split(' ')[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await WriteAsync(stream, stream is SslStream
                            ? "250-smart.example.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME"
                            : "250-smart.example.test\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME");
                        break;
                    case "STARTTLS":
                        await WriteAsync(stream, "220 2.0.0 go ahead");
                        var tls = new SslStream(stream);
                        await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, _stop.Token);
                        stream = tls;
                        reader = new LineReader(stream);
                        _transcript.Enqueue("* TLS");
                        break;
                    case "AUTH":
                        await WriteAsync(stream, "235 2.7.0 accepted");
                        break;
                    case "DATA":
                        await WriteAsync(stream, "354 go on");
                        while (await reader.ReadLineAsync(_stop.Token) is { } data && data != ".")
                        {
                        }
                        _transcript.Enqueue("<message>");
                        await WriteAsync(stream, "250 2.0.0 queued");
                        break;
                    case "QUIT":
                        await WriteAsync(stream, "221 2.0.0 bye");
                        return;
                    default:
                        await WriteAsync(stream, "250 2.0.0 ok");
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            // The client gave up (a refused certificate ends the handshake from its side).
        }
        finally
        {
            await stream.DisposeAsync();
        }
    }

    private static async Task WriteAsync(Stream stream, string reply)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes(reply + "\r\n"));
        await stream.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }

    // Reads CRLF-terminated lines one byte at a time (no read-ahead, so nothing is lost across STARTTLS).
    private sealed class LineReader(Stream stream)
    {
        private readonly byte[] _one = new byte[1];

        public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
        {
            var line = new List<byte>();
            while (await stream.ReadAsync(_one, cancellationToken) == 1)
            {
                if (_one[0] == (byte)'\n')
                {
                    return Encoding.UTF8.GetString([.. line]).TrimEnd('\r');
                }
                line.Add(_one[0]);
            }
            return null;
        }
    }
}
