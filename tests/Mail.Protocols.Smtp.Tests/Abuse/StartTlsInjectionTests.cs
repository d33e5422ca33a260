using Mail.Protocols.Smtp.Tests.Interop;

namespace Mail.Protocols.Smtp.Tests.Abuse;

/// <summary>
/// STARTTLS command injection (CVE-2011-0411 and kin): commands pipelined in plaintext behind STARTTLS, in the same
/// packet, must not be answered or run after the handshake, and the session after TLS starts over (EHLO again).
/// </summary>
public sealed class StartTlsInjectionTests
{
    [Theory]
    [InlineData("STARTTLS\r\nRSET\r\n")]
    [InlineData("STARTTLS\r\nRSET\r\nMAIL FROM:<injected@example.org>\r\nRCPT TO:<alice@example.test>\r\n")]
    [InlineData("STARTTLS\nRSET\n")] // bare LF line ends
    [InlineData("STARTTLS\r\nRSET")]  // an unfinished line after it
    public async Task Plaintext_pipelined_after_starttls_is_discarded_and_the_session_starts_over(string packet)
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await RawSmtpConnection.ConnectAsync(host.Mx, ct);
        Assert.StartsWith("220 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("EHLO client.example.org\r\nMAIL FROM:<before@example.org>\r\n", ct);
        await c.ReadReplyAsync(ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));

        await c.WriteAsync(packet, ct); // one write, one packet on loopback
        Assert.Equal("220 2.0.0 Ready to start TLS", await c.ReadSingleLineReplyAsync(ct));
        await c.StartTlsAsync(host.Host.Certificate, ct); // asserts nothing more came in plaintext

        // The first reply over TLS answers the first command sent over TLS: nothing answers RSET (a 250 would come first).
        await c.WriteAsync("RCPT TO:<alice@example.test>\r\n", ct);
        Assert.Equal("503 5.5.1 Error: send HELO/EHLO first", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("EHLO client.example.org\r\n", ct);
        var ehlo = await c.ReadReplyAsync(ct);
        Assert.DoesNotContain(ehlo, l => l.EndsWith("STARTTLS", StringComparison.Ordinal));
        // The transaction begun in plaintext (and any injected one) is gone.
        await c.WriteAsync("RCPT TO:<alice@example.test>\r\n", ct);
        Assert.Equal("503 5.5.1 Error: need MAIL command", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("NOOP\r\n", ct);
        Assert.Equal("250 2.0.0 OK", await c.ReadSingleLineReplyAsync(ct));
        Assert.False(c.HasBufferedInput);
        Assert.Equal(0, await host.Host.Queue.CountAsync());
    }
}
