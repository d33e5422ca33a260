using System.Buffers;
using Mail.Protocols.Smtp.Data;
using Mail.Protocols.Pop3.Protocol;
using Mail.Protocols.Text;

namespace Mail.Protocols.Fuzz.Targets.Smtp;

/// <summary>
/// The DATA reader (<see cref="DotUnstuffer"/>, RFC 5321 §4.5.2), fed the input whole, in chunks whose split points
/// come from the input, and octet by octet, with and without normalising bare line endings. Properties: every split
/// gives the same result; the data ends exactly after the first CRLF "." CRLF (or a leading "." CRLF) and nowhere
/// else (no smuggling through "\n.\n", "\r.\r" or "\n.\r\n"); the message is what a slow reference unstuffing gives;
/// the bare-line-ending flag agrees with the reference and with BDAT's <see cref="BareLineEndingScanner"/> over the
/// same octets, in any split. Round trip: the input made into CRLF lines, dot-stuffed by the core's
/// <see cref="DotStuffer"/>, unstuffs to itself and ends exactly at the stuffer's terminator.
/// </summary>
internal sealed class DotUnstufferTarget : IFuzzTarget
{
    public string Name => "SmtpDotUnstuffer";

    public void Run(ReadOnlySpan<byte> input)
    {
        var end = TerminatorEnd(input);
        foreach (var normalize in (ReadOnlySpan<bool>)[false, true])
        {
            var whole = Unstuff(input, [input.Length], normalize);
            var chunked = Unstuff(input, Chunks.Lengths(input, input.Length), normalize);
            var octets = Unstuff(input, Chunks.Lengths(input, input.Length, maxChunk: 1), normalize);
            foreach (var split in (ReadOnlySpan<Result>)[chunked, octets])
            {
                Fuzz.Equal(whole.Consumed, split.Consumed, "consumed, whole against split");
                Fuzz.Equal(whole.Bare, split.Bare, "bare line ending, whole against split");
                Fuzz.BytesEqual(whole.Output, split.Output, "message, whole against split");
            }

            Fuzz.Equal(end, whole.Consumed, "end of data (-1: none)");
            if (end >= 0)
            {
                var data = input[..(end - 3)];
                var (expected, bare) = Reference(data, normalize);
                Fuzz.BytesEqual(expected, whole.Output, "message against the reference");
                Fuzz.Equal(bare, whole.Bare, "bare line ending against the reference");
                Fuzz.Equal(bare, Scan(data, [data.Length]), "bare line ending against BareLineEndingScanner");
                Fuzz.Equal(bare, Scan(data, Chunks.Lengths(data, data.Length, maxChunk: 3)), "bare line ending against BareLineEndingScanner in chunks");
            }
        }

        RoundTrip(input);
    }

    private static void RoundTrip(ReadOnlySpan<byte> input)
    {
        // The input as a message of CRLF lines: CR dropped, LF made CRLF.
        var message = new ArrayBufferWriter<byte>();
        foreach (var b in input)
        {
            if (b == (byte)'\n')
            {
                message.Write("\r\n"u8);
            }
            else if (b != (byte)'\r')
            {
                message.Write([b]);
            }
        }

        var stuffed = new ArrayBufferWriter<byte>();
        var stuffer = new DotStuffer(bodyLines: null);
        var written = 0;
        foreach (var length in Chunks.Lengths(input, message.WrittenCount, maxChunk: 7))
        {
            stuffer.Write(message.WrittenSpan.Slice(written, length), stuffed);
            written += length;
        }

        stuffer.Finish(stuffed);
        var expected = message.WrittenSpan.IsEmpty || message.WrittenSpan[^1] == (byte)'\n'
            ? message.WrittenSpan.ToArray()
            : [.. message.WrittenSpan, (byte)'\r', (byte)'\n'];
        var result = Unstuff(stuffed.WrittenSpan, Chunks.Lengths(input, stuffed.WrittenCount), normalize: false);
        Fuzz.Equal(stuffed.WrittenCount, result.Consumed, "a stuffed message ends at the stuffer's terminator");
        Fuzz.Check(!result.Bare, "a stuffed message of CRLF lines has no bare line ending");
        Fuzz.BytesEqual(expected, result.Output, "stuffed then unstuffed");
    }

    private sealed record Result(int Consumed, bool Bare, byte[] Output);

    private static Result Unstuff(ReadOnlySpan<byte> input, List<int> lengths, bool normalize)
    {
        using var spool = new MessageSpool(() => throw new FuzzPropertyException("the spool asked for a directory"), long.MaxValue);
        var unstuffer = new DotUnstuffer(normalize);
        var offset = 0;
        var end = -1;
        foreach (var length in lengths)
        {
            var chunk = input.Slice(offset, length);
            var done = unstuffer.Process(chunk, spool, out var consumed);
            Fuzz.Check(consumed >= 0 && consumed <= chunk.Length, $"consumed {consumed} of a chunk of {chunk.Length}");
            Fuzz.Check(done || consumed == chunk.Length, "a chunk left unconsumed without reaching the end of data");
            if (done)
            {
                end = offset + consumed;
                break;
            }

            offset += length;
        }

        var output = new byte[spool.Length];
        spool.Position = 0;
        spool.ReadExactly(output);
        return new Result(end, unstuffer.SawBareLineEnding, output);
    }

    private static bool Scan(ReadOnlySpan<byte> data, List<int> lengths)
    {
        var scanner = new BareLineEndingScanner();
        var offset = 0;
        foreach (var length in lengths)
        {
            scanner.Scan(data.Slice(offset, length));
            offset += length;
        }

        return scanner.Finish();
    }

    // Where the data ends: after a "." CRLF at the very start, or after the first CRLF "." CRLF; -1 when it does not.
    private static int TerminatorEnd(ReadOnlySpan<byte> input)
    {
        if (input.StartsWith(".\r\n"u8))
        {
            return 3;
        }

        var at = input.IndexOf("\r\n.\r\n"u8);
        return at < 0 ? -1 : at + 5;
    }

    // RFC 5321 §4.5.2 the slow way over the data before the terminating ".\r\n": a "." that starts a line (the start,
    // or after CRLF) is dropped; a CR not followed by LF, or an LF not preceded by CR, is bare (made CRLF if asked).
    private static (byte[] Output, bool Bare) Reference(ReadOnlySpan<byte> data, bool normalize)
    {
        var output = new List<byte>(data.Length);
        var bare = false;
        for (var i = 0; i < data.Length; i++)
        {
            var b = data[i];
            var lineStart = i == 0 || (i >= 2 && data[i - 2] == (byte)'\r' && data[i - 1] == (byte)'\n');
            if (lineStart && b == (byte)'.')
            {
                continue;
            }

            var isBare = (b == (byte)'\r' && (i + 1 == data.Length || data[i + 1] != (byte)'\n'))
                || (b == (byte)'\n' && (i == 0 || data[i - 1] != (byte)'\r'));
            bare |= isBare;
            if (isBare && normalize)
            {
                output.Add((byte)'\r');
                output.Add((byte)'\n');
            }
            else
            {
                output.Add(b);
            }
        }

        return ([.. output], bare);
    }
}
