using System.Buffers;
using BenchmarkDotNet.Attributes;
using Mail.Protocols.Smtp.Data;
using Mail.Protocols.Smtp.Protocol;
using Mail.Protocols.Text;

namespace Mail.Protocols.Benchmarks;

/// <summary>The command path: line framing, verb recognition and path parsing. Steady state allocates only the address string.</summary>
[MemoryDiagnoser]
public class SmtpParserBenchmarks : ISmokeChecked
{
    private static readonly byte[] s_batch = "EHLO client.example.org\r\nMAIL FROM:<sender@example.org> SIZE=1024 BODY=8BITMIME\r\nRCPT TO:<alice@example.test> NOTIFY=FAILURE,DELAY\r\nDATA\r\nNOOP\r\nRSET\r\n"u8.ToArray();
    private static readonly byte[] s_mail = "MAIL FROM:<sender@example.org> SIZE=1024 BODY=8BITMIME"u8.ToArray();
    private ReadOnlySequence<byte> _multiSegment;

    [GlobalSetup]
    public void Setup() => _multiSegment = Segments.Split(s_batch, 7);

    [Benchmark(Description = "frame+verb, 6 pipelined lines, one segment")]
    public int FrameAndVerbs() => FrameAndVerbs(new ReadOnlySequence<byte>(s_batch));

    [Benchmark(Description = "frame+verb, 6 pipelined lines, 7-byte segments")]
    public int FrameAndVerbsMultiSegment() => FrameAndVerbs(_multiSegment);

    [Benchmark(Description = "verb only (no allocation)")]
    public int VerbOnly() => (int)SmtpVerbs.Parse(s_mail, out _);

    [Benchmark(Description = "MAIL FROM path and parameters")]
    public int MailFrom()
    {
        SmtpVerbs.Parse(s_mail, out var args);
        SmtpSyntax.TryParsePathArgument(args, "FROM:"u8, true, false, out var address, out var parameters);
        var n = address.Length;
        while (!parameters.IsEmpty && SmtpSyntax.TryReadParameter(ref parameters, out var k, out _))
        {
            n += k.Length;
        }
        return n;
    }

    /// <inheritdoc />
    public void CheckSmokeResult(string benchmark, object? result)
    {
        // The batch's six verbs, whatever the enum's numbering; the MAIL line's address and two parameter names.
        var verbs = (int)(SmtpVerb.Ehlo + (int)SmtpVerb.Mail + (int)SmtpVerb.Rcpt + (int)SmtpVerb.Data + (int)SmtpVerb.Noop + (int)SmtpVerb.Rset);
        object expected = benchmark switch
        {
            nameof(FrameAndVerbs) or nameof(FrameAndVerbsMultiSegment) => verbs,
            nameof(VerbOnly) => (int)SmtpVerb.Mail,
            nameof(MailFrom) => "sender@example.org".Length + "SIZE".Length + "BODY".Length,
            _ => throw new InvalidOperationException($"no smoke check for {benchmark}"),
        };
        SmokeRun.AssertEqual(expected, result);
    }

    private static int FrameAndVerbs(ReadOnlySequence<byte> input)
    {
        var reader = new SequenceReader<byte>(input);
        var lines = new LineReader();
        Span<byte> copy = stackalloc byte[512];
        var n = 0;
        while (lines.TryReadLine(ref reader, 2048, out var line) == LineReadStatus.Line)
        {
            line.CopyTo(copy);
            n += (int)SmtpVerbs.Parse(copy[..(int)line.Length], out _);
        }
        return n;
    }
}

/// <summary>DATA: dot-unstuffing into the spool, 100 KiB of 78-column text. The spool's pooled chunks make steady state allocation-free.</summary>
[MemoryDiagnoser]
public class DotUnstufferBenchmarks : ISmokeChecked
{
    private byte[] _data = [];

    [GlobalSetup]
    public void Setup() => _data = Segments.Message(100 * 1024);

    [Benchmark(Description = "unstuff 100 KiB")]
    public long Unstuff()
    {
        using var spool = new MessageSpool(() => throw new InvalidOperationException("100 KiB stays in memory"));
        var unstuffer = new DotUnstuffer(false);
        unstuffer.Process(_data, spool, out _);
        return spool.Length;
    }

    /// <inheritdoc />
    public void CheckSmokeResult(string benchmark, object? result)
    {
        // 100 KiB of lines and the CRLF before the terminating dot, less the one stuffed dot.
        SmokeRun.AssertEqual(benchmark == nameof(Unstuff) ? 100L * 1024 + 2 - 1 : throw new InvalidOperationException($"no smoke check for {benchmark}"), result);
    }
}

internal static class Segments
{
    public static ReadOnlySequence<byte> Split(byte[] data, int size)
    {
        Segment? first = null, last = null;
        for (var i = 0; i < data.Length; i += size)
        {
            var chunk = data.AsMemory(i, Math.Min(size, data.Length - i));
            if (first is null)
            {
                first = last = new Segment(chunk, 0);
            }
            else
            {
                last = last!.Append(chunk);
            }
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    public static byte[] Message(int size)
    {
        var line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod temp\r\n"u8;
        var data = new byte[size + 5];
        for (var i = 0; i < size; i += line.Length)
        {
            line[..Math.Min(line.Length, size - i)].CopyTo(data.AsSpan(i));
        }
        data[64 * line.Length] = (byte)'.'; // one stuffed dot, at the start of the 65th line
        "\r\n.\r\n"u8.CopyTo(data.AsSpan(size));
        return data;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
