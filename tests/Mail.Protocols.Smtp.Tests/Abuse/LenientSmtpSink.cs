using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mail.Protocols.Smtp.Tests.Abuse;

/// <summary>
/// A next hop as sloppy as the servers SMTP smuggling exploits: it ends a command line at a bare CR or LF as well as at
/// CRLF, and ends DATA at the first of "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n" or "\r\n.\r\n". It offers
/// PIPELINING and 8BITMIME but not CHUNKING, so a client must use DATA. Whatever a client sends that such a server
/// would read as a second transaction shows up here as a second MAIL command.
/// </summary>
internal sealed class LenientSmtpSink : IAsyncDisposable
{
    private static readonly byte[][] s_terminators =
        ["\n.\n"u8.ToArray(), "\r.\r"u8.ToArray(), "\n.\r\n"u8.ToArray(), "\r\n.\n"u8.ToArray(), "\r.\r\n"u8.ToArray()];

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly ConcurrentQueue<string> _commands = new();
    private readonly ConcurrentQueue<byte[]> _messages = new();

    public LenientSmtpSink()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Every command line received, in order, across connections.</summary>
    public IReadOnlyList<string> Commands => [.. _commands];

    /// <summary>The data of every message as this server saw it end (still dot-stuffed, terminator removed).</summary>
    public IReadOnlyList<byte[]> Messages => [.. _messages];

    private async Task AcceptAsync()
    {
        var sessions = new List<Task>();
        try
        {
            while (true)
            {
                sessions.Add(SessionAsync(await _listener.AcceptSocketAsync(_stop.Token)));
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
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var input = new List<byte>();
        var buffer = new byte[8192];
        async Task<bool> FillAsync()
        {
            var n = await stream.ReadAsync(buffer, _stop.Token);
            input.AddRange(buffer.AsSpan(0, n));
            return n > 0;
        }
        try
        {
            await WriteAsync(stream, "220 sink.example.test ESMTP");
            while (true)
            {
                // A command line ends at CR, LF or CRLF.
                var end = input.FindIndex(b => b is (byte)'\r' or (byte)'\n');
                if (end < 0)
                {
                    if (!await FillAsync())
                    {
                        return;
                    }
                    continue;
                }
                var line = Encoding.UTF8.GetString([.. input.Take(end)]);
                var skip = end + 1 < input.Count && input[end] == (byte)'\r' && input[end + 1] == (byte)'\n' ? 2 : 1;
                input.RemoveRange(0, end + skip);
                if (line.Length == 0)
                {
                    continue;
                }
                _commands.Enqueue(line);
                var verb = line.Split(' ')[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await WriteAsync(stream, "250-sink.example.test\r\n250-PIPELINING\r\n250 8BITMIME");
                        break;
                    case "DATA":
                        await WriteAsync(stream, "354 go on");
                        input.InsertRange(0, "\r\n"u8.ToArray()); // the data starts at a line start
                        int at;
                        int length;
                        while ((at = FindTerminator(input, out length)) < 0)
                        {
                            if (!await FillAsync())
                            {
                                return;
                            }
                        }
                        _messages.Enqueue([.. input.Skip(2).Take(Math.Max(0, at - 2))]);
                        input.RemoveRange(0, at + length);
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
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
        }
    }

    // The earliest end of data a lenient server would see; its length in `length`.
    private static int FindTerminator(List<byte> input, out int length)
    {
        var data = input.ToArray().AsSpan();
        var best = -1;
        length = 0;
        foreach (var terminator in (byte[][])[.. s_terminators, "\r\n.\r\n"u8.ToArray()])
        {
            var at = data.IndexOf(terminator);
            if (at >= 0 && (best < 0 || at < best || (at == best && terminator.Length > length)))
            {
                best = at;
                length = terminator.Length;
            }
        }
        return best;
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
}
