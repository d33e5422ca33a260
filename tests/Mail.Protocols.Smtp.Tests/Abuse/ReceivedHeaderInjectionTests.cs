using System.Text;
using Mail.Protocols.Smtp.Tests.Interop;
using MimeKit;

namespace Mail.Protocols.Smtp.Tests.Abuse;

/// <summary>
/// Header injection through what the client names in the session (the HELO/EHLO name, the envelope addresses and their
/// parameters) into the Received header the server writes: the stored message starts with exactly one Received field,
/// the client's own header follows it, and no injected field appears.
/// </summary>
public sealed class ReceivedHeaderInjectionTests
{
    private const string Body = "Subject: honest\r\n\r\nhello\r\n";

    private static async Task<RawSmtpConnection> ConnectAsync(InteropHost host, CancellationToken ct)
    {
        var c = await RawSmtpConnection.ConnectAsync(host.Mx, ct);
        Assert.StartsWith("220 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        return c;
    }

    private static async Task SendMessageAsync(RawSmtpConnection c, string mail, string rcpt, CancellationToken ct)
    {
        await c.WriteAsync($"MAIL FROM:{mail}\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync($"RCPT TO:{rcpt}\r\n", ct);
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("DATA\r\n", ct);
        Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync(Body + ".\r\n", ct);
        Assert.StartsWith("250 2.0.0 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
    }

    // One Received field (possibly folded), then exactly the client's message; no other field.
    private static async Task<string> AssertOneReceivedFieldAsync(InteropHost host, string user)
    {
        var stored = Assert.Single(await host.InboxAsync(user));
        var (received, rest) = Wire.SplitReceived(stored);
        Assert.Equal(Body, Encoding.UTF8.GetString(rest));
        using var message = MimeMessage.Load(new MemoryStream(stored));
        Assert.Equal(new[] { "Received", "Subject" }, message.Headers.Select(h => h.Field));
        Assert.DoesNotContain("X-Injected", Encoding.UTF8.GetString(stored), StringComparison.OrdinalIgnoreCase);
        return received;
    }

    [Fact]
    public async Task Helo_name_followed_by_a_bare_lf_ends_there_and_the_rest_is_an_unknown_command_not_a_header()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await ConnectAsync(host, ct);
        // A bare LF ends a command line (as most servers read it): the name is "evil", the rest a command of its own.
        await c.WriteAsync("EHLO evil\nX-Injected: yes\r\n", ct);
        Assert.StartsWith("250-", (await c.ReadReplyAsync(ct))[0], StringComparison.Ordinal);
        Assert.Equal("500 5.5.2 Syntax error, command unrecognized", await c.ReadSingleLineReplyAsync(ct));
        await SendMessageAsync(c, "<a@example.org>", "<alice@example.test>", ct);
        var received = await AssertOneReceivedFieldAsync(host, "alice@example.test");
        Assert.StartsWith("Received: from evil ([127.0.0.1])\r\n", received, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("evil\rX-Injected: yes")]   // a bare CR inside the line
    [InlineData("evil\r\tX-Injected: yes")]
    [InlineData("evil\0X-Injected")]
    [InlineData("evil\u007fX-Injected")]
    [InlineData("ev\u00efl.example")]       // not ASCII
    [InlineData("\u0085X-Injected:yes")]    // NEL (U+0085), a line break to some readers
    public async Task Helo_name_holding_a_line_break_or_control_is_refused_and_the_next_message_has_one_received_field(string name)
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await ConnectAsync(host, ct);
        await c.WriteAsync($"EHLO {name}\r\nMAIL FROM:<a@example.org>\r\n", ct);
        var replies = new List<string>();
        string line;
        do
        {
            line = (await c.ReadReplyAsync(ct))[^1];
            replies.Add(line);
        }
        while (!line.StartsWith("503 ", StringComparison.Ordinal));
        Assert.Equal("501 5.5.4 Invalid HELO/EHLO name", replies[0]);
        Assert.DoesNotContain(replies, r => r.StartsWith('2'));
        Assert.Equal("503 5.5.1 Error: send HELO/EHLO first", replies[^1]);

        await c.WriteAsync("EHLO good.example.org\r\n", ct);
        Assert.StartsWith("250 ", (await c.ReadReplyAsync(ct))[^1], StringComparison.Ordinal);
        await SendMessageAsync(c, "<a@example.org>", "<alice@example.test>", ct);
        var received = await AssertOneReceivedFieldAsync(host, "alice@example.test");
        Assert.StartsWith("Received: from good.example.org ([127.0.0.1])\r\n", received, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("DATA")]
    [InlineData("BDAT")]
    [InlineData("BINARYMIME")]
    public async Task A_message_whose_first_line_starts_with_white_space_is_refused_with_550_5_6_0_and_nothing_is_stored(string how)
    {
        // Its first line would continue our Received field (RFC 5322 §2.2.3): found by the SmtpSession fuzz target.
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await ConnectAsync(host, ct);
        await c.WriteAsync("EHLO client.example.org\r\n", ct);
        Assert.StartsWith("250 ", (await c.ReadReplyAsync(ct))[^1], StringComparison.Ordinal);
        const string Content = "\tX-Injected: yes\r\nSubject: folded\r\n\r\nhello\r\n";
        await c.WriteAsync($"MAIL FROM:<a@example.org>{(how == "BINARYMIME" ? " BODY=BINARYMIME" : "")}\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("RCPT TO:<alice@example.test>\r\n", ct);
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        if (how == "DATA")
        {
            await c.WriteAsync("DATA\r\n", ct);
            Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
            await c.WriteAsync(Content + ".\r\n", ct);
        }
        else
        {
            await c.WriteAsync($"BDAT {Content.Length} LAST\r\n{Content}", ct);
        }
        Assert.Equal("550 5.6.0 Message header starts with white space (RFC 5322 section 2.2.3)", await c.ReadSingleLineReplyAsync(ct));
        Assert.Empty(await host.InboxAsync("alice@example.test"));
        // The session goes on: the next message is stored, with one Received field.
        await SendMessageAsync(c, "<a@example.org>", "<alice@example.test>", ct);
        await AssertOneReceivedFieldAsync(host, "alice@example.test");
    }

    [Theory]
    [InlineData("evil)(Bcc:victim@example.org", "evil??Bcc:victim@example.org")] // parentheses would unbalance the comment after it
    [InlineData("a(b)c;d", "a?b?c?d")]
    // ";" ends a Received field's tokens (RFC 5322 §3.6.7): what follows would be read as the date-time of the hop.
    [InlineData("evil;Mon,1-Jan-2001", "evil?Mon,1-Jan-2001")]
    [InlineData("[127.0.0.1]", "[127.0.0.1]")]
    public async Task Helo_name_with_header_syntax_is_written_as_one_word_in_one_received_field(string name, string written)
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await ConnectAsync(host, ct);
        await c.WriteAsync($"EHLO {name}\r\n", ct);
        Assert.StartsWith("250 ", (await c.ReadReplyAsync(ct))[^1], StringComparison.Ordinal);
        await SendMessageAsync(c, "<a@example.org>", "<alice@example.test>", ct);
        var received = await AssertOneReceivedFieldAsync(host, "alice@example.test");
        Assert.StartsWith($"Received: from {written} ([127.0.0.1])\r\n", received, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<\"a\nX-Injected: yes\"@example.org>")]
    [InlineData("<\"a\rX-Injected: yes\"@example.org>")]
    [InlineData("<a@example.org\nX-Injected: yes>")]
    [InlineData("<a@exam\0ple.org>")]
    [InlineData("<\"a\\\nX-Injected: yes\"@example.org>")] // a quoted-pair cannot quote a line break
    public async Task Sender_address_holding_a_line_break_is_refused_and_never_reaches_a_header(string path)
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await ConnectAsync(host, ct);
        await c.WriteAsync("EHLO client.example.org\r\n", ct);
        await c.ReadReplyAsync(ct);
        await c.WriteAsync($"MAIL FROM:{path}\r\nRCPT TO:<alice@example.test>\r\n", ct);
        Assert.StartsWith("50", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        string line;
        do
        {
            line = await c.ReadSingleLineReplyAsync(ct);
            Assert.False(line.StartsWith('2'), line);
        }
        while (line != "503 5.5.1 Error: need MAIL command");

        await SendMessageAsync(c, "<a@example.org>", "<alice@example.test>", ct);
        await AssertOneReceivedFieldAsync(host, "alice@example.test");
    }

    [Theory]
    [InlineData("RCPT TO:<alice@example.test> NOTIFY=SUCCESS\rX-Injected: yes")]
    [InlineData("RCPT TO:<alice@example.test> ORCPT=rfc822;alice@example.test\rX-Injected:yes")]
    [InlineData("RCPT TO:<alice@example.test> ORCPT=rfc822;alice\0@example.test")]
    [InlineData("RCPT TO:<alice@example.test\r> NOTIFY=NEVER")]
    public async Task Recipient_or_parameter_holding_a_cr_or_nul_is_refused(string command)
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await ConnectAsync(host, ct);
        await c.WriteAsync("EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\n", ct);
        await c.ReadReplyAsync(ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync($"{command}\r\nDATA\r\n", ct);
        string line;
        do
        {
            line = await c.ReadSingleLineReplyAsync(ct);
            Assert.False(line.StartsWith('2') || line.StartsWith('3'), line);
        }
        while (line != "503 5.5.1 Error: need RCPT command");
        Assert.Empty(await host.InboxAsync("alice@example.test"));
    }

    [Theory]
    [InlineData("\"a(b)c\"@example.test", "\"a?b?c\"@example.test")]
    [InlineData("\"x>\\\"y\"@example.test", "\"x>\\\"y\"@example.test")]
    [InlineData("li\u2028ne@example.test", "li?ne@example.test")] // LINE SEPARATOR, a line break to Unicode-aware readers
    [InlineData("n\u0085el@example.test", "n?el@example.test")]   // NEL
    public async Task Recipient_with_header_syntax_is_written_in_the_for_clause_of_one_received_field(string address, string written)
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync(o => o.Users.Add((address, "x")));
        await using var c = await ConnectAsync(host, ct);
        await c.WriteAsync("EHLO client.example.org\r\n", ct);
        await c.ReadReplyAsync(ct);
        await SendMessageAsync(c, "<a@example.org> SMTPUTF8", $"<{address}>", ct);
        var received = await AssertOneReceivedFieldAsync(host, address);
        Assert.Contains($"\r\n\tfor <{written}>;\r\n", received, StringComparison.Ordinal);
    }
}
