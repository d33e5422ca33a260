// A line-oriented client connection for POP3 and SMTP over a raw socket, with a line buffer: used by Pop3Load and
// linked into benchmarks/Soak (which reads POP3 and sends SMTP with it). No packages.

using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;

/// <summary>A client connection with a receive buffer that hands out lines.</summary>
internal sealed class Connection : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private Connection(Socket socket) => _socket = socket;

    public static async Task<Connection> OpenAsync(string host, int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(host), port), cancellationToken);
            return new Connection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var sent = await _socket.SendAsync(data, SocketFlags.None, cancellationToken);
            data = data[sent..];
        }
    }

    public ValueTask SendAsync(string line, CancellationToken cancellationToken) =>
        SendAsync(Encoding.ASCII.GetBytes(line + "\r\n"), cancellationToken);

    /// <summary>The next line without its CRLF (or bare LF); valid until the next call.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var length = newline > 0 && _buffer[_start + newline - 1] == (byte)'\r' ? newline - 1 : newline;
                var line = new ReadOnlyMemory<byte>(_buffer, _start, length);
                _start += newline + 1;
                return line;
            }
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length)
            {
                throw new ProtocolException($"a line longer than {_buffer.Length} octets");
            }
            var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                throw new ProtocolException("the server closed the connection");
            }
            _end += read;
        }
    }

    /// <summary>A line that must start with +OK; returns the text after it.</summary>
    public async ValueTask<string> ExpectOkAsync(string what, CancellationToken cancellationToken)
    {
        var line = await ReadLineAsync(cancellationToken);
        if (!line.Span.StartsWith("+OK"u8))
        {
            throw new ProtocolException($"{what}: {Encoding.ASCII.GetString(line.Span)}");
        }
        return Encoding.ASCII.GetString(line.Span[3..]).Trim();
    }

    /// <summary>Reads until the server closes the connection; fails if it sends anything more.</summary>
    public async ValueTask ExpectCloseAsync(CancellationToken cancellationToken)
    {
        if (_end > _start)
        {
            throw new ProtocolException("data after the QUIT reply");
        }
        var scratch = new byte[256];
        if (await _socket.ReceiveAsync(scratch, SocketFlags.None, cancellationToken) != 0)
        {
            throw new ProtocolException("data after the QUIT reply");
        }
    }

    /// <summary>The last line of the last SMTP reply read, for messages about it.</summary>
    public string LastReply { get; private set; } = "";

    /// <summary>An SMTP reply (multi-line aware); returns its code.</summary>
    public async ValueTask<int> ReadSmtpReplyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken);
            if (line.Length < 3 || !Utf8Parser.TryParse(line.Span[..3], out int code, out _))
            {
                throw new ProtocolException($"bad SMTP reply: {Encoding.ASCII.GetString(line.Span)}");
            }
            if (line.Length == 3 || line.Span[3] != (byte)'-')
            {
                LastReply = Encoding.ASCII.GetString(line.Span);
                return code;
            }
        }
    }

    /// <summary>The lines of a POP3 multi-line response up to its "." line, each leading dot of a stuffed line
    /// taken off and each line ended with CRLF, appended to <paramref name="into"/> (RFC 1939 section 3).</summary>
    public async ValueTask ReadDotTerminatedAsync(ArrayBufferWriter<byte> into, int maxOctets, CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = (await ReadLineAsync(cancellationToken)).Span;
            if (line.Length > 0 && line[0] == (byte)'.')
            {
                if (line.Length == 1)
                {
                    return;
                }
                line = line[1..];
            }
            if (into.WrittenCount + line.Length + 2 > maxOctets)
            {
                throw new ProtocolException($"a multi-line response longer than {maxOctets} octets");
            }
            into.Write(line);
            into.Write("\r\n"u8);
        }
    }

    /// <summary>The message as SMTP DATA: lines starting with a dot get another, then the final dot line.</summary>
    public static byte[] DotStuffed(byte[] message)
    {
        var output = new List<byte>(message.Length + 256);
        var lineStart = true;
        foreach (var b in message)
        {
            if (lineStart && b == (byte)'.')
            {
                output.Add((byte)'.');
            }
            output.Add(b);
            lineStart = b == (byte)'\n';
        }
        output.AddRange(".\r\n"u8);
        return [.. output];
    }

    public void Dispose() => _socket.Dispose();
}
