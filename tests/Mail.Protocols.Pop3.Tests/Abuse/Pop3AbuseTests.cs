using System.Text;
using Mail.Protocols.InMemory;

namespace Mail.Protocols.Pop3.Tests.Abuse;

/// <summary>STLS command injection and oversized input against POP3 over a real socket, with the default limits.</summary>
public sealed class StlsInjectionTests
{
    [Theory]
    [InlineData("STLS\r\nCAPA\r\n")]
    [InlineData("STLS\nCAPA\n")]
    [InlineData("STLS\r\nUSER alice@example.test\r\nPASS alice\r\nSTAT\r\n")]
    [InlineData("STLS\r\nCAPA")] // an unfinished line after it
    public async Task Plaintext_pipelined_after_stls_is_discarded_and_the_session_starts_over(string packet)
    {
        await using var host = await Pop3AbuseHost.StartAsync(plaintextAuth: true);
        await using var c = await RawLineClient.ConnectAsync(host.EndPoints["pop3"]);
        Assert.StartsWith("+OK", await c.ReadLineAsync());
        Assert.Equal("+OK", await c.CommandAsync("USER alice@example.test")); // begun in plaintext, forgotten after TLS

        await c.SendAsync(packet); // one write, one packet on loopback
        Assert.Equal("+OK Begin TLS negotiation", await c.ReadLineAsync());
        await c.StartTlsAsync(host.Certificate);

        // The first reply over TLS answers the first command sent over TLS: no CAPA listing comes first.
        Assert.Equal("-ERR USER first", await c.CommandAsync("PASS alice"));
        Assert.Equal("-ERR Not logged in", await c.CommandAsync("STAT"));
        Assert.Equal("+OK Capability list follows", await c.CommandAsync("CAPA"));
        string line;
        var capabilities = new List<string>();
        while ((line = await c.ReadLineAsync()) != ".")
        {
            capabilities.Add(line);
        }
        Assert.DoesNotContain("STLS", capabilities);
        Assert.Equal("+OK", await c.CommandAsync("USER alice@example.test"));
        Assert.StartsWith("+OK ", await c.CommandAsync("PASS alice"));
    }
}

/// <summary>Oversized POP3 input: refused with -ERR, the session usable, and the server never holding the input.</summary>
[Collection(AllocationCollection.Name)]
public sealed class Pop3OversizedInputTests
{
    private const int Huge = 16 * 1024 * 1024;
    private const long Bound = 4 * 1024 * 1024;
    private static readonly byte[] s_block = Enumerable.Repeat((byte)'A', 1024 * 1024).ToArray();

    private static async Task SendHugeAsync(RawLineClient c)
    {
        for (var sent = 0; sent < Huge; sent += s_block.Length)
        {
            await c.SendAsync(s_block);
        }
    }

    [Theory]
    [InlineData(253, "+OK")]                // RFC 2449 §4: 255 octets with CRLF is the longest command
    [InlineData(254, "-ERR Line too long")]
    [InlineData(10_000, "-ERR Line too long")]
    public async Task Command_over_255_octets_with_crlf_gets_err(int length, string reply)
    {
        await using var host = await Pop3AbuseHost.StartAsync(plaintextAuth: true);
        await using var c = await RawLineClient.ConnectAsync(host.EndPoints["pop3"]);
        await c.ReadLineAsync();
        var user = "USER " + new string('u', length - 5);
        Assert.Equal(length, user.Length);
        Assert.Equal(reply, await c.CommandAsync(user));
        Assert.Equal("-ERR Not logged in", await c.CommandAsync("STAT")); // still in step
        Assert.Equal("+OK", await c.CommandAsync("USER alice@example.test"));
        Assert.StartsWith("+OK ", await c.CommandAsync("PASS alice"));
    }

    [Fact]
    public async Task Command_of_16_mib_without_a_line_end_is_dropped_as_it_arrives()
    {
        await using var host = await Pop3AbuseHost.StartAsync(plaintextAuth: true);
        await using var c = await RawLineClient.ConnectAsync(host.EndPoints["pop3"]);
        await c.ReadLineAsync();
        var allocated = await AllocationProbe.MeasureAsync(async () =>
        {
            await SendHugeAsync(c);
            await c.SendAsync("\r\nUSER alice@example.test\r\n");
            Assert.Equal("-ERR Line too long", await c.ReadLineAsync());
            Assert.Equal("+OK", await c.ReadLineAsync());
        });
        Assert.InRange(allocated, 0, Bound);
        Assert.StartsWith("+OK ", await c.CommandAsync("PASS alice"));
    }

    [Fact]
    public async Task Sasl_answer_over_its_limit_gets_err_without_the_server_holding_it()
    {
        await using var host = await Pop3AbuseHost.StartAsync(plaintextAuth: true);
        await using var c = await RawLineClient.ConnectAsync(host.EndPoints["pop3"]);
        await c.ReadLineAsync();
        Assert.Equal("+ ", await c.CommandAsync("AUTH PLAIN"));
        Assert.Equal("-ERR Line too long", await c.CommandAsync(new string('A', 12_292)));
        Assert.Equal("+ ", await c.CommandAsync("AUTH PLAIN"));
        var allocated = await AllocationProbe.MeasureAsync(async () =>
        {
            await SendHugeAsync(c);
            await c.SendAsync("\r\n");
            Assert.Equal("-ERR Line too long", await c.ReadLineAsync());
        });
        Assert.InRange(allocated, 0, Bound);
        Assert.StartsWith("+OK", await c.CommandAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice@example.test\0alice"u8)));
    }
}

internal static class Pop3AbuseHost
{
    public static async Task<MailHost> StartAsync(bool plaintextAuth = false)
    {
        var options = new MailHostOptions
        {
            SmtpPort = null, SubmissionPort = null, SmtpsPort = null, Pop3Port = 0, Pop3sPort = null, ImapPort = null, ImapsPort = null,
            ServerName = "pop.example.test", AllowPlaintextAuth = plaintextAuth,
        };
        options.Domains.Add("example.test");
        options.Users.Add(("alice@example.test", "alice"));
        var host = new MailHost(options);
        try
        {
            await host.StartAsync();
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return host;
    }
}
