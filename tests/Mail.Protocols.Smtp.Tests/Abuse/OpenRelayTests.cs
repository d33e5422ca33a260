using System.Text;
using Mail.Protocols.Smtp.Tests.Interop;

namespace Mail.Protocols.Smtp.Tests.Abuse;

/// <summary>
/// Open-relay probes on port 25 from an unauthenticated client, as relay testers send them: every address that would
/// route mail off this host is refused at RCPT, nothing reaches the queue, and the message data is never read. Local
/// domains match in any letter case; a trailing dot is not domain syntax and is refused like any bad address.
/// </summary>
public sealed class OpenRelayTests
{
    private const string RelayDenied = "554 5.7.1 Relay access denied";
    private const string UserUnknown = "550 5.1.1 Recipient address rejected: user unknown";
    private const string BadSyntax = "501 5.1.3 Bad recipient address syntax";

    /// <summary>Relay probes with the reply each gets (example.test is the only local domain).</summary>
    public static TheoryData<string, string> Probes => new()
    {
        { "<victim@remote.example>", RelayDenied },
        { "<victim@REMOTE.example>", RelayDenied },
        // Percent hack (the local part names a remote address): an unknown local user, never relayed.
        { "<victim%remote.example@example.test>", UserUnknown },
        { "<victim%remote.example@EXAMPLE.TEST>", UserUnknown },
        { "<alice%example.test@remote.example>", RelayDenied },
        // Source routes are ignored (RFC 5321 appendix C): the final mailbox decides.
        { "<@example.test:victim@remote.example>", RelayDenied },
        { "<@example.test,@mx.example.test:victim@remote.example>", RelayDenied },
        // Quoted local parts holding a remote address (or a route) are one local part of a local domain.
        { "<\"victim@remote.example\"@example.test>", UserUnknown },
        { "<\"victim%remote.example\"@example.test>", UserUnknown },
        { "<\"@remote.example:victim\"@example.test>", UserUnknown },
        { "<\"victim@remote.example\"@remote.example>", RelayDenied },
        // IDN: the A-label form is an ordinary remote domain; the U-label form needs SMTPUTF8 (see the next test).
        { "<victim@xn--bcher-kva.example>", RelayDenied },
        { "<victim@b\u00fccher.example>", "553 5.6.7 Non-ASCII address requires SMTPUTF8" },
        // Address literals, our own loopback address included: not a local domain.
        { "<victim@[192.0.2.1]>", RelayDenied },
        { "<victim@[127.0.0.1]>", RelayDenied },
        { "<victim@[IPv6:::1]>", RelayDenied },
        // A trailing dot is not a Domain (RFC 5321 §4.1.2): a syntax error, for a remote domain and a local one alike.
        { "<victim@remote.example.>", BadSyntax },
        { "<alice@example.test.>", BadSyntax },
        { "<alice@EXAMPLE.TEST.>", BadSyntax },
    };

    private static async Task<RawSmtpConnection> GreetedAsync(InteropHost host, CancellationToken ct, bool submission = false)
    {
        var c = await RawSmtpConnection.ConnectAsync(submission ? host.Submission : host.Mx, ct);
        Assert.StartsWith("220 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("EHLO relay-tester.example.org\r\n", ct);
        Assert.StartsWith("250 ", (await c.ReadReplyAsync(ct))[^1], StringComparison.Ordinal);
        return c;
    }

    // DATA after the refused recipients: refused too, so the message is never read.
    private static async Task AssertNothingAcceptedAsync(InteropHost host, RawSmtpConnection c, CancellationToken ct)
    {
        await c.WriteAsync("DATA\r\n", ct);
        Assert.Equal("503 5.5.1 Error: need RCPT command", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal(0, await host.Host.Queue.CountAsync(ct));
        Assert.Empty(await host.InboxAsync("alice@example.test", ct));
        Assert.Empty(await host.InboxAsync("bob@example.test", ct));
    }

    [Theory]
    [MemberData(nameof(Probes))]
    public async Task Relay_probe_on_port_25_without_auth_is_refused(string forwardPath, string reply)
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await GreetedAsync(host, ct);
        await c.WriteAsync("MAIL FROM:<spammer@example.org>\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync($"RCPT TO:{forwardPath}\r\n", ct);
        Assert.Equal(reply, await c.ReadSingleLineReplyAsync(ct));
        await AssertNothingAcceptedAsync(host, c, ct);
    }

    [Theory]
    [InlineData("<victim@b\u00fccher.example>")]
    [InlineData("<victim@\u4f8b\u3048.\u30c6\u30b9\u30c8>")]
    [InlineData("<\u7528\u6237@b\u00fccher.example>")]
    [InlineData("<victim@\uff45xample.test>")] // a full-width look-alike of the local domain is another domain
    public async Task Relay_probe_to_a_u_label_domain_with_smtputf8_is_refused(string forwardPath)
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await GreetedAsync(host, ct);
        await c.WriteAsync("MAIL FROM:<spammer@example.org> SMTPUTF8\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync($"RCPT TO:{forwardPath}\r\n", ct);
        Assert.Equal(RelayDenied, await c.ReadSingleLineReplyAsync(ct));
        await AssertNothingAcceptedAsync(host, c, ct);
    }

    [Fact]
    public async Task Relay_probe_after_a_failed_auth_is_refused()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync(o => o.AllowPlaintextAuth = true);
        await using var c = await GreetedAsync(host, ct);
        await c.WriteAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice@example.test\0wrong"u8) + "\r\n", ct);
        Assert.Equal("535 5.7.8 Authentication credentials invalid", await c.ReadSingleLineReplyAsync(ct));
        // A cancelled exchange leaves the client unauthenticated too.
        await c.WriteAsync("AUTH LOGIN\r\n", ct);
        Assert.StartsWith("334 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("*\r\n", ct);
        Assert.Equal("501 5.0.0 Authentication cancelled", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("MAIL FROM:<alice@example.test>\r\nRCPT TO:<victim@remote.example>\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal(RelayDenied, await c.ReadSingleLineReplyAsync(ct));
        await AssertNothingAcceptedAsync(host, c, ct);
    }

    [Fact]
    public async Task Relay_through_submission_without_auth_requires_auth()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync(o => o.AllowPlaintextAuth = true);
        await using var c = await GreetedAsync(host, ct, submission: true);
        await c.WriteAsync("MAIL FROM:<alice@example.test>\r\nRCPT TO:<victim@remote.example>\r\nRCPT TO:<alice@example.test>\r\n", ct);
        Assert.Equal("530 5.7.0 Authentication required", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("503 5.5.1 Error: need MAIL command", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("503 5.5.1 Error: need MAIL command", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("DATA\r\n", ct);
        Assert.Equal("503 5.5.1 Error: need MAIL command", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal(0, await host.Host.Queue.CountAsync());
    }

    [Fact]
    public async Task Relay_through_submission_without_tls_or_auth_requires_starttls_first()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await GreetedAsync(host, ct, submission: true);
        await c.WriteAsync("MAIL FROM:<alice@example.test>\r\n", ct);
        Assert.Equal("530 5.7.0 Must issue a STARTTLS command first", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal(0, await host.Host.Queue.CountAsync());
    }

    [Theory]
    [InlineData("alice@example.test")]
    [InlineData("alice@EXAMPLE.TEST")]
    [InlineData("ALICE@Example.Test")]
    [InlineData("postmaster@EXAMPLE.test")]
    public async Task Local_domain_in_any_letter_case_is_local(string address)
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await GreetedAsync(host, ct);
        await c.WriteAsync($"MAIL FROM:<someone@example.org>\r\nRCPT TO:<{address}>\r\nRCPT TO:<nobody@{address.Split('@')[1]}>\r\nDATA\r\n", ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal("250 2.1.5 Recipient ok", await c.ReadSingleLineReplyAsync(ct));
        Assert.Equal(UserUnknown, await c.ReadSingleLineReplyAsync(ct)); // unknown, not relay: the domain is local
        Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("Subject: case\r\n\r\nhi\r\n.\r\n", ct);
        Assert.StartsWith("250 2.0.0 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        Assert.Equal(0, await host.Host.Queue.CountAsync());
        var stored = Assert.Single(await host.InboxAsync("alice@example.test")); // the postmaster is alice
        Assert.EndsWith("Subject: case\r\n\r\nhi\r\n", Encoding.ASCII.GetString(stored), StringComparison.Ordinal);
    }
}
