using System.Buffers;
using System.Text;
using Mail.Protocols.Smtp.Client;
using Mail.Protocols.Smtp.Delivery;

namespace Mail.Protocols.Smtp.Tests.Client;

/// <summary>The client's reading of server replies (RFC 5321 §4.2), one reply at a time from whatever the connection gave.</summary>
public sealed class SmtpReplyReaderTests
{
    [Fact]
    public void A_multiline_reply_is_its_code_and_the_text_of_each_line()
    {
        var reply = ReadOne("250-mx.example.test greets you\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
        Assert.Equal(250, reply.Code);
        Assert.Equal(["mx.example.test greets you", "PIPELINING", "SIZE 1000"], reply.Lines);
    }

    [Fact]
    public void A_code_alone_is_a_reply_with_empty_text() => Assert.Equal([""], ReadOne("354\r\n").Lines);

    [Fact]
    public void Lines_with_different_codes_are_a_malformed_reply()
    {
        // RFC 5321 §4.2.1: "the reply code on each of the lines MUST be the same"; which one would the reply be?
        Assert.Throws<SmtpClientException>(() => ReadOne("250-fine\r\n550 or not\r\n"));
    }

    [Fact]
    public void Anything_but_a_hyphen_after_the_code_ends_the_reply()
    {
        // As Postfix reads it: "250\t..." is a last line, not a continuation waiting for more lines that never come.
        var reply = ReadOne("250\tdone\r\n");
        Assert.Equal(250, reply.Code);
        Assert.Equal(["done"], reply.Lines);
    }

    [Theory]
    [InlineData("25\r\n")]
    [InlineData("+50 ok\r\n")]
    [InlineData("2 0 ok\r\n")]
    [InlineData("150 ok\r\n")]
    [InlineData("600 ok\r\n")]
    [InlineData("250-a\r\n25\r\n")]
    public void A_line_without_a_reply_code_is_a_malformed_reply(string wire) => Assert.Throws<SmtpClientException>(() => ReadOne(wire));

    [Fact]
    public void Line_length_and_line_count_are_bounded()
    {
        Assert.Throws<SmtpClientException>(() => ReadOne("250 " + new string('x', SmtpReplyReader.MaxLineLength) + "\r\n"));
        Assert.Equal(SmtpReplyReader.MaxLines, ReadOne(string.Concat(Enumerable.Repeat("250-x\r\n", SmtpReplyReader.MaxLines - 1)) + "250 x\r\n").Lines.Count);
        Assert.Throws<SmtpClientException>(() => ReadOne(string.Concat(Enumerable.Repeat("250-x\r\n", SmtpReplyReader.MaxLines)) + "250 x\r\n"));
    }

    [Fact]
    public void A_reply_split_anywhere_reads_the_same()
    {
        var wire = Encoding.UTF8.GetBytes("250-first\r\n250-sécond\n250 last\r\n221 bye\r\n");
        for (var split = 0; split <= wire.Length; split++)
        {
            var reader = new SmtpReplyReader();
            var pending = wire[..split];
            var replies = new List<SmtpServerReply>();
            while (Next(ref reader, ref pending) is { } early)
            {
                replies.Add(early);
            }
            pending = [.. pending, .. wire[split..]];
            while (Next(ref reader, ref pending) is { } late)
            {
                replies.Add(late);
            }
            Assert.Equal(["250 first sécond last", "221 bye"], replies.Select(r => r.ToString()));
        }
    }

    [Theory]
    [InlineData("550 5.1.1 unknown user", DsnAction.Failed, "5.1.1")]
    [InlineData("451 4.4.1 no answer; 5.4.7 delivery time expired", DsnAction.Failed, "5.4.7")]
    [InlineData("550 unknown user", DsnAction.Failed, "5.0.0")]
    [InlineData("250 2.0.0 ok", DsnAction.Delivered, "2.0.0")]
    [InlineData("550 5.1234.1 too many digits", DsnAction.Failed, "5.0.0")]
    public void The_status_of_a_dsn_is_the_first_enhanced_code_of_its_class(string reply, DsnAction action, string status) =>
        Assert.Equal(status, DeliveryStatusNotification.StatusCode(reply, action));

    [Fact]
    public void An_enhanced_code_is_ascii_digits_only()
    {
        // Arabic-Indic digits are \d to .NET's regular expressions; RFC 3463's status code is DIGITs, ASCII.
        Assert.Equal("5.0.0", DeliveryStatusNotification.StatusCode("550 5.\u0661.\u0661 unknown", DsnAction.Failed));
    }

    [Fact]
    public void Invalid_utf8_becomes_one_question_mark_per_sequence_so_the_text_never_outgrows_the_octets_received()
    {
        // Found by the SmtpClientReply fuzz target: U+FFFD (three octets in UTF-8) for each invalid octet let a line at
        // the length limit triple past it.
        var wire = new byte[4 + 4090 + 2];
        "250 "u8.CopyTo(wire);
        wire.AsSpan(4, 4090).Fill(0xEC);
        "\r\n"u8.CopyTo(wire.AsSpan(4094));
        var reader = new SmtpReplyReader();
        var reply = Next(ref reader, ref wire) ?? throw new InvalidOperationException("no complete reply");
        var text = Assert.Single(reply.Lines);
        Assert.True(Encoding.UTF8.GetByteCount(text) <= 4090, $"{Encoding.UTF8.GetByteCount(text)} octets");
        Assert.All(text, c => Assert.Equal('?', c));
        Assert.Equal(["caf\u00e9 ok"], ReadOne("250 caf\u00e9 ok\r\n").Lines); // valid UTF-8 stays as it is
    }

    private static SmtpServerReply ReadOne(string wire)
    {
        var reader = new SmtpReplyReader();
        var pending = Encoding.UTF8.GetBytes(wire);
        return Next(ref reader, ref pending) ?? throw new InvalidOperationException("no complete reply");
    }

    private static SmtpServerReply? Next(ref SmtpReplyReader reader, ref byte[] pending)
    {
        var sequence = new SequenceReader<byte>(new ReadOnlySequence<byte>(pending));
        var done = reader.TryRead(ref sequence, "mx.example.test", out var reply);
        pending = pending[(int)sequence.Consumed..];
        return done ? reply : null;
    }
}
