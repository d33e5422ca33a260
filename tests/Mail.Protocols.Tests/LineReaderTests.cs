using System.Buffers;
using System.Text;
using Mail.Protocols.Text;

namespace Mail.Protocols.Tests;

public class LineReaderTests
{
    private static (LineReadStatus Status, string Line, long Consumed) Read(ref LineReader lineReader, byte[] input, int max)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(input));
        var status = lineReader.TryReadLine(ref reader, max, out var line);
        return (status, Encoding.ASCII.GetString(line.ToArray()), reader.Consumed);
    }

    [Fact]
    public void Reads_crlf_terminated_line_without_its_ending()
    {
        var lr = new LineReader();
        var (status, line, consumed) = Read(ref lr, "NOOP\r\nQUIT\r\n"u8.ToArray(), 100);
        Assert.Equal(LineReadStatus.Line, status);
        Assert.Equal("NOOP", line);
        Assert.Equal(6, consumed);
    }

    [Fact]
    public void Every_prefix_of_a_line_needs_more_data_and_consumes_nothing()
    {
        var input = "MAIL FROM:<a@b>\r\n"u8.ToArray();
        for (var i = 0; i < input.Length; i++)
        {
            var lr = new LineReader();
            var (status, _, consumed) = Read(ref lr, input[..i], 100);
            Assert.Equal(LineReadStatus.NeedMoreData, status);
            Assert.Equal(0, consumed);
        }
    }

    [Fact]
    public void Line_at_limit_is_read_and_limit_plus_one_is_too_long()
    {
        var lr = new LineReader();
        Assert.Equal(LineReadStatus.Line, Read(ref lr, Encoding.ASCII.GetBytes(new string('a', 10) + "\r\n"), 10).Status);
        lr = new LineReader();
        Assert.Equal(LineReadStatus.TooLong, Read(ref lr, Encoding.ASCII.GetBytes(new string('a', 11) + "\r\n"), 10).Status);
    }

    [Fact]
    public void Overlong_line_is_discarded_across_reads_then_reported_once_and_reader_resynchronizes()
    {
        var lr = new LineReader();
        var first = Read(ref lr, Encoding.ASCII.GetBytes(new string('x', 5000)), 100);
        Assert.Equal(LineReadStatus.NeedMoreData, first.Status);
        Assert.Equal(5000, first.Consumed); // memory stays bounded: the junk is consumed
        Assert.True(lr.IsDiscarding);
        var second = Read(ref lr, Encoding.ASCII.GetBytes(new string('x', 5000) + "\r\nNOOP\r\n"), 100);
        Assert.Equal(LineReadStatus.TooLong, second.Status);
        Assert.Equal(5002, second.Consumed);
        var third = Read(ref lr, "NOOP\r\n"u8.ToArray(), 100);
        Assert.Equal(LineReadStatus.Line, third.Status);
        Assert.Equal("NOOP", third.Line);
    }
}
