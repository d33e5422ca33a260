// The floor for benchmarks/e2e/smtp-load.sh: the least a .NET server on System.IO.Pipelines can do and
// still complete an SMTP dialogue. Its CPU per message is what the platform costs; our server's is compared
// with it.
//
// It answers by the first four octets of each command with a fixed reply, consumes DATA up to CRLF.CRLF
// and drops it, counting messages and octets. It parses no addresses, checks no sequence of commands,
// stores nothing and enforces no limit but a line length: never a product.
//
// Usage: PipelinesSink --port 2527
//
// Prints "ready 127.0.0.1:PORT" once the listener is bound. On SIGHUP it prints
// "stats messages=N bytes=B" and keeps running; on SIGTERM or Ctrl+C it prints the same line and exits.

using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

var port = 2527;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--port" when i + 1 < args.Length:
            port = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        default:
            Console.Error.WriteLine("usage: PipelinesSink --port PORT");
            return 2;
    }
}

using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
listener.Listen(512);
Console.WriteLine($"ready {listener.LocalEndPoint}");

using var stop = new CancellationTokenSource();

static void PrintStats() => Console.WriteLine($"stats messages={Session.Messages} bytes={Session.Bytes}");

using var onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
{
    context.Cancel = true;
    PrintStats();
});
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

try
{
    while (true)
    {
        var socket = await listener.AcceptAsync(stop.Token);
        socket.NoDelay = true;
        _ = new Session(socket).RunAsync();
    }
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
}

PrintStats();
return 0;

/// <summary>One connection: read, answer every complete command in the buffer, flush once, repeat.</summary>
sealed class Session(Socket socket)
{
    private const int MaxLine = 4096;

    // The first four octets of a verb, lower-cased, as a little-endian integer.
    private const uint Helo = 'h' | 'e' << 8 | 'l' << 16 | 'o' << 24;
    private const uint Ehlo = 'e' | 'h' << 8 | 'l' << 16 | 'o' << 24;
    private const uint Mail = 'm' | 'a' << 8 | 'i' << 16 | 'l' << 24;
    private const uint Rcpt = 'r' | 'c' << 8 | 'p' << 16 | 't' << 24;
    private const uint Rset = 'r' | 's' << 8 | 'e' << 16 | 't' << 24;
    private const uint Noop = 'n' | 'o' << 8 | 'o' << 16 | 'p' << 24;
    private const uint Data = 'd' | 'a' << 8 | 't' << 16 | 'a' << 24;
    private const uint Quit = 'q' | 'u' << 8 | 'i' << 16 | 't' << 24;

    // The same buffer sizes and zero-byte reads as our server's connections, so the two differ in the protocol work only.
    private static readonly StreamPipeReaderOptions s_readerOptions = new(bufferSize: 8192, minimumReadSize: 2048, useZeroByteReads: true);
    private static readonly StreamPipeWriterOptions s_writerOptions = new(minimumBufferSize: 8192);

    private static long s_messages;
    private static long s_bytes;

    // "\r\n.\r\n", matched across reads: _matched is how much of it ends the data seen so far.
    private static ReadOnlySpan<byte> Terminator => "\r\n.\r\n"u8;
    private bool _inData;
    private int _matched;
    private long _dataOctets;

    public static long Messages => Interlocked.Read(ref s_messages);

    public static long Bytes => Interlocked.Read(ref s_bytes);

    public async Task RunAsync()
    {
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        var input = PipeReader.Create(stream, s_readerOptions);
        var output = PipeWriter.Create(stream, s_writerOptions);
        try
        {
            output.Write("220 sink ESMTP\r\n"u8);
            await output.FlushAsync();
            while (true)
            {
                var result = await input.ReadAsync();
                var consumed = Answer(result.Buffer, output, out var close);
                input.AdvanceTo(consumed, result.Buffer.End);
                if (output.UnflushedBytes > 0)
                {
                    await output.FlushAsync();
                }
                if (close || result.IsCompleted)
                {
                    break;
                }
            }
            await input.CompleteAsync();
            await output.CompleteAsync();
        }
        catch (IOException)
        {
            // The client went away: closing the socket is all there is to do.
        }
    }

    /// <summary>Consumes every complete command and data run in the buffer and writes the replies; returns how far it got.</summary>
    private SequencePosition Answer(ReadOnlySequence<byte> buffer, PipeWriter output, out bool close)
    {
        var reader = new SequenceReader<byte>(buffer);
        close = false;
        while (!reader.End)
        {
            if (_inData)
            {
                if (!SkipData(ref reader))
                {
                    break;
                }
                output.Write("250 OK\r\n"u8);
                continue;
            }
            if (!reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8))
            {
                close = reader.Remaining > MaxLine;
                break;
            }
            if (line.Length > MaxLine)
            {
                close = true;
                break;
            }
            switch (line.Length < 4 ? 0 : FirstFourLowered(line))
            {
                case Ehlo:
                    output.Write("250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE\r\n"u8);
                    break;
                case Helo or Mail or Rcpt or Rset or Noop:
                    output.Write("250 OK\r\n"u8);
                    break;
                case Data:
                    output.Write("354 end with <CRLF>.<CRLF>\r\n"u8);
                    _inData = true;
                    // The DATA line's own CRLF counts, so an empty message's ".\r\n" ends it.
                    _matched = 2;
                    _dataOctets = 0;
                    break;
                case Quit:
                    output.Write("221 bye\r\n"u8);
                    close = true;
                    return reader.Position;
                default:
                    output.Write("500 unrecognized command\r\n"u8);
                    break;
            }
        }
        return reader.Position;
    }

    // ORing 0x20 lower-cases letters; other octets do not matter, as no verb has them.
    private static uint FirstFourLowered(ReadOnlySequence<byte> line)
    {
        if (line.FirstSpan.Length >= 4)
        {
            return BinaryPrimitives.ReadUInt32LittleEndian(line.FirstSpan) | 0x20202020;
        }
        Span<byte> verb = stackalloc byte[4];
        line.Slice(0, 4).CopyTo(verb);
        return BinaryPrimitives.ReadUInt32LittleEndian(verb) | 0x20202020;
    }

    /// <summary>Advances past message data; true once CRLF.CRLF has been consumed and the message counted.</summary>
    private bool SkipData(ref SequenceReader<byte> reader)
    {
        while (!reader.End)
        {
            var span = reader.UnreadSpan;
            var i = 0;
            while (i < span.Length)
            {
                if (_matched == 0)
                {
                    // Outside a possible terminator only a CR matters: jump to the next one.
                    var cr = span[i..].IndexOf((byte)'\r');
                    if (cr < 0)
                    {
                        i = span.Length;
                        break;
                    }
                    i += cr;
                }
                var octet = span[i++];
                if (octet == Terminator[_matched])
                {
                    _matched++;
                }
                else
                {
                    // After a mismatch the only partial terminator left is a lone CR.
                    _matched = octet == '\r' ? 1 : 0;
                }
                if (_matched == Terminator.Length)
                {
                    reader.Advance(i);
                    // The message's octets as sent, without the final ".\r\n".
                    _dataOctets += i - 3;
                    Interlocked.Increment(ref s_messages);
                    Interlocked.Add(ref s_bytes, _dataOctets);
                    _inData = false;
                    return true;
                }
            }
            reader.Advance(i);
            _dataOctets += i;
        }
        return false;
    }
}
