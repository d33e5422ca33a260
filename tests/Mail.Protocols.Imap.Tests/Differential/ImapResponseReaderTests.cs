using System.Text;

namespace Mail.Protocols.Imap.Tests.Differential;

public sealed class ImapResponseReaderTests
{
    // Gives at most one octet per read, so every boundary falls inside a read at some point.
    private sealed class TrickleStream(byte[] data) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(1, buffer.Length)], cancellationToken);
    }

    private static ImapResponseReader Reader(string text, int max = 1024) => new(new TrickleStream(Encoding.Latin1.GetBytes(text)), max);

    [Fact]
    public async Task A_literal_is_read_by_its_length_even_when_it_holds_line_ends_and_braces()
    {
        // The literal's octets end with what looks like an announcement; only the server's own lines announce.
        var reader = Reader("* 1 FETCH (BODY[] {16}\r\na\r\n{3}\r\nb\r\n{3}\r\n UID 4)\r\nt1 OK done\r\n");
        Assert.Equal("* 1 FETCH (BODY[] {16}\r\na\r\n{3}\r\nb\r\n{3}\r\n UID 4)\r\n", Encoding.Latin1.GetString(await reader.ReadResponseAsync(default)));
        Assert.Equal("t1 OK done\r\n", Encoding.Latin1.GetString(await reader.ReadResponseAsync(default)));
    }

    [Fact]
    public async Task Several_literals_and_a_literal8_in_one_response()
    {
        var reader = Reader("* 2 FETCH (BINARY[1] ~{2}\r\n\0\n ENVELOPE ({1}\r\nx NIL))\r\n");
        Assert.Equal("* 2 FETCH (BINARY[1] ~{2}\r\n\0\n ENVELOPE ({1}\r\nx NIL))\r\n", Encoding.Latin1.GetString(await reader.ReadResponseAsync(default)));
    }

    [Fact]
    public async Task A_response_beyond_the_bound_is_refused_without_reading_it() =>
        await Assert.ThrowsAsync<InvalidDataException>(() => Reader("* 1 FETCH (BODY[] {5000}\r\n" + new string('a', 5000) + ")\r\n").ReadResponseAsync(default));

    [Fact]
    public async Task A_line_beyond_the_bound_is_refused() =>
        await Assert.ThrowsAsync<InvalidDataException>(() => Reader("* OK " + new string('a', 2000) + "\r\n").ReadResponseAsync(default));

    [Fact]
    public async Task A_connection_closed_inside_a_literal_is_the_end_of_the_stream() =>
        await Assert.ThrowsAsync<EndOfStreamException>(() => Reader("* 1 FETCH (BODY[] {10}\r\nabc").ReadResponseAsync(default));

    [Theory]
    [InlineData("x {12}\r\n", 12L)]
    [InlineData("x ~{0}\r\n", 0L)]
    [InlineData("x {12}\n", null)]
    [InlineData("x {}\r\n", null)]
    [InlineData("x {1a}\r\n", null)]
    [InlineData("x {12+}\r\n", null)]
    [InlineData("x 12}\r\n", null)]
    public void Literal_announcements(string line, long? length) =>
        Assert.Equal(length, ImapResponseReader.LiteralLength(Encoding.ASCII.GetBytes(line)));
}
