using System.Text;
using Mail.Protocols.Smtp.Data;
using Mail.Protocols.Smtp.Tests.Interop;

namespace Mail.Protocols.Smtp.Tests.Abuse;

/// <summary>
/// Loop detection by counting Received fields (RFC 5321 §6.3): a message that carries more than
/// <see cref="SmtpServerOptions.MaxReceivedFields"/> of them, ours included, is refused with 554 5.4.6 and not stored.
/// </summary>
public sealed class MailLoopTests
{
    private static string Hops(int count) =>
        string.Concat(Enumerable.Range(0, count).Select(i => $"Received: from hop{i}.example.org by hop{i + 1}.example.org; Sun, 6 Dec 2026 10:00:00 +0000\r\n"));

    [Theory]
    [InlineData("Received: a\r\nreceived: b\r\nRECEIVED:c\r\nSubject: x\r\n\r\nReceived: in the body\r\n", 3)]
    [InlineData("Received-SPF: pass\r\nX-Received: no\r\n Received: a continuation\r\nSubject: x\r\n\r\n", 0)]
    [InlineData("Subject: no body yet\r\nReceived: last line without its end", 1)]
    [InlineData("\r\nReceived: all body\r\n", 0)]
    public void Only_header_lines_that_start_with_the_field_name_count(string message, int expected)
    {
        using var stream = new MemoryStream(Encoding.ASCII.GetBytes(message));
        Assert.Equal(expected, ReceivedFieldCounter.Count(stream, stopAfter: 100));
    }

    [Fact]
    public void Counting_stops_past_the_limit_and_at_the_octet_bound()
    {
        using var many = new MemoryStream(Encoding.ASCII.GetBytes(Hops(500) + "\r\nbody\r\n"));
        Assert.Equal(11, ReceivedFieldCounter.Count(many, stopAfter: 10));
        Assert.Equal(500, ReceivedFieldCounter.Count(many, stopAfter: 1000));
        var firstLine = Hops(1).Length;
        Assert.Equal(1, ReceivedFieldCounter.Count(many, stopAfter: 1000, maxOctets: firstLine + 5));
    }

    [Fact]
    public async Task A_message_with_more_received_fields_than_the_limit_is_refused_with_554_5_4_6_and_the_session_goes_on()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync(o => o.Smtp.MaxReceivedFields = 100);
        await using var c = await RawSmtpConnection.ConnectAsync(host.Mx, ct);
        Assert.StartsWith("220 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("EHLO client.example.org\r\n", ct);
        Assert.StartsWith("250 ", (await c.ReadReplyAsync(ct))[^1], StringComparison.Ordinal);

        async Task<string> SendAsync(int hops)
        {
            await c.WriteAsync("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n", ct);
            Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
            Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
            Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
            await c.WriteAsync(Hops(hops) + $"Subject: {hops} hops\r\n\r\nhello\r\n.\r\n", ct);
            return await c.ReadSingleLineReplyAsync(ct);
        }

        // 100 with ours is the limit: accepted; 101 is a loop.
        Assert.Equal("554 5.4.6 Too many hops: the message is looping (RFC 5321 section 6.3)", await SendAsync(100));
        Assert.Empty(await host.InboxAsync("alice@example.test"));
        Assert.StartsWith("250 2.0.0 ", await SendAsync(99), StringComparison.Ordinal);
        Assert.Single(await host.InboxAsync("alice@example.test"));
    }
}
