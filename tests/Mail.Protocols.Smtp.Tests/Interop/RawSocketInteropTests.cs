using System.Text;
using System.Text.RegularExpressions;

namespace Mail.Protocols.Smtp.Tests.Interop;

/// <summary>Exact reply lines and wire behaviour checked over a bare TCP socket.</summary>
public sealed partial class RawSocketInteropTests
{
    [GeneratedRegex(@"^250 2\.0\.0 \S+ Message accepted for delivery$")]
    private static partial Regex AcceptedLine();

    private static async Task<RawSmtpConnection> GreetedAsync(InteropHost host, CancellationToken ct)
    {
        var connection = await RawSmtpConnection.ConnectAsync(host.Mx, ct);
        var greeting = await connection.ReadSingleLineReplyAsync(ct);
        Assert.Equal($"220 {InteropHost.ServerName} ESMTP", greeting);
        await connection.WriteAsync("EHLO x\r\n", ct);
        var ehlo = await connection.ReadReplyAsync(ct);
        Assert.StartsWith("250 ", ehlo[^1], StringComparison.Ordinal);
        return connection;
    }

    [Fact]
    public async Task Raw_transaction_gets_the_exact_reply_lines()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await RawSmtpConnection.ConnectAsync(host.Mx, ct);

        var greeting = await c.ReadSingleLineReplyAsync(ct);
        Assert.StartsWith("220 ", greeting, StringComparison.Ordinal);

        await c.WriteAsync("EHLO x\r\n", ct);
        var ehlo = await c.ReadReplyAsync(ct);
        Assert.Equal($"250-{InteropHost.ServerName} greets x [127.0.0.1]", ehlo[0]);
        Assert.Equal(
            ["PIPELINING", "SIZE 52428800", "8BITMIME", "BINARYMIME", "CHUNKING", "ENHANCEDSTATUSCODES", "DSN", "SMTPUTF8", "STARTTLS", "HELP"],
            ehlo.Skip(1).Select(l => l[4..]));
        Assert.All(ehlo.Take(ehlo.Count - 1), l => Assert.StartsWith("250-", l, StringComparison.Ordinal));
        Assert.StartsWith("250 ", ehlo[^1], StringComparison.Ordinal);

        await c.WriteAsync("MAIL FROM:<a@example.org>\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("RCPT TO:<alice@example.test>\r\n", ct);
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("DATA\r\n", ct);
        Assert.Equal("354 Enter mail, end with \".\" on a line by itself", await c.ReadSingleLineReplyAsync(ct));
        const string body = "Subject: raw\r\n\r\nline one\r\n..stuffed\r\nlast\r\n";
        await c.WriteAsync(body + ".\r\n", ct);
        var accepted = await c.ReadSingleLineReplyAsync(ct);
        Assert.Matches(AcceptedLine(), accepted);
        await c.WriteAsync("QUIT\r\n", ct);
        var bye = await c.ReadSingleLineReplyAsync(ct);
        Assert.StartsWith("221 2.0.0 ", bye, StringComparison.Ordinal);
        Assert.EndsWith("closing connection", bye, StringComparison.Ordinal);
        Assert.Null(await c.ReadLineAsync(ct)); // the server closed the connection

        var stored = Assert.Single(await host.InboxAsync("alice@example.test"));
        var (received, rest) = Wire.SplitReceived(stored);
        Assert.Equal("Subject: raw\r\n\r\nline one\r\n.stuffed\r\nlast\r\n", Encoding.ASCII.GetString(rest));
        Assert.Contains(" id " + accepted.Split(' ')[2], received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bare_postmaster_is_accepted_as_rfc_5321_requires_and_reaches_the_postmaster()
    {
        // RFC 5321 §4.1.1.3: Rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path ), and §4.5.1:
        // every server accepts "Postmaster" without a domain (case-insensitively). Any other local part needs a domain.
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await GreetedAsync(host, ct);
        await c.WriteAsync("MAIL FROM:<a@example.org>\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("RCPT TO:<alice>\r\n", ct);
        Assert.Equal("501 5.1.3 Bad recipient address syntax", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("RCPT TO:<@relay.example:Postmaster>\r\n", ct);
        Assert.Equal("501 5.1.3 Bad recipient address syntax", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("RCPT TO:<PostMaster>\r\n", ct);
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("DATA\r\n", ct);
        Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("Subject: to the postmaster\r\n\r\nhello\r\n.\r\n", ct);
        Assert.Matches(AcceptedLine(), await c.ReadSingleLineReplyAsync(ct));

        // The host's postmaster is its first user.
        var stored = Assert.Single(await host.InboxAsync("alice@example.test"));
        Assert.EndsWith("Subject: to the postmaster\r\n\r\nhello\r\n", Encoding.ASCII.GetString(stored), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Raw_pipelined_batch_is_answered_in_order_including_a_rejected_recipient()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await GreetedAsync(host, ct);

        // RFC 2920: the whole envelope and DATA in one write.
        await c.WriteAsync(
            "MAIL FROM:<a@example.org>\r\n"
            + "RCPT TO:<alice@example.test>\r\n"
            + "RCPT TO:<nobody@example.test>\r\n"
            + "RCPT TO:<someone@elsewhere.test>\r\n"
            + "RCPT TO:<bob@example.test>\r\n"
            + "DATA\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("550 5.1.1 Recipient address rejected: user unknown", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("554 5.7.1 Relay access denied", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("354 Enter mail, end with \".\" on a line by itself", await c.ReadSingleLineReplyAsync(ct));
        // The end of data and the next command in one write too.
        await c.WriteAsync("Subject: pipelined\r\n\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n", ct);
        Assert.Matches(AcceptedLine(), await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("250 2.0.0 OK", await c.ReadSingleLineReplyAsync(ct));
        Assert.StartsWith("221 2.0.0 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);

        foreach (var user in new[] { "alice@example.test", "bob@example.test" })
        {
            var stored = Assert.Single(await host.InboxAsync(user));
            Assert.Equal("Subject: pipelined\r\n\r\nbody\r\n", Encoding.ASCII.GetString(Wire.SplitReceived(stored).Body));
        }
        Assert.Equal(0, await host.Host.Queue.CountAsync());
    }

    [Fact]
    public async Task Raw_BDAT_chunks_are_concatenated_verbatim()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await GreetedAsync(host, ct);

        await c.WriteAsync("MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("RCPT TO:<alice@example.test>\r\n", ct);
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));

        // BDAT data is not dot-stuffed and has no terminator: "\r\n.\r\n" and "..x" must stay as they are.
        var chunk1 = Encoding.ASCII.GetBytes("Subject: bdat\r\n\r\nfirst chunk\r\n.\r\n..x\r\n");
        var chunk2 = new byte[] { 0, 1, 2, (byte)'\n', (byte)'\r', 255, 254, (byte)'.', (byte)'\r', (byte)'\n' };
        var chunk3 = Encoding.ASCII.GetBytes("BDAT 5 LAST\r\nlast chunk\r\n");

        await c.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {chunk1.Length}\r\n"), .. chunk1], ct);
        Assert.Equal($"250 2.0.0 {chunk1.Length} octets received", await c.ReadSingleLineReplyAsync(ct));
        // A chunk and the next BDAT command pipelined in one write; an empty chunk in between.
        await c.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {chunk2.Length}\r\n"), .. chunk2, .. "BDAT 0\r\n"u8], ct);
        Assert.Equal($"250 2.0.0 {chunk2.Length} octets received", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("250 2.0.0 0 octets received", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {chunk3.Length} LAST\r\n"), .. chunk3], ct);
        Assert.Matches(AcceptedLine(), await c.ReadSingleLineReplyAsync(ct));

        // After the LAST chunk the transaction is over: RCPT needs a new MAIL.
        await c.WriteAsync("RCPT TO:<bob@example.test>\r\n", ct);
        Assert.Equal("503 5.5.1 Error: need MAIL command", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("QUIT\r\n", ct);
        Assert.StartsWith("221 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);

        var stored = Assert.Single(await host.InboxAsync("alice@example.test"));
        Wire.AssertSameBytes([.. chunk1, .. chunk2, .. chunk3], Wire.SplitReceived(stored).Body);
    }

    [Fact]
    public async Task Raw_DATA_with_a_bare_LF_is_refused_and_nothing_is_stored()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await GreetedAsync(host, ct);
        await c.WriteAsync("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        // The SMTP smuggling shape: "\n.\n" must not end the data, and the bare LF gets the message refused.
        await c.WriteAsync("Subject: smuggle\r\n\r\nx\n.\nMAIL FROM:<evil@example.org>\r\n.\r\n", ct);
        Assert.Equal("550 5.6.0 Message contains bare CR or LF (RFC 5321 section 2.3.8)", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("NOOP\r\n", ct);
        Assert.Equal("250 2.0.0 OK", await c.ReadSingleLineReplyAsync(ct));
        Assert.Empty(await host.InboxAsync("alice@example.test"));
    }
}
