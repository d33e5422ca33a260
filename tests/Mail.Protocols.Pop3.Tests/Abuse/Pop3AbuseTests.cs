using System.Text;
using Mail.Protocols.Hosting;

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

/// <summary>POP3S negotiates what SMTP does (they share MailTlsOptions): TLS 1.2 or 1.3, never 1.0 or 1.1.</summary>
public sealed class Pop3TlsVersionTests
{
#pragma warning disable SYSLIB0039 // TLS 1.0 and 1.1 are obsolete: that is the point of the test
    [Theory]
    [InlineData(System.Security.Authentication.SslProtocols.Tls, false)]
    [InlineData(System.Security.Authentication.SslProtocols.Tls11, false)]
    [InlineData(System.Security.Authentication.SslProtocols.Tls12, true)]
    [InlineData(System.Security.Authentication.SslProtocols.Tls13, true)]
    public async Task Pop3s_handshake_succeeds_only_with_tls_1_2_or_1_3(System.Security.Authentication.SslProtocols offered, bool succeeds)
#pragma warning restore SYSLIB0039
    {
        var options = new MailHostOptions
        {
            SmtpPort = null, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = 0, ImapPort = null, ImapsPort = null,
            ServerName = "pop.example.test",
        };
        await using var host = new MailHost(options);
        await host.StartAsync();
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(host.EndPoints["pop3s"]);
        await using var ssl = new System.Net.Security.SslStream(tcp.GetStream());
        var handshake = ssl.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = offered,
            RemoteCertificateValidationCallback = PinnedCertificate.Callback(host.Certificate),
        });
        if (!succeeds)
        {
            await Assert.ThrowsAnyAsync<Exception>(() => handshake);
            return;
        }
        await handshake;
        Assert.Equal(offered, ssl.SslProtocol);
        var greeting = new byte[128];
        var n = await ssl.ReadAsync(greeting);
        Assert.StartsWith("+OK", Encoding.ASCII.GetString(greeting, 0, n));
    }
}
