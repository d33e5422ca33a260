using System.Net;
using Mail.Protocols.Hosting;

namespace Mail.Protocols.Imap.Tests.Abuse;

/// <summary>STARTTLS command injection against IMAP over a real socket.</summary>
public sealed class StartTlsInjectionTests
{
    [Theory]
    [InlineData("a STARTTLS\r\nb CAPABILITY\r\n")]
    [InlineData("a STARTTLS\nb CAPABILITY\n")]
    [InlineData("a STARTTLS\r\nb LOGIN alice@example.test alice\r\nc SELECT INBOX\r\n")]
    [InlineData("a STARTTLS\r\nb CAPABILITY")] // an unfinished line after it
    public async Task Plaintext_pipelined_after_starttls_is_discarded_and_the_session_starts_over(string packet)
    {
        await using var host = await ImapAbuseHost.StartAsync();
        await using var c = await RawLineClient.ConnectAsync(host.EndPoints["imap"]);
        Assert.StartsWith("* OK ", await c.ReadLineAsync());

        await c.SendAsync(packet); // one write, one packet on loopback
        Assert.Equal("a OK Begin TLS negotiation now", await c.ReadLineAsync());
        await c.StartTlsAsync(host.Certificate);

        // The first line over TLS answers the first command sent over TLS: no "* CAPABILITY" or "b ..." comes first.
        Assert.Equal("t1 BAD Command not valid before login", await c.CommandAsync("t1 SELECT INBOX"));
        var capability = await c.CommandAsync("t2 CAPABILITY");
        Assert.StartsWith("* CAPABILITY ", capability);
        Assert.DoesNotContain("STARTTLS", capability);
        Assert.Equal("t2 OK CAPABILITY completed", await c.ReadLineAsync());
        Assert.StartsWith("t3 OK ", await c.CommandAsync("t3 LOGIN alice@example.test alice"));
    }
}

/// <summary>
/// Oversized input against IMAP over a real socket with the default limits: literal announcements too large for a
/// command or for APPENDLIMIT (50 MiB), numbers past number64, negative ones, huge lines and SASL answers. Each is
/// answered at once with BAD or NO [TOOBIG] (the literal is never asked for, so an answer that needed it would never
/// come), the session goes on (or, for a non-synchronising literal that is already on its way, closes after the
/// answer, RFC 7888 §4), and the server never holds the input.
/// </summary>
[Collection(AllocationCollection.Name)]
public sealed class ImapOversizedInputTests
{
    private const int Huge = 16 * 1024 * 1024;
    private const long Bound = 4 * 1024 * 1024;
    private static readonly byte[] s_block = Enumerable.Repeat((byte)'A', 1024 * 1024).ToArray();

    private static async Task<RawLineClient> GreetedAsync(MailHost host, bool login = false)
    {
        var c = await RawLineClient.ConnectAsync(host.EndPoints["imap"]);
        Assert.StartsWith("* OK ", await c.ReadLineAsync());
        if (login)
        {
            Assert.StartsWith("l OK ", await c.CommandAsync("l LOGIN alice@example.test alice"));
        }
        return c;
    }

    private static async Task SendHugeAsync(RawLineClient c)
    {
        for (var sent = 0; sent < Huge; sent += s_block.Length)
        {
            await c.SendAsync(s_block);
        }
    }

    [Theory]
    [InlineData("{4294967295}", "BAD [TOOBIG] Literal too large")]
    [InlineData("{9223372036854775807}", "BAD [TOOBIG] Literal too large")]
    [InlineData("{262145}", "BAD [TOOBIG] Literal too large")] // one octet past the 256 KiB command budget
    [InlineData("~{4294967295}", "BAD")]
    [InlineData("{99999999999999999999}", "BAD")]
    [InlineData("{18446744073709551616}", "BAD")]
    [InlineData("{-1}", "BAD")]
    [InlineData("{+}", "BAD")]
    [InlineData("{ 5}", "BAD")]
    public async Task Literal_announcement_in_a_command_is_refused_at_once_and_the_session_goes_on(string literal, string reply)
    {
        await using var host = await ImapAbuseHost.StartAsync();
        await using var c = await GreetedAsync(host);
        Assert.StartsWith($"a1 {reply}", await c.CommandAsync($"a1 LOGIN {literal}"));
        Assert.StartsWith("a2 OK ", await c.CommandAsync("a2 NOOP"));
        Assert.StartsWith("a3 OK ", await c.CommandAsync("a3 LOGIN alice@example.test alice"));
    }

    [Theory]
    [InlineData("{4294967295}")]
    [InlineData("{52428801}")] // one octet past the 50 MiB APPENDLIMIT
    [InlineData("(\\Seen) \"01-Jan-2026 00:00:00 +0000\" {9223372036854775807}")]
    [InlineData("~{4294967295}")]
    public async Task Append_message_announced_over_the_append_limit_is_refused_with_no_toobig_before_it_is_sent(string arguments)
    {
        await using var host = await ImapAbuseHost.StartAsync();
        await using var c = await GreetedAsync(host, login: true);
        Assert.Equal("b1 NO [TOOBIG] Message larger than APPENDLIMIT", await c.CommandAsync($"b1 APPEND INBOX {arguments}"));
        Assert.StartsWith("b2 OK ", await c.CommandAsync("b2 NOOP"));
        Assert.Empty(await host.Store.ListMessagesAsync("alice@example.test", "INBOX"));
    }

    [Theory]
    [InlineData("{99999999999999999999}")]
    [InlineData("{-1}")]
    [InlineData("{-4294967295}")]
    public async Task Append_message_announced_with_a_number_that_is_no_number64_is_bad(string literal)
    {
        await using var host = await ImapAbuseHost.StartAsync();
        await using var c = await GreetedAsync(host, login: true);
        Assert.StartsWith("b1 BAD ", await c.CommandAsync($"b1 APPEND INBOX {literal}"));
        Assert.StartsWith("b2 OK ", await c.CommandAsync("b2 NOOP"));
        Assert.Empty(await host.Store.ListMessagesAsync("alice@example.test", "INBOX"));
    }

    [Theory]
    [InlineData("b1 LOGIN {4294967295+}", "b1 BAD [TOOBIG] Literal too large")]
    [InlineData("b1 APPEND INBOX {4294967295+}", "b1 BAD [TOOBIG] Literal too large")]
    public async Task Non_synchronising_literal_over_a_limit_is_refused_and_the_connection_closed(string command, string reply)
    {
        await using var host = await ImapAbuseHost.StartAsync();
        await using var c = await GreetedAsync(host, login: command.Contains("APPEND", StringComparison.Ordinal));
        await c.SendAsync(command + "\r\n" + "some of the literal's octets");
        Assert.Equal(reply, await c.ReadLineAsync());
        // Only closing puts the stream back in step: whatever else the server says, it then closes.
        var rest = await c.ReadToEndAsync();
        Assert.DoesNotContain(" OK ", rest, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Command_line_of_16_mib_without_a_line_end_is_dropped_as_it_arrives()
    {
        await using var host = await ImapAbuseHost.StartAsync();
        await using var c = await GreetedAsync(host);
        var allocated = await AllocationProbe.MeasureAsync(async () =>
        {
            await SendHugeAsync(c);
            await c.SendAsync("\r\na2 NOOP\r\n");
            Assert.Equal("* BAD [TOOBIG] Command line too long", await c.ReadLineAsync());
            Assert.StartsWith("a2 OK ", await c.ReadLineAsync());
        });
        Assert.InRange(allocated, 0, Bound);
    }

    [Fact]
    public async Task Sasl_answer_over_its_limit_is_bad_without_the_server_holding_it()
    {
        await using var host = await ImapAbuseHost.StartAsync();
        await using var c = await GreetedAsync(host);
        Assert.StartsWith("+", await c.CommandAsync("a1 AUTHENTICATE PLAIN"));
        Assert.StartsWith("a1 BAD ", await c.CommandAsync(new string('A', 12_292)));
        Assert.StartsWith("+", await c.CommandAsync("a2 AUTHENTICATE PLAIN"));
        var allocated = await AllocationProbe.MeasureAsync(async () =>
        {
            await SendHugeAsync(c);
            await c.SendAsync("\r\n");
            Assert.StartsWith("a2 BAD ", await c.ReadLineAsync());
        });
        Assert.InRange(allocated, 0, Bound);
        Assert.StartsWith("a3 OK ", await c.CommandAsync("a3 AUTHENTICATE PLAIN " + Convert.ToBase64String("\0alice@example.test\0alice"u8)));
    }
}

internal static class ImapAbuseHost
{
    public static async Task<MailHost> StartAsync()
    {
        var options = new MailHostOptions
        {
            SmtpPort = null, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = 0, ImapsPort = null,
            ServerName = "imap.example.test", AllowPlaintextAuth = true, BindAddress = IPAddress.Loopback,
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

/// <summary>IMAPS negotiates what SMTP does (they share MailTlsOptions): TLS 1.2 or 1.3, never 1.0 or 1.1.</summary>
public sealed class ImapTlsVersionTests
{
#pragma warning disable SYSLIB0039 // TLS 1.0 and 1.1 are obsolete: that is the point of the test
    [Theory]
    [InlineData(System.Security.Authentication.SslProtocols.Tls, false)]
    [InlineData(System.Security.Authentication.SslProtocols.Tls11, false)]
    [InlineData(System.Security.Authentication.SslProtocols.Tls12, true)]
    [InlineData(System.Security.Authentication.SslProtocols.Tls13, true)]
    public async Task Imaps_handshake_succeeds_only_with_tls_1_2_or_1_3(System.Security.Authentication.SslProtocols offered, bool succeeds)
#pragma warning restore SYSLIB0039
    {
        var options = new MailHostOptions
        {
            SmtpPort = null, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = 0,
            ServerName = "imap.example.test",
        };
        await using var host = new MailHost(options);
        await host.StartAsync();
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(host.EndPoints["imaps"]);
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
        var greeting = new byte[512];
        var n = await ssl.ReadAsync(greeting);
        Assert.StartsWith("* OK", System.Text.Encoding.ASCII.GetString(greeting, 0, n));
    }
}
