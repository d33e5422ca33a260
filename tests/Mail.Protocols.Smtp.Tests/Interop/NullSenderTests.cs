using System.Text;

namespace Mail.Protocols.Smtp.Tests.Interop;

/// <summary>
/// The null reverse path (RFC 5321 §4.5.5) is for notifications: a user who logged in cannot use it to get past
/// the check that the sender address is theirs, while bounces from other servers still arrive on the MX port.
/// </summary>
public sealed class NullSenderTests
{
    private static async Task<RawSmtpConnection> LoggedInAsync(InteropHost host, CancellationToken ct)
    {
        var c = await RawSmtpConnection.ConnectAsync(host.Submission, ct);
        Assert.StartsWith("220 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("EHLO client.example.org\r\n", ct);
        Assert.StartsWith("250 ", (await c.ReadReplyAsync(ct))[^1], StringComparison.Ordinal);
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0alice@example.test\0alice"));
        await c.WriteAsync($"AUTH PLAIN {plain}\r\n", ct);
        Assert.Equal("235 2.7.0 Authentication successful", await c.ReadSingleLineReplyAsync(ct));
        return c;
    }

    [Fact]
    public async Task An_authenticated_user_cannot_send_with_the_null_sender_and_may_still_use_an_own_address()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync(o => o.AllowPlaintextAuth = true);
        await using var c = await LoggedInAsync(host, ct);

        await c.WriteAsync("MAIL FROM:<>\r\n", ct);
        Assert.Equal("553 5.7.1 Null sender not allowed for authenticated users", await c.ReadSingleLineReplyAsync(ct));
        // No transaction was opened: RCPT needs a MAIL first.
        await c.WriteAsync("RCPT TO:<bob@example.test>\r\n", ct);
        Assert.Equal("503 5.5.1 Error: need MAIL command", await c.ReadSingleLineReplyAsync(ct));

        await c.WriteAsync("MAIL FROM:<alice@example.test>\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("RCPT TO:<bob@example.test>\r\n", ct);
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("DATA\r\n", ct);
        Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("Subject: own\r\n\r\nhi\r\n.\r\n", ct);
        Assert.StartsWith("250 2.0.0 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        Assert.Single(await host.InboxAsync("bob@example.test"));
    }

    [Fact]
    public async Task A_bounce_from_another_server_with_the_null_sender_is_delivered_on_the_mx_port()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await RawSmtpConnection.ConnectAsync(host.Mx, ct);
        Assert.StartsWith("220 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("EHLO mx.elsewhere.test\r\n", ct);
        Assert.StartsWith("250 ", (await c.ReadReplyAsync(ct))[^1], StringComparison.Ordinal);
        await c.WriteAsync("MAIL FROM:<>\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("RCPT TO:<alice@example.test>\r\n", ct);
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("DATA\r\n", ct);
        Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("Subject: Undelivered Mail Returned to Sender\r\n\r\nbounce\r\n.\r\n", ct);
        Assert.StartsWith("250 2.0.0 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        var (_, body) = Wire.SplitReceived(Assert.Single(await host.InboxAsync("alice@example.test")));
        Assert.Equal("Subject: Undelivered Mail Returned to Sender\r\n\r\nbounce\r\n", Encoding.ASCII.GetString(body));
    }
}
